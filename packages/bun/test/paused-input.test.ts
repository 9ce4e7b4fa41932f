/**
 * Bytes Bun delivers on a socket whose reading is paused for the server's memory budget: Bun
 * 1.4 reads a paused socket that has writes pending to its end when the peer resets or ends
 * it. The session holds them undecoded (counted in the budget) until reading resumes: a reset
 * drops them, an end waits behind them. Real sockets: a raw peer on `Bun.connect`.
 */
import { expect, it } from "bun:test";
import { WebSocketServer, type WebSocketServerOptions } from "../src/index.ts";
import { cleanupAfterEach, parseFrames, type RawFrame, rawFrame } from "./helpers.ts";

const defer = cleanupAfterEach();
const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An echo server with a small memory budget; counts the messages it decoded. */
async function echoServer(options: Partial<WebSocketServerOptions> = {}) {
  const server = defer(
    new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      memoryBudget: 4 * MiB,
      // The per-connection send limit is out of the way: this is about the budget's pause.
      limits: { maxBufferedAmount: 1024 * MiB },
      ...options,
    } as WebSocketServerOptions),
    (s) => s.close(100),
  );
  const side = { messages: 0, closed: [] as number[] };
  server.on("connection", (ws) => {
    ws.binaryType = "uint8array";
    ws.addEventListener("error", () => {});
    ws.addEventListener("message", (event) => {
      side.messages++;
      ws.send((event as MessageEvent).data as Uint8Array);
    });
    ws.addEventListener("close", (event) => side.closed.push((event as CloseEvent).code));
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as { port: number };
  return { port, side };
}

/**
 * A raw peer: sends the upgrade, then writes what it is given as fast as the kernel takes it;
 * reads into `received` while it reads.
 */
async function rawPeer(port: number) {
  const pending: Uint8Array[] = [];
  const received: Uint8Array[] = [];
  let upgraded!: () => void;
  const open = new Promise<void>((resolve) => (upgraded = resolve));
  let head = "";
  const flush = (socket: { write(bytes: Uint8Array): number }): void => {
    while (pending.length > 0) {
      const chunk = pending[0] as Uint8Array;
      const written = socket.write(chunk);
      if (written < chunk.length) {
        pending[0] = chunk.subarray(Math.max(written, 0));
        return;
      }
      pending.shift();
    }
  };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      binaryType: "uint8array",
      data(_socket, chunk: Uint8Array) {
        if (head.endsWith("\r\n\r\n")) {
          received.push(chunk);
          return;
        }
        const text = new TextDecoder("latin1").decode(chunk);
        const end = text.indexOf("\r\n\r\n");
        head += end === -1 ? text : text.slice(0, end + 4);
        if (end !== -1) {
          received.push(chunk.slice(end + 4));
          upgraded();
        }
      },
      drain: (s) => flush(s),
      error() {},
    },
  });
  defer(socket, (s) => s.terminate());
  socket.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await open;
  expect(head).toStartWith("HTTP/1.1 101");
  return {
    socket,
    send(frames: Uint8Array[]): void {
      pending.push(...frames);
      flush(socket);
    },
    /** The frames read so far. */
    frames(): RawFrame[] {
      const all = new Uint8Array(received.reduce((sum, chunk) => sum + chunk.length, 0));
      let at = 0;
      for (const chunk of received) {
        all.set(chunk, at);
        at += chunk.length;
      }
      return parseFrames(all).frames;
    },
  };
}

/** Binary frames of 64 KiB, each starting with its index (a 32-bit big-endian number). */
function numbered(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const payload = new Uint8Array(64 * KiB).fill(i % 251);
    new DataView(payload.buffer).setUint32(0, i);
    return rawFrame(0x2, payload);
  });
}

/** Waits until the server has decoded no message for 150 ms: it stopped reading (bounded). */
async function settled(side: { messages: number }): Promise<void> {
  let last = -1;
  let since = performance.now();
  for (let i = 0; i < 400 && performance.now() - since < 150; i++) {
    if (side.messages !== last) {
      last = side.messages;
      since = performance.now();
    }
    await sleep(10);
  }
}

/** The indexes the echoed frames start with. */
const indexes = (frames: RawFrame[]): number[] =>
  frames.map((frame) => new DataView(frame.payload.buffer, frame.payload.byteOffset).getUint32(0));

it("bytes that arrive while reading is paused for the budget are not decoded when the peer resets", async () => {
  const { port, side } = await echoServer();
  const peer = await rawPeer(port);
  peer.socket.pause(); // reads nothing: the echoes pile up, the budget stops reading from it
  peer.send(numbered(400)); // 25 MiB: more than both kernels' buffers hold
  await settled(side);
  const decoded = side.messages;
  expect(decoded).toBeGreaterThan(0);
  expect(decoded).toBeLessThan(400);
  // A reset behind unread data (the peer closes with bytes it has not read). Bun reads what
  // waited in the server's kernel buffer into the paused socket: none of it is decoded.
  peer.socket.terminate();
  for (let i = 0; i < 500 && side.closed.length === 0; i++) await sleep(10);
  expect(side.closed).toEqual([1006]);
  expect(side.messages).toBe(decoded);
}, 30_000);

/**
 * Bun may read more than `receiveHighWaterMark` (1 MiB) into a paused socket (its read loop
 * goes on after the pause; a FIN behind unread data): held up to 64 MiB here, so that nothing
 * is dropped for it.
 */
const HOLD_ALL = { receiveHighWaterMark: 64 * MiB };

it("a peer that stops reading and reads again gets every echo, in order", async () => {
  const { port, side } = await echoServer(HOLD_ALL);
  const peer = await rawPeer(port);
  peer.socket.pause();
  peer.send(numbered(200));
  await settled(side);
  expect(side.messages).toBeLessThan(200); // the budget stopped reading from it
  peer.socket.resume();
  for (let i = 0; i < 1000 && peer.frames().length < 200; i++) await sleep(10);
  expect(indexes(peer.frames())).toEqual(Array.from({ length: 200 }, (_, i) => i));
  expect(side.messages).toBe(200);
}, 30_000);

it("a peer that half-closes while reading is paused for the budget gets every echo, in order, before the end", async () => {
  const { port, side } = await echoServer(HOLD_ALL);
  const peer = await rawPeer(port);
  peer.socket.pause();
  const frames = numbered(200);
  peer.send(frames);
  await settled(side);
  expect(side.messages).toBeLessThan(200);
  // Our FIN once everything is in the kernel (`shutdown()`: SHUT_WR; Bun's `end()` closes).
  for (let i = 0; i < 1000 && peer.socket.bufferedAmount > 0; i++) await sleep(10);
  await sleep(200);
  peer.socket.shutdown();
  await sleep(100);
  peer.socket.resume();
  for (let i = 0; i < 1000 && side.closed.length === 0; i++) await sleep(10);
  expect(side.messages).toBe(200);
  expect(side.closed).toEqual([1006]); // the end came without a close frame
  for (let i = 0; i < 500 && peer.frames().length < 200; i++) await sleep(10);
  expect(indexes(peer.frames()).slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => i));
}, 30_000);
