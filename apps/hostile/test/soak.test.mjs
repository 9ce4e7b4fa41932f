// The connection soak, short: 200 concurrent connections × 10 messages of random sizes and types
// against our echo server on each runtime, every echo checked byte for byte and in order. The
// full run (10,000 connections × 100 messages) is `pnpm soak` (apps/hostile/src/soak.mjs).
import { describe, expect, it } from "vitest";
import { loadTargets } from "../../bench/src/targets.mjs";
import { soakTarget } from "../src/soak.mjs";

const { targets } = loadTargets();

describe("soak, short (200 connections × 10 messages)", () => {
  for (const name of ["node", "deno", "bun"]) {
    it(`${name}: nothing lost, reordered or corrupted`, async () => {
      const result = await soakTarget(targets.get(name), {
        connections: 200,
        messages: 10,
        window: 2,
        seed: 7,
        timeoutS: 120,
        log: () => {},
      });
      expect(result.opened).toBe(200);
      expect(result.sent).toBe(2000);
      expect({ lost: result.lost, reordered: result.reordered, corrupted: result.corrupted }).toEqual({
        lost: 0,
        reordered: 0,
        corrupted: 0,
      });
      expect(result.echoed).toBe(2000);
      expect(result.closeCodes).toEqual({ 1000: 200 });
      expect(result.survived).toBe(true);
    }, 180_000);
  }
});
