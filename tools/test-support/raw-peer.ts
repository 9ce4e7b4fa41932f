/**
 * A raw WebSocket client on `node:net` (Node, Deno and Bun all provide it, with pause/resume,
 * half-close and reset): it sends the HTTP upgrade by hand and reads the frames that come back
 * with the hand-rolled parser of `raw-frames.ts`, not @ws/codec, so that the server under test is
 * checked by an independent peer. Used by the shared scenarios (`fault-scenarios.ts`,
 * `basics-scenarios.ts`).
 */
import { connect as netConnect, type Socket } from "node:net";
import { parseFrames, type RawFrame } from "./raw-frames.ts";

/** What a raw peer reads: the frames so far, and promises for more of them and for the end. */
export interface Reading {
  readonly frames: RawFrame[];
  waitFrames(count: number): Promise<RawFrame[]>;
  /** Resolves when the socket is closed (both directions). */
  readonly ended: Promise<void>;
}

/** Collects the frames in `first` and in what `socket` receives from now on. */
export function readFrames(socket: Socket, first: Uint8Array): Reading {
  let buffer = first;
  const frames: RawFrame[] = [];
  const waiters: (() => void)[] = [];
  socket.on("data", (chunk: Uint8Array) => {
    const joined = new Uint8Array(buffer.length + chunk.length);
    joined.set(buffer);
    joined.set(chunk, buffer.length);
    const parsed = parseFrames(joined);
    buffer = parsed.rest;
    frames.push(...parsed.frames);
    for (const wake of waiters.splice(0)) wake();
  });
  const ended = socket.destroyed
    ? Promise.resolve()
    : new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    frames,
    async waitFrames(count) {
      while (frames.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames;
    },
    ended,
  };
}

/**
 * Reads an HTTP head off `socket`; resolves with it and with the bytes after it (or, if the
 * peer ends the connection first, with what came until then).
 */
export function readHead(socket: Socket): Promise<{ head: string; rest: Uint8Array }> {
  return new Promise((resolve) => {
    let bytes = new Uint8Array(0);
    const text = (): string => new TextDecoder("latin1").decode(bytes);
    const onData = (chunk: Uint8Array): void => {
      const joined = new Uint8Array(bytes.length + chunk.length);
      joined.set(bytes);
      joined.set(chunk, bytes.length);
      bytes = joined;
      const end = text().indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.off("data", onData);
      resolve({ head: text().slice(0, end), rest: bytes.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("close", () => resolve({ head: text(), rest: new Uint8Array(0) }));
  });
}

/** A valid opening handshake for `path` (RFC 6455 §4.1), with the RFC's sample key. */
export function upgradeRequest(port: number, path = "/"): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
  );
}

/** A raw client: the socket, the response head, and what it reads after the head. */
export interface RawClient extends Reading {
  readonly socket: Socket;
  /** The HTTP response head, without its final blank line. */
  readonly head: string;
}

/**
 * Connects to `port` on 127.0.0.1, sends `request` (by default a valid upgrade of `/`) and
 * resolves once the response head arrived; the socket is destroyed by `defer`'s cleanup.
 * `allowHalfOpen`: the socket never ends its side by itself (every FIN is one the caller sends);
 * without it, it answers the server's FIN with its own, as a browser does.
 */
export async function rawClient(
  defer: <T>(value: T, close: (value: T) => unknown) => T,
  port: number,
  options: { request?: string; allowHalfOpen?: boolean } = {},
): Promise<RawClient> {
  const socket = defer(
    netConnect({ host: "127.0.0.1", port, allowHalfOpen: options.allowHalfOpen ?? false }),
    (s) => s.destroy(),
  );
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  const head = readHead(socket);
  socket.write(options.request ?? upgradeRequest(port));
  const { head: text, rest } = await head;
  return { socket, head: text, ...readFrames(socket, rest) };
}
