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
      await fc.assert(target.property(), {
        numRuns: 1_000_000,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
      });
    });
  }
});
