/**
 * @ws/bun under `bun test`. The basics every adapter shares (echo with our client and Bun's
 * native `WebSocket` client, close orderings, limits, backpressure, ping, handshake rejections,
 * graceful shutdown, bounded handshakes, WebIDL shape) are the scenarios of
 * tools/test-support/basics-scenarios.ts, run first. What stays here differs on Bun: our client
 * against `Bun.serve` (uWebSockets), the Bun transport's write groups and partial writes,
 * the options Bun cannot honour, bytes held in the kernel while verify runs (a `Bun.connect`
 * peer, whose write() reports what the kernel took), and TLS with `rejectUnauthorized: false`
 * (@ws/node attached to node:http is in handler.test.ts, a shared scenario).
 */
import { describe, expect, it } from "bun:test";
import { basicsScenarios } from "../../../tools/test-support/basics-scenarios.ts";
import { big } from "../../../tools/test-support/payloads.ts";
import {
  type CloseEvent,
  connect,
  WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import { SocketTransport } from "../src/socket-transport.ts";
import { cleanupAfterEach, nextEvent, rawClient, rawFrame, selfSigned, startEchoServer } from "./helpers.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

for (const [title, scenarios] of Object.entries(basicsScenarios))
  runSharedScenarios(title, scenarios, 60_000);

const defer = cleanupAfterEach();

async function server(
  options: Partial<WebSocketServerOptions> = {},
): Promise<{ wss: WebSocketServer; url: string; port: number }> {
  const wss = defer(
    new WebSocketServer({ port: 0, host: "127.0.0.1", ...options } as WebSocketServerOptions),
    (s) => s.close(100),
  );
  await new Promise((resolve) => wss.once("listening", () => resolve(undefined)));
  const port = wss.address()!.port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

async function echo(): Promise<string> {
  const e = await startEchoServer();
  defer(e, (s) => s.close());
  return e.url;
}

describe("echo", () => {
  it("our client against Bun.serve's native WebSocket server", async () => {
    const native = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request, srv) => (srv.upgrade(request) ? undefined : new Response("no", { status: 400 })),
      websocket: { message: (socket, message) => void socket.send(message) },
    });
    defer(native, (s) => s.stop(true));
    const ws = defer(await connect(`ws://127.0.0.1:${native.port}/`), (c) => c.terminate());
    const messages = ws[Symbol.asyncIterator]();
    ws.send("to bun");
    expect((await messages.next()).value).toBe("to bun");
    ws.send(big(200_000));
    expect((await messages.next()).value).toEqual(big(200_000));
    const closed = nextEvent<CloseEvent>(ws, "close");
    ws.close(1000);
    expect((await closed).code).toBe(1000);
  });
});

describe("backpressure", () => {
  it("the transport holds what Bun did not take and returns false until drained (copiesWrites: the session reuses only after true)", () => {
    const { transport, taken, allow } = meteredTransport();
    expect(transport.copiesWrites).toBe(true);
    const first = new Uint8Array(3000).map((_, i) => i % 251);
    const second = new Uint8Array(2000).map((_, i) => (3000 + i) % 251);
    allow(1000);
    expect(transport.write([first])).toBe(false); // 2000 bytes pending
    expect(transport.write([second])).toBe(false); // queued behind them
    expect(transport.bufferedAmount).toBe(4000);
    while (taken.length < 5000) {
      allow(700);
      transport.drain();
    }
    expect(transport.bufferedAmount).toBe(0);
    expect(taken.every((byte, i) => byte === i % 251)).toBe(true);
    allow(10);
    expect(transport.write([new Uint8Array(10)])).toBe(true); // all taken: the buffer is free again
  });

  it("the transport's write groups survive a socket that takes a few bytes at a time", () => {
    // Small chunks are copied together into a reused buffer; a rest Bun did not take may point
    // into it, so it must not be reused while anything is pending. A fake socket takes at most
    // a given number of bytes per write, and records them.
    const { transport, taken, allow, socket } = meteredTransport();
    // 300 chunks of 1–500 bytes (about 75 KiB: more than one group), each byte telling its place.
    const chunks: Uint8Array[] = [];
    let sent = 0;
    for (let i = 0; i < 300; i++) {
      const chunk = new Uint8Array(1 + ((i * 131) % 500));
      for (let j = 0; j < chunk.length; j++) chunk[j] = (sent + j) % 251;
      sent += chunk.length;
      chunks.push(chunk);
    }
    allow(1000); // less than the first group: the rest of it is pending
    expect(transport.write(chunks)).toBe(false);
    expect(transport.bufferedAmount).toBe(sent - 1000);
    // Another socket's write meanwhile (its bytes all taken) reuses the shared buffer.
    const other = new SocketTransport({ ...socket, write: (bytes: Uint8Array | string) => bytes.length });
    expect(other.write([new Uint8Array(3000).fill(0xee), new Uint8Array(3000).fill(0xdd)])).toBe(true);
    // More writes while bytes are pending queue behind them.
    const more = new Uint8Array(200).map((_, j) => (sent + j) % 251);
    sent += more.length;
    transport.write([more.subarray(0, 100), more.subarray(100)]);
    while (taken.length < sent) {
      allow(777);
      transport.drain();
    }
    expect(transport.bufferedAmount).toBe(0);
    expect(taken.every((byte, i) => byte === i % 251)).toBe(true);
  });

  it("frames joined into one socket write arrive intact and in order, also after partial writes", async () => {
    // The transport copies small frames together into a reused buffer before each
    // socket.write(); what Bun does not take must be copied out before that buffer is reused.
    const payload = (i: number) =>
      `${i}:${"abcdefghijklmnopqrstuvwxyz".repeat(1 + (i % 97)).slice(0, 1 + ((i * 37) % 2500))}`;
    const { wss, port } = await server();
    const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const raw = await rawClient(port);
    await raw.head;
    raw.pause();
    const ws = await accepted;
    // Send until Bun takes only part of a write (the session then queues), then some more.
    let count = 0;
    do ws.send(payload(count++));
    while (!ws.needsDrain && count < 20_000);
    expect(count).toBeLessThan(20_000);
    for (const end = count + 500; count < end; count++) ws.send(payload(count));
    raw.resume();
    const frames = await raw.waitFrames(count);
    const decoder = new TextDecoder();
    for (let i = 0; i < count; i++) expect(decoder.decode(frames[i]!.payload)).toBe(payload(i));
    raw.close();

    // Echoes of messages received together go out in batches of many frames (several groups
    // per write); the peer reads nothing for a while, so Bun takes only part of some.
    const echoPort = Number(new URL(await echo()).port);
    const peer = await rawClient(echoPort);
    await peer.head;
    peer.pause();
    const batch = 2000; // about 9 MB each way
    const encoder = new TextEncoder();
    const request = new Uint8Array(10_000 * batch);
    let offset = 0;
    for (let i = 0; i < batch; i++) {
      const frame = rawFrame(0x1, encoder.encode(payload(i)));
      request.set(frame, offset);
      offset += frame.length;
    }
    peer.write(request.subarray(0, offset));
    await Bun.sleep(200);
    peer.resume();
    const echoed = await peer.waitFrames(batch);
    for (let i = 0; i < batch; i++) expect(decoder.decode(echoed[i]!.payload)).toBe(payload(i));
    peer.close();
  });
});

describe("handshake rejections", () => {
  it("options Bun cannot honour throw clear errors", () => {
    expect(() => new WebSocket("ws://127.0.0.1:1", { proxy: "http://proxy:3128" })).toThrow(/proxy/);
    expect(() => new WebSocketServer({ server: {} } as never)).toThrow(/node:http/);
  });
});

const certificate = selfSigned();
describe.skipIf(typeof certificate === "string")(
  `TLS with a self-signed certificate from the openssl CLI${typeof certificate === "string" ? ` (skipped: ${certificate})` : ""}`,
  () => {
    it("wss: echo with the CA given; rejected without it; accepted with rejectUnauthorized false", async () => {
      const { cert, key } = certificate as { cert: string; key: string };
      const e = await startEchoServer({ tls: { cert, key } });
      defer(e, (s) => s.close());
      const url = `wss://localhost:${e.port}/`;
      const ws = defer(await connect(url, { ca: cert }), (c) => c.terminate());
      ws.send("secure");
      expect((await ws[Symbol.asyncIterator]().next()).value).toBe("secure");
      expect(await connect(url).catch((err: unknown) => err)).toBeInstanceOf(Error);
      const insecure = defer(await connect(url, { rejectUnauthorized: false }), (c) => c.terminate());
      expect(insecure.readyState).toBe(WebSocket.OPEN);
    });
  },
);

describe("bounded handshakes", () => {
  it("bytes sent while verify runs wait in the kernel, not in our queue, and reach the session in order", async () => {
    let release!: () => void;
    const verified = new Promise<void>((resolve) => (release = resolve));
    const { wss, port } = await server({ verify: () => verified.then(() => true) });
    const COUNT = 256; // 64 KiB each: 16 MiB, more than loopback's socket buffers hold
    const received: number[] = [];
    const done = new Promise<void>((resolve) =>
      wss.on("connection", (ws) => {
        ws.onmessage = (event) => {
          received.push((event.data as Uint8Array)[0]! | ((event.data as Uint8Array)[1]! << 8));
          if (received.length === COUNT) resolve();
        };
      }),
    );
    const payload = big(64 * 1024);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < COUNT; i++) {
      payload[0] = i & 0xff;
      payload[1] = i >> 8;
      frames.push(rawFrame(0x2, payload));
    }
    let unsent = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
    let offset = 0;
    for (const frame of frames) {
      unsent.set(frame, offset);
      offset += frame.length;
    }
    const send = (socket: { write(bytes: Uint8Array): number }): void => {
      unsent = unsent.subarray(Math.max(socket.write(unsent), 0));
    };
    const client = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data() {}, drain: send },
    });
    defer(client, (c) => c.terminate());
    client.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    send(client);
    await Bun.sleep(300);
    // The server stopped reading: what it did not read backs up to the client.
    expect(unsent.length).toBeGreaterThan(0);
    release();
    await done;
    expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });
});

/**
 * A transport on a fake Bun socket whose `write()` takes at most the bytes `allow()` last
 * granted (as Bun takes what the kernel accepts) and records the bytes it took.
 */
function meteredTransport() {
  const taken: number[] = [];
  let allowance = 0;
  const socket = {
    data: undefined as unknown as SocketTransport,
    write(bytes: Uint8Array | string) {
      const data = bytes as Uint8Array;
      const n = Math.min(allowance, data.length);
      for (let i = 0; i < n; i++) taken.push(data[i]!);
      allowance -= n;
      return n;
    },
    end() {},
    terminate() {},
    pause() {},
    resume() {},
    remoteAddress: "127.0.0.1",
  };
  return {
    socket,
    transport: new SocketTransport(socket),
    taken,
    allow: (bytes: number): void => {
      allowance = bytes;
    },
  };
}
