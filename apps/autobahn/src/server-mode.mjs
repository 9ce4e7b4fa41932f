// Server mode: the runner is a fuzzing client; the target is an echo server.

import { performance } from "node:perf_hooks";
import { selectCases } from "./cases/index.mjs";
import { openPeer } from "./connect.mjs";
import { CaseContext } from "./context.mjs";
import { closeConnections } from "./http2.mjs";
import { failed, unimplemented } from "./judge.mjs";
import { fillCommand, freePort, TargetProcess } from "./process.mjs";

/**
 * @typedef {object} CaseResult
 * @property {string} id
 * @property {string} description
 * @property {import('./judge.mjs').VerdictName} verdict
 * @property {string} reason
 * @property {number} durationMs
 */

/**
 * Run one case against the server on `port`, with a hard time limit.
 * @param {import('./cases/define.mjs').CaseDef} c
 * @param {import('./cases/define.mjs').RawEnv} env
 * @returns {Promise<CaseResult>}
 */
export async function runServerCase(c, env) {
  const started = performance.now();
  /** @type {import("./peer.mjs").Peer | null} */
  let peer = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const limit = c.serial === true ? env.profile.bigCaseTimeoutMs : env.profile.caseTimeoutMs;
  const work = (async () => {
    if (c.kind === "raw") return c.run(env);
    const opened = await openPeer(env.port, {
      http2: env.http2 ?? null,
      ...(c.path === undefined ? {} : { path: c.path }),
      ...(c.offer === undefined ? {} : { offer: c.offer }),
    });
    if ("error" in opened) return failed(`opening handshake failed: ${opened.error}`);
    peer = opened.peer;
    if (c.deflate === true && opened.deflateParams === null) {
      return unimplemented(`server did not accept the offer "${c.offer}" (RFC 7692 permessage-deflate)`);
    }
    return c.run(new CaseContext(peer, env.profile));
  })();
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(failed(`case did not finish within ${limit} ms`)), limit);
  });
  let verdict;
  try {
    verdict = /** @type {import('./judge.mjs').Verdict} */ (await Promise.race([work, timeout]));
  } catch (err) {
    verdict = failed(`runner error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    clearTimeout(timer);
    /** @type {import("./peer.mjs").Peer | null} */ (peer)?.destroy();
  }
  work.catch(() => {}); // a timed-out case may still settle later
  return {
    id: c.id,
    description: c.description,
    verdict: verdict.verdict,
    reason: verdict.reason,
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Run `fn` over `items` with at most `limit` in flight, keeping the order of results.
 * @template T, R
 * @param {T[]} items
 * @param {number} limit
 * @param {(item: T) => Promise<R>} fn
 * @returns {Promise<R[]>}
 */
export async function pool(items, limit, fn) {
  /** @type {R[]} */
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(/** @type {T} */ (items[i]));
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * @typedef {object} RunOptions
 * @property {string} command target command with {port}
 * @property {boolean} deflate append " --deflate" and run the compression families
 * @property {string} [cases] filter, e.g. "1.*,6.4.*"
 * @property {import('./context.mjs').Profile} profile
 * @property {number} [concurrency] cases in flight at once (performance/resource cases run alone)
 * @property {(r: CaseResult) => void} [onResult]
 * @property {number} [startTimeoutMs]
 * @property {import('./http2.mjs').Http2Transport | null} [http2] run over HTTP/2 streams (RFC 8441);
 *   the raw cases, which write HTTP/1.1 bytes themselves, are left out
 */

/**
 * Start the target, run the selected cases, stop it.
 * @param {RunOptions} options
 * @returns {Promise<{ command: string, results: CaseResult[], targetOutput: string }>}
 */
export async function runServerMode(options) {
  const port = await freePort();
  const command =
    fillCommand(options.command, { port: String(port) }) + (options.deflate ? " --deflate" : "");
  const proc = new TargetProcess(command);
  try {
    await proc.waitReady(port, options.startTimeoutMs ?? 20_000);
    /** @type {import('./cases/define.mjs').RawEnv} */
    const env = {
      port,
      profile: options.profile,
      serverRss: () => proc.rss(),
      deflate: options.deflate,
      http2: options.http2 ?? null,
    };
    const selected = selectCases({
      mode: "server",
      deflate: options.deflate,
      ...(options.cases === undefined ? {} : { cases: options.cases }),
    }).filter((c) => options.http2 == null || c.kind !== "raw");
    /** @param {import('./cases/define.mjs').CaseDef} c */
    const run = async (c) => {
      /** @type {CaseResult} */
      let r;
      if (proc.exitCode !== null) {
        r = {
          id: c.id,
          description: c.description,
          verdict: "FAILED",
          reason: `target process had exited (code ${proc.exitCode})`,
          durationMs: 0,
        };
      } else {
        r = await runServerCase(c, env);
        if (proc.exitCode !== null) {
          r = {
            ...r,
            verdict: "FAILED",
            reason: `target process exited during this case (code ${proc.exitCode}); ${r.reason}`,
          };
        }
      }
      options.onResult?.(r);
      return r;
    };
    const parallel = await pool(
      selected.filter((c) => c.serial !== true),
      options.concurrency ?? 4,
      run,
    );
    /** @type {CaseResult[]} */
    const serial = [];
    for (const c of selected.filter((c) => c.serial === true)) serial.push(await run(c));
    const byId = new Map([...parallel, ...serial].map((r) => [r.id, r]));
    const results = selected.map((c) => /** @type {CaseResult} */ (byId.get(c.id)));
    return { command, results, targetOutput: proc.output };
  } finally {
    await closeConnections(port);
    await proc.stop();
  }
}
