/**
 * permessage-deflate (RFC 7692) on Deno. Deno's own WebSocket client and
 * `Deno.upgradeWebSocket` do not speak it, so our client and our server test each other: every
 * parameter combination and the threshold on the wire in the shared scenarios
 * (tools/test-support/deflate-scenarios.ts); here, what is Deno's own: a decompression bomb from
 * a raw socket (1009, memory bounded as `Deno.memoryUsage()` sees it), and the native peers
 * falling back to uncompressed messages.
 */

import * as zlib from "node:zlib";
import { expect } from "expect";
import {
  type DeflateServer,
  inbox,
  ourServer,
  scenarios,
} from "../../../tools/test-support/deflate-scenarios.ts";
import type { Defer } from "../../../tools/test-support/frame-tap.ts";
import { words } from "../../../tools/test-support/payloads.ts";
import { connect, WebSocketServer, type WebSocketServerOptions } from "../src/mod.ts";
import { closeCodeOf, rawClient, test } from "./helpers.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const P = "permessage-deflate";

const LARGE_TEXT = words(200 * KiB);

runSharedScenarios("deflate", scenarios);

/** Our echo server (the shared one), cleaned up by `defer`. */
function echoServer(defer: Defer, perMessageDeflate: boolean, maxMessageSize?: number) {
  const createServer = (options: Record<string, unknown>) =>
    new WebSocketServer(options as WebSocketServerOptions) as unknown as DeflateServer;
  return ourServer({ createServer, defer }, perMessageDeflate, maxMessageSize);
}

/** `megabytes` MiB of zeros as raw DEFLATE without the final `00 00 ff ff`. */
function zeroBomb(megabytes: number): Uint8Array {
  const piece = zlib.deflateRawSync(new Uint8Array(MiB), {
    level: 9,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const out = new Uint8Array(piece.length * megabytes);
  for (let i = 0; i < megabytes; i++) out.set(piece, i * piece.length);
  return out.subarray(0, out.length - 4);
}

/** A masked (zero key) binary frame with RSV1 set, with the shortest length encoding. */
function compressedFrame(payload: Uint8Array): Uint8Array {
  const size = payload.length < 126 ? 2 : payload.length < 65536 ? 4 : 10;
  const header = new Uint8Array(size + 4);
  const view = new DataView(header.buffer);
  header[0] = 0x80 | 0x40 | 0x2;
  if (size === 2) header[1] = 0x80 | payload.length;
  else if (size === 4) {
    header[1] = 0x80 | 126;
    view.setUint16(2, payload.length);
  } else {
    header[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(payload.length));
  }
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

for (const [name, offer, megabytes] of [
  ["context takeover (streaming inflate)", P, 256],
  ["client_no_context_takeover (synchronous inflate)", `${P}; client_no_context_takeover`, 7],
] as const) {
  test(`deflate: a raw socket's ${megabytes} MiB bomb with ${name} gets 1009, memory stays bounded`, async (defer) => {
    const { port } = await echoServer(defer, true, MiB);
    const request =
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${offer}\r\n\r\n`;
    const client = await rawClient(port, "/", request);
    defer(client.conn, (c) => {
      try {
        c.close();
      } catch {
        // Already closed.
      }
    });
    expect(await client.head()).toMatch(/sec-websocket-extensions: permessage-deflate/i);
    const frame = compressedFrame(zeroBomb(megabytes));
    const before = Deno.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const now = Deno.memoryUsage();
      peak = Math.max(peak, now.external - before.external, now.rss - before.rss);
    }, 1);
    try {
      let written = 0;
      while (written < frame.length) written += await client.conn.write(frame.subarray(written));
      const frames = await client.waitFrames(1);
      expect(frames[0]?.opcode).toBe(0x8);
      expect(closeCodeOf(frames[0]!.payload)).toBe(1009);
    } finally {
      clearInterval(sampler);
    }
    // Inflating all of it would take `megabytes` MiB; the limit stops it at about 1 MiB.
    expect(peak).toBeLessThan(48 * MiB);
  });
}

test("deflate: Deno's native WebSocket (no deflate) against our compressing server", async (defer) => {
  const { port, sockets } = await echoServer(defer, true);
  const native = defer(new globalThis.WebSocket(`ws://127.0.0.1:${port}`), (s) => s.close());
  await new Promise((resolve) => (native.onopen = resolve));
  expect(native.extensions).toBe("");
  expect(sockets[0]?.extensions).toBe("");
  const next = inbox(native);
  native.send(LARGE_TEXT);
  expect(await next()).toBe(LARGE_TEXT);
});

test("deflate: our client's offer against Deno.upgradeWebSocket (declined), messages still flow", async (defer) => {
  const server = defer(
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.onmessage = (event) => socket.send(event.data);
      return response;
    }),
    (s) => s.shutdown(),
  );
  const ws = defer(await connect(`ws://127.0.0.1:${server.addr.port}`), (s) => s.terminate());
  expect(ws.extensions).toBe("");
  const next = inbox(ws);
  ws.send(LARGE_TEXT);
  expect(await next()).toBe(LARGE_TEXT);
});
