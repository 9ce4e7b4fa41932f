#!/usr/bin/env node
// Checks every code block of every README (README.md anywhere in the repository) and guide
// (docs/**/*.md), so that a snippet that drifts from the API fails `pnpm test`:
//
// - TypeScript and JavaScript blocks are type-checked as a user's program would be, against the
//   built packages (dist, as published): `tsc --strict` (Node 20 types and the DOM lib) for Node
//   and Bun code, `deno check` for Deno code (a block that imports `@ws/deno` or uses `Deno.`,
//   or is tagged `deno`);
// - blocks tagged `run` (```ts run) are then run: Node code with this Node, Deno code with
//   `deno run`, Bun code with `bun`, each with a time limit. The port 8080 in a run block is
//   replaced by a free loopback port, so that examples read naturally and tests stay on free ports;
// - `json` blocks must parse; `sh`, `bash`, `text`, `mermaid` … blocks are left alone; a block
//   without a language fails (say `text`).
//
// Directives in an HTML comment right above a block: `<!-- check-docs: skip (reason) -->`,
// `<!-- check-docs: prelude \`declare const socket: Socket;\` -->` (see markdown.mjs).
//
//   node tools/check-docs/src/cli.mjs [--list] [file.md ...]
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { codeBlocks } from "./markdown.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const toolDir = join(here, "..");
const root = join(toolDir, "..", "..");
const out = join(toolDir, ".generated");
const require = createRequire(join(toolDir, "package.json"));
const ts = require("typescript");
const deno = join(root, "node_modules", ".bin", "deno");
const bun = join(root, "node_modules", "bun", "bin", "bun.exe");

const IGNORED_LANGS = new Set(["sh", "bash", "shell", "console", "text", "txt", "mermaid", "diff", "http"]);
const CODE_LANGS = new Map([
  ["ts", "ts"],
  ["typescript", "ts"],
  ["js", "js"],
  ["javascript", "js"],
]);
const SKIPPED_DIRS = new Set([
  "node_modules",
  "dist",
  ".git",
  ".turbo",
  ".generated",
  "site",
  "results",
  "reports",
]);
const RUN_TIMEOUT_MS = 30_000;

/** README.md files anywhere and Markdown files under docs/. */
function markdownFiles(dir = root, inDocs = false) {
  /** @type {string[]} */
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (SKIPPED_DIRS.has(entry.name) || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      files.push(...markdownFiles(path, inDocs || relative(root, path) === "docs"));
    } else if (entry.name === "README.md" || (inDocs && entry.name.endsWith(".md"))) {
      files.push(join(dir, entry.name));
    }
  }
  return files.sort();
}

/** @param {string} code */
function runtimeOf(code, tags) {
  for (const runtime of ["deno", "bun", "node"]) if (tags.includes(runtime)) return runtime;
  if (/from\s+["']@ws\/deno["']|\bDeno\./.test(code)) return "deno";
  if (/from\s+["']@ws\/bun["']|\bBun\./.test(code)) return "bun";
  return "node";
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

const args = process.argv.slice(2);
const listOnly = args.includes("--list");
const only = args.filter((arg) => !arg.startsWith("--"));
const files = only.length > 0 ? only.map((file) => join(process.cwd(), file)) : markdownFiles();

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** @type {string[]} */
const failures = [];
/** @type {{ block: import("./markdown.mjs").CodeBlock, path: string, runtime: string, offset: number }[]} */
const checked = [];
let ignored = 0;
let skipped = 0;
for (const file of files) {
  const where = relative(root, file);
  for (const block of codeBlocks(where, readFileSync(file, "utf8"))) {
    const at = `${where}:${block.line}`;
    if (block.skip !== undefined) {
      if (block.skip === "")
        failures.push(`${at}: check-docs: skip needs a reason, e.g. <!-- check-docs: skip (why) -->`);
      skipped++;
      continue;
    }
    if (block.lang === "") {
      failures.push(`${at}: a code block needs a language (\`\`\`ts, \`\`\`sh, \`\`\`text …)`);
      continue;
    }
    if (IGNORED_LANGS.has(block.lang)) {
      ignored++;
      continue;
    }
    if (block.lang === "json") {
      try {
        JSON.parse(block.code);
      } catch (error) {
        failures.push(`${at}: invalid JSON: ${error instanceof Error ? error.message : error}`);
      }
      continue;
    }
    const kind = CODE_LANGS.get(block.lang);
    if (kind === undefined) {
      failures.push(
        `${at}: unknown code block language "${block.lang}" (checked: ts, js, json; ignored: ${[...IGNORED_LANGS].join(", ")})`,
      );
      continue;
    }
    const runtime = runtimeOf(block.code, block.tags);
    const name = `${where.replace(/[^A-Za-z0-9]+/g, "-")}-L${block.line}`;
    const path = join(out, `${name}.${kind === "ts" ? "ts" : "mjs"}`);
    const header = `// ${at}\n${block.prelude}`;
    // `export {}` makes every block a module (top-level await, no shared globals).
    writeFileSync(path, `${header}${block.code}\nexport {};\n`);
    checked.push({ block, path, runtime, offset: header.split("\n").length - 1 });
  }
}

if (listOnly) {
  for (const { block, runtime } of checked)
    console.log(
      `${block.file}:${block.line} ${block.lang} ${runtime}${block.tags.includes("run") ? " run" : ""}`,
    );
  process.exit(0);
}

/** Maps a generated file's line back to the Markdown line. */
function locate(path, line) {
  const entry = checked.find((candidate) => candidate.path === path);
  if (entry === undefined) return `${relative(root, path)}:${line}`;
  return `${entry.block.file}:${entry.block.line + line - entry.offset}`;
}

// 1. tsc --strict over the Node and Bun blocks, one program (each block is its own module).
const tscBlocks = checked.filter((entry) => entry.runtime !== "deno");
if (tscBlocks.length > 0) {
  writeFileSync(
    join(out, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          types: ["node"],
          allowJs: true,
          checkJs: true,
          noEmit: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
        },
        files: tscBlocks.map((entry) => relative(out, entry.path)),
      },
      null,
      2,
    ),
  );
  const tsc = spawnSync(
    process.execPath,
    [require.resolve("typescript/bin/tsc"), "-p", out, "--pretty", "false"],
    {
      encoding: "utf8",
      cwd: out,
    },
  );
  for (const line of `${tsc.stdout}${tsc.stderr}`.split("\n")) {
    const match = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (match !== null) failures.push(`${locate(join(out, match[1] ?? ""), Number(match[2]))}: ${match[4]}`);
    else if (line.trim() !== "" && !line.startsWith(" ")) failures.push(`tsc: ${line}`);
  }
  if (tsc.status !== 0 && failures.length === 0) failures.push(`tsc exited with ${tsc.status}`);
}

// 2. deno check over the Deno blocks.
const denoFlags = ["--no-lock", "--node-modules-dir=manual", "--no-remote", "--quiet"];
// Deno users get the packages from JSR, which publishes the TypeScript sources (deno.json):
// resolve the workspace packages to their sources as JSR would serve them.
const denoEnv = { ...process.env, NO_COLOR: "1", DENO_CONDITIONS: "@ws/source" };
const denoBlocks = checked.filter((entry) => entry.runtime === "deno");
if (denoBlocks.length > 0) {
  const check = spawnSync(deno, ["check", ...denoFlags, ...denoBlocks.map((entry) => entry.path)], {
    encoding: "utf8",
    cwd: out,
    env: denoEnv,
  });
  if (check.status !== 0) {
    const text = `${check.stdout}${check.stderr}`;
    const located = text.replace(/file:\/\/(\/[^\s:]+):(\d+):(\d+)/g, (_, path, line) =>
      locate(path, Number(line)),
    );
    failures.push(`deno check failed:\n${located.trim()}`);
  }
}

// 3. Run the blocks tagged `run`.
let ran = 0;
if (failures.length === 0) {
  for (const { block, path, runtime } of checked) {
    if (!block.tags.includes("run")) continue;
    const port = await freePort();
    const source = readFileSync(path, "utf8").replaceAll("8080", String(port));
    /** @type {string[]} */
    let command;
    if (runtime === "node") {
      const js = ts.transpileModule(source, {
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          rewriteRelativeImportExtensions: true,
        },
      }).outputText;
      const runPath = path.replace(/\.(ts|mjs)$/, ".run.mjs");
      writeFileSync(runPath, js);
      command = [process.execPath, runPath];
    } else {
      const runPath = path.replace(/\.(ts|mjs)$/, `.run.$1`);
      writeFileSync(runPath, source);
      command =
        runtime === "deno"
          ? [
              deno,
              "run",
              ...denoFlags,
              "--allow-net=127.0.0.1,localhost",
              "--allow-read",
              "--allow-env",
              runPath,
            ]
          : [bun, runPath];
    }
    const [bin = "", ...rest] = command;
    const result = spawnSync(bin, rest, {
      encoding: "utf8",
      cwd: out,
      timeout: RUN_TIMEOUT_MS,
      env: runtime === "deno" ? denoEnv : process.env,
    });
    ran++;
    if (result.status !== 0) {
      const why =
        result.error?.message ??
        (result.signal !== null ? `killed by ${result.signal}` : `exit ${result.status}`);
      failures.push(
        `${block.file}:${block.line}: running it (${runtime}) failed: ${why}\n${result.stdout}${result.stderr}`.trim(),
      );
    }
  }
}

const summary = `${checked.length} code blocks in ${files.length} Markdown files: ${tscBlocks.length} checked with tsc --strict, ${denoBlocks.length} with deno check, ${ran} run; ${ignored} shell/text blocks ignored, ${skipped} skipped with a reason`;
// The closing line tools/test-summary.mjs reads (deno test's format): one test per code block.
const failedBlocks = new Set(failures.map((failure) => failure.split(": ")[0]));
const result = `${Math.max(0, checked.length - failedBlocks.size)} passed | ${failedBlocks.size} failed`;
if (failures.length > 0) {
  console.error(failures.join("\n"));
  console.error(`\n${failures.length} problem(s). ${summary}`);
  console.log(`FAILED | ${result}`);
  process.exit(1);
}
console.log(summary);
console.log(`ok | ${result}`);
