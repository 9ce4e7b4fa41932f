/** Helpers of the @ws/node tests: loopback servers on free ports, cleanup, raw peers; frames, events and certificates come from tools/test-support. */
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
import { parseFrames, type RawFrame } from "../../../tools/test-support/raw-frames.ts";
import { WebSocketServer, type WebSocketServerOptions } from "../src/index.ts";

export { selfSigned } from "../../../tools/test-support/certificate.mjs";
export { nextEvent } from "../../../tools/test-support/events.ts";
export {
  closeCodeOf,
  closePayload,
  parseFrames,
  type RawFrame,
  rawFrame,
} from "../../../tools/test-support/raw-frames.ts";

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

/** Resolves after `ms` milliseconds (for waiting on the peer, never for asserting timings). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
