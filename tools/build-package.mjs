#!/usr/bin/env node
// Builds the package in the current directory (its `build` script): the JavaScript without
// comments, the declaration files with them, then the declarations' `.ts` specifiers rewritten
// (tools/dts-specifiers.mjs).
//
// Why the JavaScript goes without comments: V8 keeps every module's source text in its heap for
// as long as the module is loaded (it compiles functions lazily from it), and our sources carry
// long doc comments: with them, a Node server holds over half a megabyte more of old generation
// than without. In our benchmark on Node 20, the server with the larger old generation fell into
// a loop of one full garbage collection per young one once it echoed large messages after small
// ones (the young `ArrayBuffer`s count as external memory against the old generation's limit
// until they are swept), and the one without did not; that this margin is the whole mechanism is
// observed, not proven (Node 24 loops either way). The docs belong in the `.d.ts` files, where
// editors read them.
//
//   node ../../tools/build-package.mjs      (from a package directory)
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";

const tsc = createRequire(join(process.cwd(), "package.json")).resolve("typescript/bin/tsc");
const run = (args) =>
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json", ...args], { stdio: "inherit" });
run(["--removeComments"]);
run(["--emitDeclarationOnly"]);
execFileSync(process.execPath, [join(import.meta.dirname, "dts-specifiers.mjs"), "dist"], {
  stdio: "inherit",
});
