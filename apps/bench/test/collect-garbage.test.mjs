// The memory measurement's `/gc` control path (apps/echo/src/collect-garbage.mjs): a reference
// server that has it answers with its JavaScript heap after a full collection; a server
// without it (the generator's tcp-ceiling) gets the null answer after the wait, not an error.

import { spawn } from "node:child_process";
import net from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { collectGarbage } from "../src/loadgen.mjs";

const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((done, fail) => {
    const s = net.createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const address = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => done(address.port));
    });
  });
}

/** @type {import("node:child_process").ChildProcess[]} */
const started = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill("SIGKILL");
});

/** Starts a server of apps/bench/servers and resolves once it printed its ready line. @param {string} file */
async function startServer(file) {
  const port = await freePort();
  const child = spawn(process.execPath, [`apps/bench/servers/${file}`, "--port", String(port)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  started.push(child);
  await new Promise((ready, fail) => {
    child.once("exit", (code) => fail(new Error(`${file} exited with ${code}`)));
    child.stdout?.once("data", ready);
  });
  return port;
}

describe("the memory measurement's /gc control path", () => {
  it("gets the heap in use after a full collection from a server that has it", async () => {
    const port = await startServer("ws-echo.mjs");
    const answer = await collectGarbage({ port, timeoutMs: 5000 });
    expect(answer).toEqual({ heapUsed: expect.any(Number) });
    expect(answer?.heapUsed).toBeGreaterThan(0);
  });

  it("answers null, after the wait, for a server without it", async () => {
    const port = await startServer("tcp-echo.mjs");
    const begun = performance.now();
    expect(await collectGarbage({ port, timeoutMs: 300 })).toBeNull();
    expect(performance.now() - begun).toBeGreaterThanOrEqual(250);
  });
});
