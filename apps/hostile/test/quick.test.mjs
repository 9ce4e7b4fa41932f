// The quick hostile patterns, in the test command: a small scale of every pattern (the inflate
// bombs aside: building one takes seconds of CPU) against our Node echo server of
// apps/echo/targets.json, started as its own process. After each, the server must still be up and
// echo a fresh client; the patterns whose outcome the library promises are checked too. The
// full battery, against every server, is `node apps/hostile/src/cli.mjs` (RELIABILITY.md).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, loadTargets, ServerProcess } from "../../bench/src/targets.mjs";
import {
  backtrackingHeaders,
  hugeLengthTrickle,
  malformedHandshakes,
  neverRead,
  pingFlood,
  resetsMidFrame,
  slowloris,
  tinyFragments,
} from "../src/patterns.mjs";
import { freshEcho, summarize } from "../src/probe.mjs";

const SCALE = 0.01;
let server;
let port;

beforeAll(async () => {
  const spec = loadTargets().targets.get("node");
  port = await freePort();
  server = new ServerProcess(spec.command.replaceAll("{port}", String(port)), { cpu: null, nice: null });
  await server.waitReady(port, 30_000);
});

afterAll(async () => {
  await server?.stop();
});

async function survives() {
  expect(server.exitCode).toBe(null);
  expect(await freshEcho(port, 5000)).not.toBe(null);
}

describe("hostile patterns, quick (our Node echo server)", () => {
  it("malformed and oversized handshakes are all refused with a 4xx, none with a server error", async () => {
    const { statuses } = await malformedHandshakes(port, SCALE);
    // 400, 405, 426 or 431 (300 header fields: maxHeaderCount, on Node too since the shared accept path checks it).
    expect(statuses.every((s) => /^4\d\d$/.test(String(s)))).toBe(true);
    await survives();
  });

  it("header values built for catastrophic backtracking are answered", async () => {
    const { statuses } = await backtrackingHeaders(port, SCALE);
    expect(statuses.every((s) => /^\d{3}$/.test(String(s)))).toBe(true);
    await survives();
  });

  it("a frame declaring 1 TiB is refused with 1009 at once", async () => {
    const { codes } = await hugeLengthTrickle(port, SCALE);
    expect(codes.every((c) => c === 1009)).toBe(true);
    await survives();
  });

  it("resets in the middle of a frame", async () => {
    await resetsMidFrame(port, SCALE);
    await survives();
  });

  it("a message in 70,000 one-byte fragments, from 2 connections: both echoed whole", async () => {
    const { echoed } = await tinyFragments(port, SCALE);
    expect(echoed).toBe(2);
    await survives();
  });

  it("ping floods", async () => {
    await pingFlood(port, SCALE);
    await survives();
  });

  it("peers that never read", async () => {
    await neverRead(port, SCALE);
    await survives();
  });

  it("slowloris", async () => {
    await slowloris(port, SCALE);
    await survives();
  });
});

describe("the probes' summary (RELIABILITY.md's fresh echo column)", () => {
  it("gives p50, max, failures, and when the worst probe started after the attack began", () => {
    const since = 1_000_000;
    const probes = [
      { startedAt: since + 100, ms: 3 },
      { startedAt: since + 200, ms: null },
      { startedAt: since + 2500, ms: 80 },
      { startedAt: since + 300, ms: 5 },
    ];
    expect(summarize(probes, since)).toEqual({ probes: 4, failed: 1, p50: 5, max: 80, maxAtS: 2.5 });
    expect(summarize([{ startedAt: since, ms: null }], since)).toEqual({
      probes: 1,
      failed: 1,
      p50: null,
      max: null,
      maxAtS: null,
    });
  });
});
