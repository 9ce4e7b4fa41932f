#!/usr/bin/env node
// Checks the tarball a package would publish, exactly as npm users would get it:
//   1. `pnpm pack` (so `workspace:` ranges and publishConfig are applied as on release),
//   2. the file list: no tests, fixtures or benchmarks; package.json, README and dist present,
//   3. `publint run <tarball> --strict`,
//   4. `attw <tarball> --ignore-rules cjs-resolves-to-esm` (are-the-types-wrong, every
//      resolution mode: node10, node16 CJS and ESM, bundler). The packages are ESM-only; a
//      CommonJS `require()` loads them on Node >= 20.19 (`require(esm)`), so the one rule
//      ignored is the note that CommonJS resolves to ESM. tools/consumers builds real projects.
// Run from a package directory after its build (turbo's check:pkg depends on build).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

const FORBIDDEN = [
  /\.test\.[cm]?[jt]sx?$/,
  /\.test-d\.[cm]?ts$/,
  /\.test\.d\.[cm]?ts(\.map)?$/,
  /\.test\.[cm]?js\.map$/,
  /\.bench\.[cm]?[jt]s$/,
  /^package\/(test|tests|bench|fixtures|__tests__)\//,
  /^package\/(tsconfig[^/]*|vitest\.config\.[cm]?[jt]s|jsr\.json|deno\.json)$/,
];

/** Lists the paths in a .tgz (ustar, as npm and pnpm write it). */
function listTarball(file) {
  const tar = gunzipSync(readFileSync(file));
  const names = [];
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start, length) =>
      header
        .subarray(start, start + length)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const name = field(0, 100);
    const prefix = field(345, 155);
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1);
    if (type === "0" || type === "") names.push(prefix ? `${prefix}/${name}` : name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names.sort();
}

function run(command, args, { quiet = false } = {}) {
  console.log(`$ ${[command, ...args].join(" ")}`);
  if (!quiet) {
    execFileSync(command, args, { stdio: "inherit" });
    return;
  }
  try {
    execFileSync(command, args, { stdio: "pipe", encoding: "utf8" });
  } catch (error) {
    process.stdout.write(error.stdout ?? "");
    process.stderr.write(error.stderr ?? "");
    throw error;
  }
}

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const destination = mkdtempSync(join(tmpdir(), "check-pkg-"));
try {
  // Inside `pnpm run`, npm_execpath is pnpm's own entry point; fall back to pnpm on PATH.
  const execPath = process.env.npm_execpath;
  const [pnpm, pnpmArgs] = execPath && /pnpm/.test(execPath) ? [process.execPath, [execPath]] : ["pnpm", []];
  run(pnpm, [...pnpmArgs, "pack", "--pack-destination", destination], { quiet: true });
  const tarballName = `${pkg.name.replace(/^@/, "").replace("/", "-")}-${pkg.version}.tgz`;
  const tarball = join(destination, tarballName);

  const files = listTarball(tarball);
  console.log(`${tarballName}: ${files.length} files`);
  const problems = [];
  for (const file of files) {
    if (FORBIDDEN.some((re) => re.test(file))) problems.push(`must not be published: ${file}`);
  }
  for (const required of [
    "package/package.json",
    "package/README.md",
    "package/LICENSE",
    "package/CHANGELOG.md",
  ]) {
    if (!files.includes(required)) problems.push(`missing from the tarball: ${required}`);
  }
  if (!files.some((f) => f.startsWith("package/dist/"))) problems.push("missing from the tarball: dist/");
  if (pkg.exports && !("./package.json" in pkg.exports)) problems.push('exports lacks "./package.json"');
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-pkg: ${p}`);
    process.exitCode = 1;
  }

  run("publint", ["run", tarball, "--strict"]);
  run("attw", [tarball, "--ignore-rules", "cjs-resolves-to-esm", "--format", "table-flipped"]);
} catch (error) {
  console.error(`check-pkg: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(destination, { recursive: true, force: true });
}
