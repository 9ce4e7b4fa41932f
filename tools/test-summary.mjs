#!/usr/bin/env node
// Reads the log of `pnpm test` (turbo output, each line prefixed `<package>:<task>: `) and
// prints one line per task and a closing `N passed, N failed` over all runtimes.
// It understands the closing lines of Vitest, `bun test` and `deno test`.
//
//   node tools/test-summary.mjs test.log
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node tools/test-summary.mjs <log file>");
  process.exit(2);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC.
const ansi = /\u001b\[[0-9;?]*[A-Za-z]/g;
const prefix = /^(\S+?):([\w:-]+?):(?: (.*))?$/;
const tasks = new Map();

function task(id) {
  let t = tasks.get(id);
  if (!t) {
    t = { passed: 0, failed: 0, skipped: 0, fileFailures: 0, errors: 0 };
    tasks.set(id, t);
  }
  return t;
}

function count(text, word) {
  const m = new RegExp(`(\\d+) ${word}`).exec(text);
  return m ? Number(m[1]) : 0;
}

// turbo's closing "Failed:    @ws/codec#test, @ws/codec#test:bun" names the tasks that exited non-zero.
const failedTasks = new Set();

for (const raw of readFileSync(file, "utf8").split(/\r?\n/)) {
  const line = raw.replace(ansi, "");
  const failedLine = /^\s*Failed:\s+(.*)$/.exec(line);
  if (failedLine) {
    for (const id of failedLine[1].split(",")) failedTasks.add(id.trim());
    continue;
  }
  const m = prefix.exec(line);
  if (!m) continue;
  const [, pkg, name, rest = ""] = m;
  const id = `${pkg}#${name}`;
  const body = rest.trim();

  // Vitest: "Tests  2 failed | 7 passed | 1 skipped (10)"; "Test Files  1 failed (1)".
  let v = /^Tests\s+(.*)\(\d+\)$/.exec(body);
  if (v) {
    const t = task(id);
    t.passed += count(v[1], "passed");
    t.failed += count(v[1], "failed");
    t.skipped += count(v[1], "skipped") + count(v[1], "todo");
    continue;
  }
  v = /^Test Files\s+(.*)\(\d+\)$/.exec(body);
  if (v) {
    const t = task(id);
    t.fileFailures += count(v[1], "failed");
    continue;
  }
  // deno test: "ok | 9 passed | 0 failed | 4 ignored (28ms)" or "FAILED | 0 passed | 1 failed (0ms)".
  v = /^(?:ok|FAILED) \| (.*)$/.exec(body);
  if (v) {
    const t = task(id);
    t.passed += count(v[1], "passed");
    t.failed += count(v[1], "failed");
    t.skipped += count(v[1], "ignored") + count(v[1], "filtered out");
    continue;
  }
  // bun test: " 9 pass", " 0 fail", " 1 skip", " 1 todo", " 1 error" on lines of their own
  // (a file that fails to load counts as a "fail" and also as an "error").
  v = /^(\d+) (pass|fail|skip|todo|errors?)$/.exec(body);
  if (v) {
    const t = task(id);
    const n = Number(v[1]);
    if (v[2] === "pass") t.passed += n;
    else if (v[2] === "fail") t.failed += n;
    else if (v[2].startsWith("error")) t.errors += n;
    else t.skipped += n;
  }
}

for (const id of failedTasks) task(id);

let passed = 0;
let failed = 0;
for (const [id, t] of [...tasks].sort(([a], [b]) => a.localeCompare(b))) {
  // Files that fail to load have no failed test of their own: count each as one failure, and a
  // task that failed without any result line (say, a module graph error in Deno) as one.
  let f = t.failed || t.errors || t.fileFailures;
  let note = "";
  if (f === 0 && failedTasks.has(id)) {
    f = 1;
    note = " (the task failed before reporting results)";
  }
  passed += t.passed;
  failed += f;
  console.log(`${id.padEnd(36)} ${t.passed} passed, ${f} failed, ${t.skipped} skipped${note}`);
}
console.log(`${passed} passed, ${failed} failed`);
