/** Helpers of the @ws/bun tests: raw TCP peers on Bun.connect; frames, events and certificates come from tools/test-support. */
import { afterEach } from "bun:test";
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

const KEY_REQUEST = (port: number, path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

export interface RawClient {
  write(bytes: Uint8Array | string): void;
  /** The HTTP response head (and everything before the first frame). */
  readonly head: Promise<string>;
  readonly frames: RawFrame[];
  waitFrames(count: number): Promise<RawFrame[]>;
  readonly ended: Promise<void>;
  pause(): void;
  resume(): void;
  close(): void;
}

/** A raw TCP client: sends `request` (default: a valid upgrade), then collects frames. */
export async function rawClient(port: number, path = "/", request?: string): Promise<RawClient> {
  let buffer = new Uint8Array(0);
  let headText: string | undefined;
  let resolveHead!: (head: string) => void;
  const head = new Promise<string>((resolve) => (resolveHead = resolve));
  let resolveEnded!: () => void;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  const frames: RawFrame[] = [];
  const waiters: (() => void)[] = [];
  // Bun's socket.write() takes what the kernel accepts; the rest is written on drain.
  let unsent = new Uint8Array(0);
  const send = (socket: { write(bytes: Uint8Array): number }): void => {
    const written = socket.write(unsent);
    unsent = unsent.subarray(Math.max(written, 0));
  };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      drain(socket) {
        if (unsent.length > 0) send(socket);
      },
      data(_socket, chunk) {
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        buffer = joined;
        if (headText === undefined) {
          const text = new TextDecoder("latin1").decode(buffer);
          const end = text.indexOf("\r\n\r\n");
          if (end === -1) return;
          headText = text.slice(0, end);
          buffer = buffer.slice(end + 4);
          resolveHead(headText);
        }
        const parsed = parseFrames(buffer);
        buffer = parsed.rest;
        frames.push(...parsed.frames);
        for (const wake of waiters.splice(0)) wake();
      },
      close() {
        if (headText === undefined) resolveHead(new TextDecoder("latin1").decode(buffer));
        resolveEnded();
      },
    },
  });
  socket.write(request ?? KEY_REQUEST(port, path));
  return {
    write(bytes) {
      const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
      const joined = new Uint8Array(unsent.length + data.length);
      joined.set(unsent);
      joined.set(data, unsent.length);
      unsent = joined;
      send(socket);
    },
    head,
    frames,
    async waitFrames(count) {
      while (frames.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames;
    },
    ended,
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close: () => socket.terminate(),
  };
}

/**
 * A `defer(value, close)` for the calling test file: `close(value)` runs after each test,
 * last-first. Call once at the top of a file (it registers that file's `afterEach`).
 */
export function cleanupAfterEach(): <T>(value: T, close: (value: T) => unknown) => T {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await (cleanups.pop() as () => unknown)();
  });
  return (value, close) => {
    cleanups.push(() => close(value));
    return value;
  };
}

/** The echo contract's server (apps/echo/src/echo.mjs) on this adapter's `WebSocketServer`. */
export function startEchoServer(
  options: Partial<WebSocketServerOptions> = {},
): Promise<EchoServer<WebSocketServer>> {
  return startEcho(WebSocketServer, options);
}
