#!/usr/bin/env node
// Keeps each package's JSR manifest (jsr.json, or deno.json with a "name") in step with its
// package.json. Changesets only bumps package.json, so the root `version` script runs this
// right after `changeset version`.
//
//   node tools/sync-jsr-version.mjs          copy package.json's version into jsr.json
//   node tools/sync-jsr-version.mjs --check  fail if a version differs, if the JSR exports do
//                                            not match package.json's "@ws/source" exports, or
//                                            if a JSR package depends on a workspace package
//                                            that is not a JSR package itself
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const problems = [];
let synced = 0;
/** JSR package name → its package.json's workspace dependencies (checked after the loop). */
const jsrPackages = new Map();

for (const group of ["packages", "apps"]) {
  const groupDir = join(root, group);
  if (!existsSync(groupDir)) continue;
  for (const entry of readdirSync(groupDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(groupDir, entry.name);
    const pkgPath = join(dir, "package.json");
    if (!existsSync(pkgPath)) continue;
    for (const manifestName of ["jsr.json", "deno.json"]) {
      const manifestPath = join(dir, manifestName);
      if (!existsSync(manifestPath)) continue;
      const text = readFileSync(manifestPath, "utf8");
      const manifest = JSON.parse(text);
      if (typeof manifest.name !== "string") continue; // a plain Deno config, not a JSR manifest
      const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
      const where = relative(root, manifestPath);
      synced++;
      const workspaceDeps = Object.entries(pkg.dependencies ?? {})
        .filter(([, range]) => typeof range === "string" && range.startsWith("workspace:"))
        .map(([name]) => name);
      jsrPackages.set(manifest.name, { where, workspaceDeps });

      if (manifest.version !== pkg.version) {
        if (check) {
          problems.push(`${where}: version ${manifest.version} != package.json ${pkg.version}`);
        } else {
          // Rewrite only the version value so the file keeps its formatting.
          const updated = text.replace(/("version"\s*:\s*)"[^"]*"/, `$1"${pkg.version}"`);
          writeFileSync(manifestPath, updated);
          console.log(`${where}: ${manifest.version} -> ${pkg.version}`);
        }
      }

      if (check && pkg.exports && typeof pkg.exports === "object") {
        const fromPkg = {};
        for (const [key, value] of Object.entries(pkg.exports)) {
          if (key === "./package.json") continue;
          const source = typeof value === "object" && value !== null ? value["@ws/source"] : undefined;
          if (typeof source === "string") fromPkg[key] = source;
        }
        const jsrExports =
          typeof manifest.exports === "string" ? { ".": manifest.exports } : manifest.exports;
        const a = JSON.stringify(Object.entries(fromPkg).sort());
        const b = JSON.stringify(Object.entries(jsrExports ?? {}).sort());
        if (a !== b) {
          problems.push(`${where}: exports ${b} differ from package.json's "@ws/source" exports ${a}`);
        }
      }
    }
  }
}

// `deno publish` rewrites an import of a workspace package to `jsr:` only when that package is
// a JSR package of the workspace too; otherwise to `npm:`, so the JSR release would pull it
// from npm. Every workspace dependency of a JSR package must be published to JSR as well.
if (check) {
  for (const [name, { where, workspaceDeps }] of jsrPackages) {
    for (const dep of workspaceDeps) {
      if (!jsrPackages.has(dep)) {
        problems.push(
          `${where}: ${name} depends on ${dep}, which has no JSR manifest (jsr.json or deno.json)`,
        );
      }
    }
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`sync-jsr-version: ${problem}`);
  console.error("Run `node tools/sync-jsr-version.mjs` (versions) or edit the JSR manifest (exports).");
  process.exit(1);
}
console.log(`sync-jsr-version: ${synced} JSR manifest(s) ${check ? "match" : "in sync with"} package.json`);
