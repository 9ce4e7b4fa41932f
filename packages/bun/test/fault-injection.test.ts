/**
 * Fault injection with real sockets on loopback (Bun): a raw TCP peer (node:net, for its
 * half-close) that sends a FIN right after its close frame or in the middle of a message, a
 * server that closes and ends at once, and a peer that stops reading. The right close code, the
 * close reply before the FIN, and a server that goes on serving; the same cases as @ws/node's
 * fault-injection suite.
 */
import { describe, expect, it } from "bun:test";
import { type AddressInfo, createServer, connect as netConnect, type Socket } from "node:net";
import { computeAcceptKey } from "@ws/codec/handshake";
import {
  type CloseEvent,
  connect,
  type WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import {
  cleanupAfterEach,
  closePayload,
  nextEvent,
  parseFrames,
  type RawFrame,
  rawFrame,
} from "./helpers.ts";

const defer = cleanupAfterEach();

async function echoServer(options: Partial<WebSocketServerOptions> = {}) {
  const wss = defer(
    new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      closeTimeout: 300,
      ...options,
    } as WebSocketServerOptions),
    (s) => s.close(100),
  );
  const accepted: WebSocket[] = [];
  const waiting: ((ws: WebSocket) => void)[] = [];
  wss.on("connection", (ws: WebSocket) => {
    ws.addEventListener("message", (event) => ws.send((event as MessageEvent).data));
    const waiter = waiting.shift();
    if (waiter === undefined) accepted.push(ws);
    else waiter(ws);
  });
  await new Promise((resolve) => wss.once("listening", () => resolve(undefined)));
  const next = (): Promise<WebSocket> => {
    const ws = accepted.shift();
    return ws !== undefined ? Promise.resolve(ws) : new Promise((resolve) => waiting.push(resolve));
  };
  return { port: wss.address()!.port, next };
}

function closed(ws: WebSocket): Promise<[number, boolean]> {
  return nextEvent<CloseEvent>(ws, "close").then((e) => [e.code, e.wasClean]);
}

/** Collects frames from `socket` (after `skipHead` strips an HTTP head, when asked). */
function frameReader(socket: Socket, skipHead: boolean) {
  let buffer = new Uint8Array(0);
  let headDone = !skipHead;
  const frames: RawFrame[] = [];
  let resolveHead!: () => void;
  const head = new Promise<void>((resolve) => (resolveHead = resolve));
  if (headDone) resolveHead();
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("data", (chunk: Uint8Array) => {
    const joined = new Uint8Array(buffer.length + chunk.length);
    joined.set(buffer);
    joined.set(chunk, buffer.length);
    buffer = joined;
    if (!headDone) {
      const end = new TextDecoder("latin1").decode(buffer).indexOf("\r\n\r\n");
      if (end === -1) return;
      buffer = buffer.slice(end + 4);
      headDone = true;
      resolveHead();
    }
    const parsed = parseFrames(buffer);
    buffer = parsed.rest;
    frames.push(...parsed.frames);
  });
  socket.on("error", () => {});
  return { frames, head, ended };
}

async function rawClient(port: number) {
  const socket = defer(netConnect({ host: "127.0.0.1", port, allowHalfOpen: true }), (s) => s.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  const reader = frameReader(socket, true);
  socket.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await reader.head;
  return { socket, ...reader };
}

async function stillEchoes(port: number): Promise<void> {
  const client = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
  const echoed = nextEvent<MessageEvent>(client, "message");
  client.send("still there?");
  expect((await echoed).data).toBe("still there?");
  client.close();
  await nextEvent(client, "close");
}

describe("fault injection, real sockets (server side)", () => {
  it("a close frame and a FIN at once get the close reply, then the server's FIN", async () => {
    const { port, next } = await echoServer();
    const raw = await rawClient(port);
    const ws = await next();
    const done = closed(ws);
    raw.socket.end(rawFrame(0x8, closePayload(4000, "bye")));
    expect(await done).toEqual([4000, true]);
    await raw.ended;
    expect(raw.frames.map((f) => f.opcode)).toEqual([0x8]);
  });

  it("a FIN in the middle of a message is 1006; the server ends its side and goes on", async () => {
    const { port, next } = await echoServer();
    const raw = await rawClient(port);
    const ws = await next();
    const done = closed(ws);
    raw.socket.end(rawFrame(0x1, new TextEncoder().encode("part"), { fin: false }));
    expect(await done).toEqual([1006, false]);
    await raw.ended;
    await stillEchoes(port);
  });

  it("a peer that stops reading is closed by the send limit and the close timeout", async () => {
    const { port, next } = await echoServer({ limits: { maxBufferedAmount: 1024 * 1024 } });
    const raw = await rawClient(port);
    raw.socket.pause();
    const ws = await next();
    const done = closed(ws);
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 1000 && ws.readyState === ws.OPEN; i++) {
      ws.send(chunk);
      if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await done).toEqual([1006, false]);
    await stillEchoes(port);
  });
});

/** A raw server: completes the handshake, then `onOpen(socket)`; collects the frames it gets. */
async function rawPeerServer(onOpen: (socket: Socket) => void) {
  let reader: ReturnType<typeof frameReader> | undefined;
  let resolveReader!: (r: ReturnType<typeof frameReader>) => void;
  const ready = new Promise<ReturnType<typeof frameReader>>((resolve) => (resolveReader = resolve));
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    defer(socket, (s) => s.destroy());
    socket.on("error", () => {});
    let head = "";
    const onHead = (chunk: Buffer): void => {
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onHead);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
      reader = frameReader(socket, false);
      resolveReader(reader);
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${computeAcceptKey(key)}\r\n\r\n`,
      );
      onOpen(socket);
    };
    socket.on("data", onHead);
  });
  defer(server, (s) => new Promise((resolve) => s.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, ready };
}

describe("fault injection, real sockets (client side)", () => {
  it("the server's close frame and FIN at once: the client replies, cleanly", async () => {
    const payload = closePayload(1001, "going");
    const peer = await rawPeerServer((socket) =>
      socket.end(new Uint8Array([0x88, payload.length, ...payload])),
    );
    const client = defer(await connect(`ws://127.0.0.1:${peer.port}`), (c) => c.terminate());
    expect(await closed(client)).toEqual([1001, true]);
    const reader = await peer.ready;
    await reader.ended;
    expect(reader.frames.map((f) => f.opcode)).toEqual([0x8]);
  });

  it("the server's FIN without a close frame is 1006", async () => {
    const peer = await rawPeerServer((socket) => socket.end());
    const client = defer(await connect(`ws://127.0.0.1:${peer.port}`), (c) => c.terminate());
    expect(await closed(client)).toEqual([1006, false]);
  });
});
