/**
 * The pub/sub targets of apps/echo/targets.json (node-pubsub, deno-pubsub, bun-pubsub), run as
 * tools run them: the echo contract plus /topic/NAME; with --redis, processes of different
 * runtimes share their topics; and N processes on one port (Node: --workers, a node:cluster
 * primary; Deno and Bun: --reuse-port, started N times) with Redis carrying the fan-out.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createClient } from "@redis/client";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { freePort, startRedis } from "../../../packages/redis/test/redis-server.ts";

const root = new URL("../../../", import.meta.url).pathname;
const targets = JSON.parse(readFileSync(new URL("../targets.json", import.meta.url), "utf8"));
const RUNTIMES = ["node", "deno", "bun"];

const cleanups = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()();
});

/** Starts a target with `extra` arguments and resolves once it printed its listening line. */
async function start(name, port, extra = "") {
  const command = `${targets[name].replace("{port}", String(port))} ${extra}`;
  const child = spawn("bash", ["-c", command], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", resolve));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}):\n${output}`)));
  });
  return child;
}

/**
 * A `ws` client, what it received (text as strings, binary as Buffers) and the process that
 * accepted it (the targets' `X-Echo-Process` response header).
 */
async function client(port, path) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  const received = [];
  let process;
  ws.once("upgrade", (response) => {
    process = response.headers["x-echo-process"];
  });
  const closed = new Promise((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
  ws.on("message", (data, binary) => received.push(binary ? Buffer.from(data) : String(data)));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  cleanups.push(() => ws.terminate());
  return { ws, received, closed, process };
}

/**
 * A client is open once it has the 101, which the server may write before its 'connection'
 * handler has subscribed the socket: publish probes (from `from`) until every peer got one, then
 * forget them.
 */
async function allSubscribed(from, peers) {
  for (let i = 0; i < 100 && !peers.every((peer) => peer.received.includes("probe")); i++) {
    from.ws.send("probe");
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const peer of peers) peer.received.length = 0;
}

async function until(check, what, ms = 30_000) {
  for (let waited = 0; !(await check()) && waited < ms; waited += 20)
    await new Promise((r) => setTimeout(r, 20));
  if (!(await check()))
    throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
}

describe.each(RUNTIMES)("%s-pubsub", (runtime) => {
  it("serves the echo contract and publishes each text of a /topic/NAME connection to NAME, the sender included", async () => {
    const port = await freePort();
    await start(`${runtime}-pubsub`, port);
    const echo = await client(port, "/");
    const a = await client(port, "/topic/room");
    const b = await client(port, "/topic/room");
    const other = await client(port, "/topic/other");
    echo.ws.send("echoed");
    a.ws.send("to the room");
    a.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await until(
      () => echo.received.length === 1 && a.received.length === 2 && b.received.length === 1,
      "messages",
    );
    expect(echo.received).toEqual(["echoed"]);
    expect(a.received).toEqual(["to the room", Buffer.from([1, 2, 3])]);
    expect(b.received).toEqual(["to the room"]);
    expect(other.received).toEqual([]);
    const closing = await client(port, "/close?code=4001&reason=bye");
    expect(await closing.closed).toEqual({ code: 4001, reason: "bye" });
  });
});

describe("pub/sub targets with --redis", () => {
  it("processes of the three runtimes share their topics", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const ports = [];
    for (const runtime of RUNTIMES) {
      const port = await freePort();
      await start(`${runtime}-pubsub`, port, `--redis ${redis.url}`);
      ports.push(port);
    }
    const peers = [];
    for (const port of ports)
      peers.push(await client(port, "/topic/chat"), await client(port, "/topic/chat"));
    await until(
      async () => (await numsub(redis.url, "ws:topic:chat")) === 3,
      "three servers subscribed in Redis",
    );
    await allSubscribed(peers[0], peers);
    for (const [i, peer] of peers.entries()) peer.ws.send(`from ${i}`);
    const all = peers.map((_, i) => `from ${i}`);
    await until(
      () => peers.every((peer) => peer.received.length === all.length),
      () => `every message everywhere: ${JSON.stringify(peers.map((peer) => peer.received))}`,
    );
    await new Promise((r) => setTimeout(r, 200)); // a duplicate would have arrived by now
    for (const peer of peers) expect([...peer.received].sort()).toEqual(all);
  });

  describe.each(RUNTIMES)("%s: two processes on one port", (runtime) => {
    it("spreads connections over both and the Redis broker carries the fan-out", async () => {
      const redis = await startRedis();
      cleanups.push(() => redis.stop());
      const port = await freePort();
      // Each start resolves once its processes listen with their brokers connected (Node: the
      // cluster primary's line comes after every worker's readiness).
      if (runtime === "node") await start("node-pubsub", port, `--redis ${redis.url} --workers 2`);
      else {
        await start(`${runtime}-pubsub`, port, `--redis ${redis.url} --reuse-port`);
        await start(`${runtime}-pubsub`, port, `--redis ${redis.url} --reuse-port`);
      }
      // Open connections until both processes hold some (each 101 names its process): Node's
      // cluster primary hands them round-robin; with SO_REUSEPORT the kernel picks by a hash of
      // the addresses and ports, so how many it takes is up to chance, not whether.
      const peers = [];
      const processes = new Set();
      while (peers.length < 8 || processes.size < 2) {
        const peer = await client(port, "/topic/wide");
        expect(peer.process).toMatch(/^\d+$/);
        peers.push(peer);
        processes.add(peer.process);
        if (peers.length === 200) throw new Error(`200 connections, all on process ${[...processes]}`);
      }
      expect(processes.size).toBe(2);
      // Round-robin over workers that are all ready: one after the other (a primary that
      // announced itself before its second worker listened gave the first worker every one).
      if (runtime === "node") expect(peers[1].process).not.toBe(peers[0].process);
      await until(
        async () => (await numsub(redis.url, "ws:topic:wide")) === 2,
        "both processes to hold the topic",
      );
      await allSubscribed(peers[0], peers);
      peers[0].ws.send("one for all");
      await until(() => peers.every((peer) => peer.received.length === 1), "every subscriber");
      await new Promise((r) => setTimeout(r, 200));
      for (const peer of peers) expect(peer.received).toEqual(["one for all"]);
    });
  });
});

/** How many subscriber connections Redis has for `channel` (one per process holding its topic). */
async function numsub(url, channel) {
  const admin = createClient({ url });
  admin.on("error", () => {});
  await admin.connect();
  try {
    const reply = await admin.sendCommand(["PUBSUB", "NUMSUB", channel]);
    return Number(reply[1]);
  } finally {
    admin.destroy();
  }
}
