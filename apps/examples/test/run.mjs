#!/usr/bin/env node
// Runs every example (built into dist/ by `tsc` first) on a free loopback port, one at a time,
// and fails when one exits with an error, prints nothing, or takes longer than the time limit.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const TIMEOUT_MS = 30_000;

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

const examples = readdirSync(dist).filter((name) => name.endsWith(".js"));
let failed = 0;
for (const example of examples.sort()) {
  const port = await freePort();
  const result = spawnSync(process.execPath, [join(dist, example)], {
    encoding: "utf8",
    timeout: TIMEOUT_MS,
    env: { ...process.env, PORT: String(port) },
  });
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.status !== 0 || result.stdout.trim() === "") {
    failed++;
    const why = result.signal !== null ? `killed by ${result.signal} (time limit?)` : `exit ${result.status}`;
    console.error(`✗ ${example}: ${why}\n${output}\n`);
  } else {
    console.log(`✓ ${example}\n${output.replace(/^/gm, "    ")}`);
  }
}
if (examples.length === 0) {
  console.error("no examples found in dist/");
  process.exit(1);
}
// The closing line tools/test-summary.mjs reads (deno test's format): one test per example.
console.log(`${failed > 0 ? "FAILED" : "ok"} | ${examples.length - failed} passed | ${failed} failed`);
if (failed > 0) process.exit(1);
