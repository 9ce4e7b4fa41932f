#!/usr/bin/env node
// Rewrites the relative `.ts` import specifiers of the declaration files a package's build wrote
// (`./client.ts` → `./client.js`), as `rewriteRelativeImportExtensions` already does for the
// JavaScript: TypeScript copies specifiers into `.d.ts` files as written, and the sources import
// `.ts` files (JSR and Deno run the sources). Resolvers that do not map `.ts` to `.d.ts`
// (TypeScript before 5.0, declaration bundlers) then find the declarations next to the `.js`.
//
//   node tools/dts-specifiers.mjs <dist dir>          rewrite
//   node tools/dts-specifiers.mjs --check <dir>...    list files that still have one; exit 1 if any
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// `from "./x.ts"`, `import("../x.ts")`, `import "./x.ts"`: a quoted relative path ending in .ts
// (not .d.ts) right after `from`, `import(` or `import`.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]*?)(?<!\.d)\.(m|c)?ts\2/g;

/** The `.d.ts` files under `dir`. */
function declarations(dir) {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => /\.d\.(m|c)?ts$/.test(file))
    .map((file) => join(dir, file));
}

/** `text` with its relative `.ts` specifiers ending in `.js` (`.mts` → `.mjs`, `.cts` → `.cjs`). */
function rewriteSpecifiers(text) {
  return text.replace(
    SPECIFIER,
    (_, lead, quote, path, kind = "") => `${lead}${quote}${path}.${kind}js${quote}`,
  );
}

const args = process.argv.slice(2);
const check = args.includes("--check");
const dirs = args.filter((arg) => arg !== "--check");
if (dirs.length === 0) {
  console.error("usage: node tools/dts-specifiers.mjs [--check] <dir>...");
  process.exit(2);
}
const left = [];
for (const dir of dirs) {
  for (const file of declarations(dir)) {
    const text = readFileSync(file, "utf8");
    const rewritten = rewriteSpecifiers(text);
    if (rewritten === text) continue;
    if (check) left.push(file);
    else writeFileSync(file, rewritten);
  }
}
if (left.length > 0) {
  console.error(`relative .ts specifiers left in:\n${left.join("\n")}`);
  process.exit(1);
}
