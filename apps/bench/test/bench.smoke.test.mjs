// Smoke test of the benchmark harness: a tiny run against the `ws` reference server only.
// Checks that every measurement produced a number and that the JSON has its shape. It does
// not assert anything about performance.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const CLI = fileURLToPath(new URL("../src/cli.mjs", import.meta.url));
const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

describe("bench harness (tiny run against ws)", () => {
  const out = mkdtempSync(join(tmpdir(), "ws-bench-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("measures throughput, latency, connection setup and memory and writes JSON + Markdown", () => {
    const run = spawnSync(process.execPath, [CLI, "--tiny", "--targets", "ws", "--out", out], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 45_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);

    const files = readdirSync(out).sort();
    expect(files).toContain("latest.json");
    expect(files).toContain("latest.md");
    expect(files.filter((f) => /^bench-.*\.json$/.test(f))).toHaveLength(1);

    const res = JSON.parse(readFileSync(join(out, "latest.json"), "utf8"));
    expect(res).toMatchObject({
      schema: 1,
      mode: "tiny",
      baseline: "ws",
      options: { deflate: false, baseline: "ws", targets: ["ws"] },
      machine: { cpus: expect.any(Number), versions: { node: process.version } },
    });
    expect(res.targets).toEqual([
      expect.objectContaining({ name: "ws", status: "ok", source: "apps/bench/targets.json", error: null }),
    ]);

    const groups = res.scenarios.map((/** @type {{ group: string }} */ s) => s.group);
    expect(new Set(groups)).toEqual(new Set(["small", "large", "latency", "setup", "memory"]));
    for (const sc of res.scenarios) {
      expect(sc).toMatchObject({
        id: expect.any(String),
        label: expect.any(String),
        unit: expect.any(String),
      });
      expect(["higher", "lower"]).toContain(sc.better);
      const v = sc.values.ws;
      expect(v.error, `${sc.id}: ${v.error}`).toBeUndefined();
      // Memory after a full GC may not grow at all for the tiny run's 50 connections.
      if (sc.group !== "memory") expect(v.value).toBeGreaterThan(0);
      if (sc.group === "small" || sc.group === "large") {
        expect(v.messages).toBeGreaterThan(0);
        expect(v.messagesPerSecond).toBeGreaterThan(0);
        expect(v.megabytesPerSecond).toBeGreaterThan(0);
        expect(v.mismatches).toBe(0);
      }
      if (sc.group === "latency") {
        expect(v.samples).toBeGreaterThan(0);
        expect(v.p99).toBeGreaterThanOrEqual(v.p50);
      }
      if (sc.group === "setup") {
        expect(v.connections).toBeGreaterThan(0);
        expect(v.connectionsPerSecond).toBeGreaterThan(0);
        expect(v.errors).toBe(0);
      }
      if (sc.group === "memory") {
        expect(v.connections).toBe(sc.params.connections);
        expect(v.rssAfterKiB).toBeGreaterThan(0);
        expect(Number.isFinite(v.value)).toBe(true);
        // ws-echo.mjs has the `/gc` control path: both readings follow a full collection.
        expect(v.forcedGc).toBe(true);
        expect(v.heapKiB).toEqual(expect.any(Number));
        expect(v.noGcKiB).toEqual(expect.any(Number));
      }
    }

    const md = readFileSync(join(out, "latest.md"), "utf8");
    expect(md).toContain("# WebSocket echo benchmark");
    expect(md).toContain("| messages/s | ws (baseline) |");
    expect(md).toContain("| connections/s | ws (baseline) |");
  });
});

describe("bench harness with permessage-deflate (tiny run and a short soak against ws)", () => {
  const out = mkdtempSync(join(tmpdir(), "ws-bench-deflate-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("negotiates permessage-deflate, gets compressed echoes and numbers for every measurement", () => {
    const run = spawnSync(process.execPath, [CLI, "--tiny", "--deflate", "--targets", "ws", "--out", out], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 45_000,
    });
    expect(run.error).toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const res = JSON.parse(readFileSync(join(out, "latest.json"), "utf8"));
    expect(res.options).toMatchObject({ deflate: true, targets: ["ws"] });
    const [ws] = res.targets;
    expect(ws).toMatchObject({ name: "ws", status: "ok" });
    expect(ws.extensions).toMatch(/^permessage-deflate\b/);
    expect(ws.deflateCheck).toMatchObject({ echoCompressed: true, verified: true });
    for (const sc of res.scenarios) {
      expect(sc.params.kind, sc.id).toBe("json");
      expect(sc.params.size, sc.id).toBeGreaterThan(1024); // above the servers' threshold
      const v = sc.values.ws;
      expect(v.error, `${sc.id}: ${v.error}`).toBeUndefined();
      expect(v.value).toBeGreaterThan(0);
      expect(v.echoCompressedShare, sc.id).toBeGreaterThan(0);
    }
    const md = readFileSync(join(out, "latest.md"), "utf8");
    expect(md).toContain("## Compression check");
  });

  it("soak: samples the server's RSS and reports the trend", () => {
    const run = spawnSync(
      process.execPath,
      [
        CLI,
        "soak",
        "--deflate",
        "--targets",
        "ws",
        "--messages",
        "6000",
        "--sample-every",
        "1000",
        "--out",
        out,
      ],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 45_000 },
    );
    expect(run.error).toBeUndefined();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const res = JSON.parse(readFileSync(join(out, "soak-latest.json"), "utf8"));
    expect(res).toMatchObject({ kind: "soak", options: { deflate: true, messages: 6000 } });
    const [ws] = res.targets;
    expect(ws).toMatchObject({ name: "ws", status: "ok", error: null, messages: 6000 });
    expect(ws.extensions).toMatch(/^permessage-deflate\b/);
    expect(ws.echoCompressedShare).toBeGreaterThan(0);
    expect(ws.messagesPerSecond).toBeGreaterThan(0);
    expect(ws.samples.length).toBeGreaterThanOrEqual(6);
    expect(ws.rssEndKiB).toBeGreaterThan(0);
    expect(ws.trend).toMatchObject({ verdict: expect.stringMatching(/^(flat|grows|shrinks)$/) });
    expect(readFileSync(join(out, "soak-latest.md"), "utf8")).toContain("# Soak:");
  });
});

describe("HTTP/2 against HTTP/1.1 (tiny run of src/h2.mjs: node-h2 and node of apps/echo/targets.json)", () => {
  it("opens the sockets both ways and measures time to open, memory and throughput", async () => {
    const { runH2Bench } = await import("../src/h2.mjs");
    const result = await runH2Bench({ sockets: 10, profile: "tiny" });
    expect(Object.keys(result)).toEqual(["HTTP/1.1 (N TCP connections)", "HTTP/2 (N streams, 1 connection)"]);
    for (const figures of Object.values(result)) {
      expect(figures.openMs).toBeGreaterThan(0);
      expect(Number.isFinite(figures.kibPerSocket)).toBe(true);
      expect(figures.messagesPerSecond).toBeGreaterThan(0);
    }
  }, 60_000);
});
