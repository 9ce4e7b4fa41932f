/** Helpers of the @ws/deno tests: raw TCP peers on Deno.connect; frames, events and certificates come from tools/test-support. */

import { type EchoServer, startEchoServer as startEcho } from "../../../apps/echo/src/echo.mjs";
import type { Defer } from "../../../tools/test-support/frame-tap.ts";
import { parseFrames, type RawFrame } from "../../../tools/test-support/raw-frames.ts";
import { WebSocketServer, type WebSocketServerOptions } from "../src/mod.ts";

export { selfSigned } from "../../../tools/test-support/certificate.mjs";
export { nextEvent } from "../../../tools/test-support/events.ts";
export type { Defer } from "../../../tools/test-support/frame-tap.ts";
export { big } from "../../../tools/test-support/payloads.ts";
export {
  closeCodeOf,
  closePayload,
  parseFrames,
  type RawFrame,
  rawFrame,
} from "../../../tools/test-support/raw-frames.ts";

export interface RawClient {
  readonly conn: Deno.Conn;
  /** The HTTP response head. */
  head(): Promise<string>;
  /** Reads until `count` frames arrived (or the end). */
  waitFrames(count: number): Promise<RawFrame[]>;
  /** Reads until EOF. */
  ended(): Promise<void>;
}

/** A raw TCP client that sends `request` (default: a valid upgrade of `path`). */
export async function rawClient(port: number, path = "/", request?: string): Promise<RawClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(
      request ??
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ),
  );
  let buffer = new Uint8Array(0);
  let eof = false;
  const frames: RawFrame[] = [];
  const more = async (): Promise<boolean> => {
    const chunk = new Uint8Array(65536);
    let n: number | null = null;
    try {
      n = await conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null) {
      eof = true;
      return false;
    }
    const joined = new Uint8Array(buffer.length + n);
    joined.set(buffer);
    joined.set(chunk.subarray(0, n), buffer.length);
    buffer = joined;
    return true;
  };
  let headText: string | undefined;
  const head = async (): Promise<string> => {
    while (headText === undefined) {
      const text = new TextDecoder("latin1").decode(buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        headText = text.slice(0, end);
        buffer = buffer.slice(end + 4);
        break;
      }
      if (!(await more())) return text;
    }
    return headText;
  };
  return {
    conn,
    head,
    async waitFrames(count) {
      await head();
      for (;;) {
        const parsed = parseFrames(buffer);
        buffer = parsed.rest;
        frames.push(...parsed.frames);
        if (frames.length >= count || eof) return frames;
        await more();
      }
    },
    async ended() {
      while (!eof) await more();
    },
  };
}

/** A `Deno.test` whose `fn` gets a `defer` for cleanups, run last-first afterwards. */
export function test(name: string, fn: (defer: Defer) => Promise<void>): void {
  Deno.test(name, async () => {
    const cleanups: (() => unknown)[] = [];
    try {
      await fn((value, close) => {
        cleanups.push(() => close(value));
        return value;
      });
    } finally {
      while (cleanups.length > 0) await (cleanups.pop() as () => unknown)();
    }
  });
}

/** The echo contract's server (apps/echo/src/echo.mjs) on this adapter's `WebSocketServer`. */
export function startEchoServer(
  options: Partial<WebSocketServerOptions> = {},
): Promise<EchoServer<WebSocketServer>> {
  return startEcho(WebSocketServer, options);
}
