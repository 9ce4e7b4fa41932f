// Latency rounds are combined so that a few rounds disturbed by other work on the machine do
// not decide a target's figures, and the report shows how far the rounds' p99s spread.

import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../src/report.mjs";
import { combineLatencyRounds, MODES, scenarios } from "../src/run.mjs";

/** One latency round as the generator reports it. @param {number} p50 @param {number} p99 */
const round = (p50, p99) => ({
  samples: 2000,
  p50,
  p90: p50 * 1.5,
  p99,
  min: p50 / 2,
  max: p99 * 3,
  mean: p50 * 1.2,
  mismatches: 0,
  value: p50,
});

describe("latency rounds", () => {
  it("takes the median of the rounds' percentiles, not one round's", () => {
    // Two of five rounds disturbed: their p99s are far out, their p50s are not the highest.
    const v = combineLatencyRounds([
      round(100, 200),
      round(101, 5000),
      round(99, 210),
      round(102, 190),
      round(98, 4000),
    ]);
    expect(v.p50).toBe(100);
    expect(v.p99).toBe(210);
    expect(v.value).toBe(100);
    expect(v.samples).toBe(10_000);
    expect(v.p99Rounds).toEqual([200, 5000, 210, 190, 4000]);
    expect(v.rounds).toEqual([100, 101, 99, 102, 98]);
  });

  it("averages the middle two of an even number of rounds, and leaves failed rounds out", () => {
    const v = combineLatencyRounds([round(100, 200), { error: "timed out" }, round(110, 300)]);
    expect(v.p99).toBe(250);
    expect(v.failedRounds).toBe(1);
    expect(v.p99Rounds).toEqual([200, null, 300]);
    expect(combineLatencyRounds([{ error: "a" }, { error: "b" }])).toEqual({ error: "a; b" });
  });

  it("runs many short latency rounds in a full run, about as many round trips as before", () => {
    const lat = MODES.full.latency;
    expect(lat.rounds).toBeGreaterThanOrEqual(5);
    // The first round warms up for longer: the servers' echo paths are compiled by then.
    expect(lat.firstWarmup ?? 0).toBeGreaterThan(lat.warmup);
    expect(
      (lat.rounds ?? 1) * (lat.warmup + lat.samples) + (lat.firstWarmup ?? lat.warmup) - lat.warmup,
    ).toBeLessThanOrEqual(25_000);
    const sc = scenarios(MODES.full, { connectionsLimit: 20_000 }).find((s) => s.group === "latency");
    expect(sc?.params.rounds).toBe(lat.rounds);
  });

  it("reports the lowest and highest round's p99", () => {
    const sc = scenarios(MODES.full, { connectionsLimit: 20_000 }).find((s) => s.group === "latency");
    if (sc === undefined) throw new Error("no latency scenario");
    const values = {
      ws: combineLatencyRounds([round(100, 200), round(101, 900), round(99, 210)]),
    };
    const md = renderMarkdown({
      schema: 1,
      startedAt: "2026-12-07T00:00:00.000Z",
      finishedAt: "2026-12-07T00:01:00.000Z",
      mode: "full",
      options: { deflate: false, baseline: "ws", targets: ["ws"] },
      machine: {
        platform: "Linux",
        cpuModel: "cpu",
        cpus: 2,
        memoryGiB: 4,
        openFilesLimit: 1024,
        pinning: null,
        nice: null,
        versions: { node: "v20", deno: null, bun: null },
      },
      generator: "test",
      rounds: 3,
      notes: [],
      baseline: "ws",
      comparisons: [],
      targets: [
        {
          name: "ws",
          command: "ws",
          source: "apps/bench/targets.json",
          status: "ok",
          error: null,
          banner: null,
          extensions: null,
          deflateCheck: null,
          processes: [],
          note: null,
        },
      ],
      scenarios: [{ ...sc, unit: "µs (p50)", better: "lower", values }],
    });
    expect(md).toContain("| p99 | 210.0 |");
    expect(md).toContain("| p99, lowest–highest round | 200–900 |");
  });
});
