// The load generator process. The orchestrator (src/run.mjs) starts it with an IPC channel,
// pinned to its own core, and sends it one job at a time: { id, job: { type, ...options } }.
// It answers { id, ok: true, result } or { id, ok: false, error }.

import {
  collectGarbage,
  latency,
  memoryClose,
  memoryOpen,
  probe,
  setupRate,
  soak,
  throughput,
} from "./loadgen.mjs";

/** @type {Record<string, (options: any) => unknown>} */
const JOBS = { probe, throughput, latency, setupRate, memoryOpen, memoryClose, collectGarbage, soak };

if (typeof process.send !== "function") {
  console.error("generator.mjs is started by the benchmark (src/cli.mjs) with an IPC channel");
  process.exit(2);
}

process.on("message", async (/** @type {{ id: number, job: { type: string } }} */ message) => {
  const { id, job } = message;
  try {
    const run = JOBS[job.type];
    if (run === undefined) throw new Error(`unknown job ${job.type}`);
    const result = await run(job);
    process.send?.({ id, ok: true, result });
  } catch (err) {
    process.send?.({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});

// The orchestrator going away closes the channel: stop then.
process.on("disconnect", () => process.exit(0));
