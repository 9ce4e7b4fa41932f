// The victim's view while an attack runs: a fresh client (new TCP connection, handshake, one
// echoed message) every 250 ms, and the server's resident memory sampled every 50 ms.

import { maskedFrame, OP_TEXT } from "../../bench/src/frames.mjs";
import { connect as wsConnect } from "../../bench/src/loadgen.mjs";
import { treeRssKiB } from "../../bench/src/proc.mjs";

/**
 * One fresh client: connect, send "probe", wait for its echo. Resolves with the milliseconds
 * it took, or null when it failed or took longer than `timeoutMs`.
 * @param {number} port
 * @param {number} timeoutMs
 * @returns {Promise<number | null>}
 */
export async function freshEcho(port, timeoutMs = 5000) {
  const started = performance.now();
  let conn;
  try {
    conn = await wsConnect({ port, deflate: false, timeoutMs });
  } catch {
    return null;
  }
  const payload = Buffer.from("probe");
  return new Promise((resolve) => {
    let got = conn.rest?.length ?? 0;
    const done = (value) => {
      clearTimeout(timer);
      conn.socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), Math.max(1, timeoutMs - (performance.now() - started)));
    conn.socket.on("error", () => done(null));
    conn.socket.on("close", () => done(null));
    conn.socket.on("data", (chunk) => {
      got += chunk.length;
      if (got >= 2 + payload.length) done(performance.now() - started);
    });
    if (got >= 2 + payload.length) done(performance.now() - started);
    conn.socket.write(maskedFrame(OP_TEXT, payload));
  });
}

/**
 * Starts watching: fresh echoes every 250 ms and RSS every 50 ms, until `stop()`.
 * @param {number} port
 * @param {number} pid the server's process
 */
export function watchServer(port, pid) {
  /** @type {(number | null)[]} */
  const echoes = [];
  let peakKiB = 0;
  let running = true;
  const sample = () => {
    const rss = treeRssKiB(pid);
    if (rss !== null) peakKiB = Math.max(peakKiB, rss);
  };
  sample();
  const sampler = setInterval(sample, 50);
  const prober = (async () => {
    while (running) {
      const next = new Promise((resolve) => setTimeout(resolve, 250));
      echoes.push(await freshEcho(port));
      await next;
    }
  })();
  return {
    async stop() {
      running = false;
      clearInterval(sampler);
      sample();
      await prober;
      const ok = /** @type {number[]} */ (echoes.filter((e) => e !== null)).sort((a, b) => a - b);
      return {
        peakKiB,
        probes: echoes.length,
        failed: echoes.length - ok.length,
        p50: ok.length > 0 ? /** @type {number} */ (ok[Math.floor(ok.length / 2)]) : null,
        max: ok.length > 0 ? /** @type {number} */ (ok[ok.length - 1]) : null,
      };
    },
  };
}
