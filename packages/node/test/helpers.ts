/** Shared helpers of the @ws/node tests: loopback servers on free ports, cleanup, events. */
import { createServer, type RequestListener, type Server } from "node:http";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from "node:net";
import { computeAcceptKey } from "@ws/codec/handshake";
import { WebSocketServer as WsServer } from "ws";
import { type EchoServer, startEchoServer as startEcho } from "../../../apps/echo/src/echo.mjs";
import { WebSocketServer, type WebSocketServerOptions } from "../src/index.ts";

const cleanups: (() => unknown)[] = [];

/** Registers something to close after the test (run by `cleanup()` in afterEach). */
export function defer<T>(value: T, close: (value: T) => unknown): T {
  cleanups.push(() => close(value));
  return value;
}

/** Runs and forgets the registered cleanups (last first). */
export async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    const close = cleanups.pop() as () => unknown;
    try {
      await close();
    } catch {
      // Already closed.
    }
  }
}

/** An HTTP server listening on 127.0.0.1 on a free port. */
export async function httpServer(handler?: RequestListener): Promise<{ server: Server; port: number }> {
  const server = handler === undefined ? createServer() : createServer(handler);
  defer(server, (s) => {
    s.closeAllConnections();
    return new Promise((resolve) => s.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A `ws` echo server on a free port (the reference peer). */
export async function wsEchoServer(options: ConstructorParameters<typeof WsServer>[0] = {}): Promise<{
  server: WsServer;
  url: string;
}> {
  const server = new WsServer({ host: "127.0.0.1", port: 0, ...options });
  defer(server, (s) => {
    for (const client of s.clients) client.terminate();
    return new Promise((resolve) => s.close(resolve));
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  server.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Resolves with the first event of `type`. */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) =>
    target.addEventListener(type, (event) => resolve(event as E), { once: true }),
  );
}

/** Resolves after `ms` milliseconds (for waiting on the peer, never for asserting timings). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A frame as a raw test peer sees it. */
export interface RawFrame {
  readonly fin: boolean;
  /** The RSV bits as in the first header byte (RSV1 = 0x40: compressed, RFC 7692). */
  readonly rsv: number;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** Parses unmasked or masked frames out of `buffer`; returns the frames and the unused rest. */
export function parseFrames(buffer: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    const b0 = buffer[offset] as number;
    const b1 = buffer[offset + 1] as number;
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (buffer.length - offset < 4) break;
      length = buffer.readUInt16BE(offset + 2);
      header = 4;
    } else if (length === 127) {
      if (buffer.length - offset < 10) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      header = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskOffset = offset + header;
    if (masked) header += 4;
    if (buffer.length - offset < header + length) break;
    const payload = Buffer.from(buffer.subarray(offset + header, offset + header + length));
    if (masked)
      for (let i = 0; i < payload.length; i++)
        payload[i] = (payload[i] as number) ^ (buffer[maskOffset + (i & 3)] as number);
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, payload });
    offset += header + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/** Encodes one frame (masked with a zero key when `mask`, as a client must send). */
export function rawFrame(
  opcode: number,
  payload: Uint8Array = new Uint8Array(0),
  options: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Buffer {
  const mask = options.mask ?? true;
  const fin = options.fin ?? true;
  const length = payload.length;
  const header: number[] = [(fin ? 0x80 : 0) | (options.rsv ?? 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65536) header.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    header.push(maskBit | 127, 0, 0, 0, 0);
    header.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  if (mask) header.push(0, 0, 0, 0);
  return Buffer.concat([Buffer.from(header), payload]);
}

/** A close payload: code and reason. */
export function closePayload(code: number, reason = ""): Buffer {
  const out = Buffer.alloc(2 + Buffer.byteLength(reason));
  out.writeUInt16BE(code, 0);
  out.write(reason, 2);
  return out;
}

/** A raw TCP WebSocket client: completes the handshake by hand, then exposes the frames it gets. */
export async function rawClient(
  port: number,
  path = "/",
  extraHeaders = "",
): Promise<{
  socket: Socket;
  /** The 101 response head. */
  head: string;
  frames: RawFrame[];
  ended: Promise<void>;
  waitFrames(count: number): Promise<RawFrame[]>;
}> {
  const socket = defer(netConnect({ host: "127.0.0.1", port }), (s) => s.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
  );
  let buffer = Buffer.alloc(0);
  let headDone = false;
  let responseHead = "";
  const frames: RawFrame[] = [];
  const waiters: (() => void)[] = [];
  const opened = new Promise<void>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!headDone) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString("latin1");
        if (!head.startsWith("HTTP/1.1 101")) reject(new Error(head));
        headDone = true;
        responseHead = head;
        buffer = buffer.subarray(end + 4);
        resolve();
      }
      const parsed = parseFrames(buffer);
      buffer = Buffer.from(parsed.rest);
      frames.push(...parsed.frames);
      for (const wake of waiters.splice(0)) wake();
    });
  });
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await opened;
  const waitFrames = async (count: number): Promise<RawFrame[]> => {
    while (frames.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return frames;
  };
  return { socket, head: responseHead, frames, ended, waitFrames };
}

/**
 * A raw TCP WebSocket server: accepts one handshake by hand (no subprotocol), then calls
 * `onOpen` with the socket; it never answers anything by itself (a silent peer).
 */
export async function rawServer(
  onOpen: (socket: Socket) => void = () => {},
): Promise<{ server: NetServer; port: number }> {
  const server = createNetServer((socket) => {
    defer(socket, (s) => s.destroy());
    let buffer = "";
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString("latin1");
      const end = buffer.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(buffer)?.[1] ?? "";
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${computeAcceptKey(key)}\r\n\r\n`,
      );
      socket.on("data", () => {}); // read and ignore everything
      onOpen(socket);
    };
    socket.on("data", onData);
    socket.on("error", () => {});
  });
  defer(server, (s) => new Promise((resolve) => s.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** The echo contract's server (apps/echo/src/echo.mjs) on this adapter's `WebSocketServer`. */
export function startEchoServer(
  options: Partial<WebSocketServerOptions> = {},
): Promise<EchoServer<WebSocketServer>> {
  return startEcho(WebSocketServer, options);
}
