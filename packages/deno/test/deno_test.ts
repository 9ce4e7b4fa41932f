/**
 * @ws/deno under `deno test`. The basics every adapter shares (echo with our client and Deno's
 * native `WebSocket` client, close orderings, limits, backpressure, ping, handshake rejections,
 * graceful shutdown, bounded handshakes, WebIDL shape) are the scenarios of
 * tools/test-support/basics-scenarios.ts, run first. What stays here differs on Deno: our client
 * against `Deno.serve` + `Deno.upgradeWebSocket`, the Deno transport's reused read buffer and
 * joined writes (Deno has no writev), the options Deno cannot honour, and TLS, whose client
 * options and peers differ (@ws/node on node:http is in handler_test.ts, a shared scenario).
 */
import { expect } from "expect";
import { basicsScenarios } from "../../../tools/test-support/basics-scenarios.ts";
import { type CloseEvent, connect, WebSocket, WebSocketServer } from "../src/mod.ts";
import { big, nextEvent, rawClient, rawFrame, selfSigned, startEchoServer, test } from "./helpers.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

for (const [title, scenarios] of Object.entries(basicsScenarios)) runSharedScenarios(title, scenarios);

async function echo(defer: <T>(value: T, close: (value: T) => unknown) => T): Promise<string> {
  return defer(await startEchoServer(), (s) => s.close()).url;
}

test("echo: large messages sent back to back, around the write-joining bounds, come back intact and in order", async (defer) => {
  // The transport joins a frame header with the head of the payload behind it (Deno has no
  // writev): payloads just under, at and over 64 KiB and 128 KiB, with small frames between
  // them, queued behind each other so that every joining case (whole payload, payload head,
  // several small frames) is written.
  const ws = defer(await connect(await echo(defer)), (c) => c.terminate());
  const messages = ws[Symbol.asyncIterator]();
  const sizes = [65_522, 65_535, 65_536, 65_537, 3, 131_062, 131_063, 131_072, 7, 200_000, 1 << 20, 125, 126];
  const sent = sizes.map((size, i) => {
    const bytes = new Uint8Array(size);
    for (let j = 0; j < size; j++) bytes[j] = (j * 31 + i * 7) & 0xff;
    return bytes;
  });
  for (const bytes of sent) ws.send(bytes);
  for (const bytes of sent) expect((await messages.next()).value).toStrictEqual(bytes);
});

test("echo: a joined write held up by a peer that does not read is not overwritten by another connection's", async (defer) => {
  // The transport joins a header and its payload's head in spare buffers shared by every
  // connection. Peer A sends 6 MB and reads nothing yet, so that the server's write to it
  // stops part-way in such a buffer; meanwhile peer B echoes as fast as it can, its writes
  // taking spare buffers. A's replies, read last, must be intact. (The send-buffer limit is
  // raised: it would close A.)
  const echoServer = defer(await startEchoServer({ limits: { maxBufferedAmount: 64 * 1024 * 1024 } }), (s) =>
    s.close(),
  );
  const port = Number(new URL(echoServer.url).port);
  const count = 60;
  const size = 100_000;
  const payload = (peer: number, i: number) => {
    const bytes = new Uint8Array(size);
    for (let j = 0; j < size; j++) bytes[j] = (j * 13 + i * 7 + peer * 101) & 0xff;
    return bytes;
  };
  const open = async () => {
    const raw = await rawClient(port);
    defer(raw.conn, (c) => c.close());
    expect(await raw.head()).toMatch(/^HTTP\/1.1 101/);
    return raw;
  };
  const sendAll = async (raw: Awaited<ReturnType<typeof open>>, peer: number) => {
    for (let i = 0; i < count; i++) {
      const frame = rawFrame(0x2, payload(peer, i));
      // conn.write() may take part of the bytes.
      for (let at = 0; at < frame.length; ) at += await raw.conn.write(frame.subarray(at));
    }
  };
  const [a, b] = [await open(), await open()];
  const sendingA = sendAll(a, 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const [echoedB] = await Promise.all([b.waitFrames(count), sendAll(b, 1)]);
  const [echoedA] = await Promise.all([a.waitFrames(count), sendingA]);
  for (const [peer, frames] of [echoedA, echoedB].entries()) {
    expect(frames.length).toBe(count);
    for (let i = 0; i < count; i++) expect(frames[i]?.payload).toStrictEqual(payload(peer, i));
  }
});

test("reading: messages the application keeps are never overwritten by later reads into a reused buffer", async (defer) => {
  // The transport reads into the same buffer again when the session keeps nothing of it (large
  // binary frames are gathered into buffers of their own); views of it that went out (small
  // frames, text, a ping) must make it read into a new one. Every message is kept until all
  // have come, then compared; they arrive as one stream, so reads cut frames anywhere.
  const wss = defer(new WebSocketServer({ port: 0, host: "127.0.0.1" }), (s) => s.close(100));
  await new Promise((resolve) => wss.once("listening", () => resolve(undefined)));
  const port = (wss.address() as { port: number }).port;
  const kept: (string | Uint8Array)[] = [];
  const payloads: Uint8Array[] = [];
  const frames: Uint8Array[] = [];
  const sizes = [
    65_536,
    10,
    70_000,
    300,
    65_536,
    200_000,
    65_536,
    5,
    131_072,
    65_536,
    1 << 20,
    65_536,
    65_536,
  ];
  for (const [i, size] of sizes.entries()) {
    const bytes = new Uint8Array(size);
    for (let j = 0; j < size; j++) bytes[j] = (j * 31 + i * 7) & 0x7f;
    payloads.push(bytes);
    // Every third one as text (ASCII), the others binary; a ping after each small one.
    frames.push(rawFrame(i % 3 === 1 ? 0x1 : 0x2, bytes));
    if (size < 126) frames.push(rawFrame(0x9, bytes));
  }
  const all = new Promise<void>((resolve) => {
    wss.on("connection", (ws) => {
      ws.onmessage = (event) => {
        kept.push(event.data);
        if (kept.length === sizes.length) resolve();
      };
    });
  });
  const raw = await rawClient(port);
  defer(raw.conn, (c) => c.close());
  expect(await raw.head()).toMatch(/^HTTP\/1.1 101/);
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    stream.set(frame, offset);
    offset += frame.length;
  }
  for (let at = 0; at < stream.length; ) at += await raw.conn.write(stream.subarray(at));
  await all;
  // The index of the first message that differs (compared in a loop: `toStrictEqual` on a few
  // MiB is slow), -1 when none does.
  const differs = kept.findIndex((data, i) => {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const payload = payloads[i] as Uint8Array;
    return bytes.length !== payload.length || !bytes.every((byte, j) => byte === payload[j]);
  });
  expect(differs).toBe(-1);
});

test("echo: our client against Deno.serve + Deno.upgradeWebSocket", async (defer) => {
  const native = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  });
  defer(native, (s) => s.shutdown());
  const ws = defer(await connect(`ws://127.0.0.1:${native.addr.port}/`), (c) => c.terminate());
  const messages = ws[Symbol.asyncIterator]();
  ws.send("to deno");
  expect((await messages.next()).value).toBe("to deno");
  ws.send(big(200_000));
  expect((await messages.next()).value).toStrictEqual(big(200_000));
  const closed = nextEvent<CloseEvent>(ws, "close");
  ws.close(1000);
  expect((await closed).code).toBe(1000);
});

test("options Deno cannot honour throw clear errors", () => {
  expect(() => new WebSocket("ws://127.0.0.1:1", { proxy: "http://proxy:3128" })).toThrow(/proxy/);
  expect(() => new WebSocket("wss://127.0.0.1:1", { rejectUnauthorized: false })).toThrow(
    /rejectUnauthorized/,
  );
  expect(() => new WebSocket("wss://127.0.0.1:1", { servername: "x" })).toThrow(/servername/);
  expect(() => new WebSocketServer({ server: {} } as never)).toThrow(/node:http/);
  return Promise.resolve();
});

const certificate = await selfSigned();
Deno.test({
  name: `TLS: wss echo with a self-signed certificate (openssl CLI)${typeof certificate === "string" ? ` — skipped: ${certificate}` : ""}`,
  ignore: typeof certificate === "string",
  async fn() {
    const { cert, key } = certificate as { cert: string; key: string };
    const e = await startEchoServer({ tls: { cert, key } });
    try {
      const url = `wss://localhost:${e.port}/`;
      const ws = await connect(url, { ca: cert });
      ws.send("secure");
      expect((await ws[Symbol.asyncIterator]().next()).value).toBe("secure");
      ws.terminate();
      expect(await connect(url).catch((err: unknown) => err)).toBeInstanceOf(Error);
    } finally {
      await e.close();
    }
  },
});

Deno.test({
  name: `TLS: a server that drops the connection without close_notify after the close handshake gives a clean close (WHATWG "closed cleanly")${typeof certificate === "string" ? ` — skipped: ${certificate}` : ""}`,
  ignore: typeof certificate === "string",
  async fn() {
    const { cert, key } = certificate as { cert: string; key: string };
    const dir = await Deno.makeTempDir({ prefix: "ws-deno-tls-eof-" });
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    // The peer is Node's TLS (OpenSSL): Deno's own TLS server sends close_notify on close().
    const peer = new Deno.Command("node", {
      args: [
        new URL("./tls-no-close-notify-server.mjs", import.meta.url).pathname,
        `${dir}/cert.pem`,
        `${dir}/key.pem`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const port = Number((await reader.read()).value);
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, [], { ca: cert });
      const event = await nextEvent<CloseEvent>(ws, "close");
      expect([event.code, event.wasClean]).toStrictEqual([1000, true]);
      await reader.cancel();
      await peer.status;
    } finally {
      try {
        peer.kill();
      } catch {
        // Already exited.
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
