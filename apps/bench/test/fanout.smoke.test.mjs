// Smoke test of the fan-out benchmark (src/fanout.mjs --quick, shortened further): every target
// of the quick set delivers every message to every subscriber and yields numbers, plain and
// with permessage-deflate, and across two processes through Redis. It asserts nothing about
// performance (timings are for `node apps/bench/src/fanout.mjs`).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const CLI = fileURLToPath(new URL("../src/fanout.mjs", import.meta.url));
const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

/**
 * Runs the CLI with `args` and resolves with its JSON results.
 * @param {string[]} args
 * @returns {Promise<{ target: string, complete: boolean, deliveries: number, compressed: number, deliveredPerSecond: number, p50: number, p99: number, firstP50: number }[]>}
 */
function fanout(args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, "--json", ...args], { cwd: REPO_ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`fanout.mjs exited ${code}:\n${stderr}`));
      else resolvePromise(JSON.parse(stdout).results);
    });
  });
}

describe("fan-out benchmark (quick)", () => {
  for (const deflate of [false, true]) {
    it(`delivers every message to every subscriber on each target${deflate ? " with permessage-deflate" : ""}`, async () => {
      const results = await fanout([
        "--quick",
        "--subscribers",
        "50",
        "--messages",
        "10",
        ...(deflate ? ["--deflate"] : []),
      ]);
      expect(results.map((r) => r.target)).toEqual(["ws-loop", "node-loop", "node-publish", "node-redis"]);
      for (const r of results) {
        expect(r.complete, r.target).toBe(true);
        expect(r.deliveries, r.target).toBe(50 * 10);
        expect(r.deliveredPerSecond, r.target).toBeGreaterThan(0);
        expect(r.p99, r.target).toBeGreaterThanOrEqual(r.p50);
        expect(r.firstP50, r.target).toBeLessThanOrEqual(r.p99);
        // The 2 KiB messages go out compressed with --deflate, never without.
        if (deflate) expect(r.compressed, r.target).toBeGreaterThanOrEqual(r.deliveries);
        else expect(r.compressed, r.target).toBe(0);
      }
    }, 120_000);
  }
});
