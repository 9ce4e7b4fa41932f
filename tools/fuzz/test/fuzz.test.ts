/**
 * The short fuzz run of the test command: every target for a fraction of a second on each
 * runtime (Node 20 and 24, Deno, Bun). `pnpm fuzz` at the repository root runs long ones.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { TARGETS } from "../src/targets/index.ts";

/** Per target: enough to touch every branch the seeds reach, short enough for every runtime. */
const TIME_LIMIT_MS = 400;

describe("fuzz (short run)", () => {
  for (const target of TARGETS) {
    it(target.name, async () => {
      const details = await fc.check(target.property(), {
        numRuns: 1_000_000,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
      });
      if (details.failed && details.counterexample !== null) {
        throw new Error(fc.defaultReportMessage(details) ?? `${target.name} failed`);
      }
      // On a busy machine one slow input can outlast the time limit ("interrupted after 0
      // tests", which fast-check counts as a failure): run one input to the end instead.
      if (details.numRuns === 0) await fc.assert(target.property(), { numRuns: 1 });
    });
  }
});
