/**
 * permessage-deflate (RFC 7692) on Deno. Deno's own WebSocket client and
 * `Deno.upgradeWebSocket` do not speak it, so our client and our server test each other: every
 * parameter combination, the threshold on the wire (a TCP tap reads the RSV1 bits), a
 * decompression bomb from a raw socket (1009, bounded memory), and the native peers falling
 * back to uncompressed messages.
 */

import * as zlib from "node:zlib";
import { expect } from "expect";
import { type Defer, frameTap } from "../../../tools/test-support/frame-tap.ts";
import { noise, words } from "../../../tools/test-support/payloads.ts";
import {
  connect,
  type DeflateOptions,
  setDeflateConcurrency,
  type WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/mod.ts";
import { closeCodeOf, rawClient, test } from "./helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const P = "permessage-deflate";

const LARGE_TEXT = words(200 * KiB);
const LARGE_BINARY = noise(100 * KiB);

/** Messages of a WebSocket, in order. */
function inbox(ws: EventTarget): () => Promise<unknown> {
  const queue: unknown[] = [];
  const waiters: ((value: unknown) => void)[] = [];
  ws.addEventListener("message", (event) => {
    const data = (event as MessageEvent).data;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(data);
    else queue.push(data);
  });
  return () =>
    queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve));
}

/** Our echo server; a text "stream please" gets a streamed (fragmented) message back. */
async function ourServer(
  defer: Defer,
  perMessageDeflate: boolean | DeflateOptions,
  maxMessageSize = 64 * MiB,
) {
  const wss = defer(
    new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      perMessageDeflate,
      limits: { maxMessageSize },
    } as WebSocketServerOptions),
    (s) => s.close(100),
  );
  const sockets: WebSocket[] = [];
  wss.on("connection", (ws) => {
    sockets.push(ws);
    ws.binaryType = "uint8array";
    ws.onmessage = (event) => {
      const data = (event as MessageEvent).data as string | Uint8Array;
      if (data === "stream please") {
        void ws.sendStream([words(30 * KiB, 8), words(30 * KiB, 9), words(30 * KiB, 10)]);
        return;
      }
      ws.send(data);
    };
  });
  await new Promise((resolve) => wss.once("listening", () => resolve(undefined)));
  return { port: wss.address()!.port, sockets };
}

/** Small, large (twice), binary, streamed by us and streamed by the server: all echoed. */
async function roundTrips(ws: WebSocket): Promise<void> {
  const next = inbox(ws);
  ws.send("hi");
  expect(await next()).toBe("hi");
  for (let i = 0; i < 2; i++) {
    ws.send(LARGE_TEXT);
    expect(await next()).toBe(LARGE_TEXT);
  }
  ws.send(LARGE_BINARY);
  expect(await next()).toStrictEqual(LARGE_BINARY);
  await ws.sendStream([words(20 * KiB, 2), words(20 * KiB, 3), words(20 * KiB, 4)]);
  expect(await next()).toBe(words(20 * KiB, 2) + words(20 * KiB, 3) + words(20 * KiB, 4));
  ws.send("stream please");
  expect(await next()).toBe(words(30 * KiB, 8) + words(30 * KiB, 9) + words(30 * KiB, 10));
}

type Params = Pick<
  DeflateOptions,
  "serverNoContextTakeover" | "clientNoContextTakeover" | "serverMaxWindowBits" | "clientMaxWindowBits"
>;
const WINDOWS = [9, 10, 11, 12, 13, 14, 15];
const COMBINATIONS: [name: string, offer: Params, server: Params | true, agreed: string][] = [
  ["defaults (client_max_window_bits offered bare)", {}, true, P],
  ["client_max_window_bits absent", { clientMaxWindowBits: false }, true, P],
  ["server_no_context_takeover", { serverNoContextTakeover: true }, true, `${P}; server_no_context_takeover`],
  ["client_no_context_takeover", { clientNoContextTakeover: true }, true, `${P}; client_no_context_takeover`],
  ...WINDOWS.map((bits): [string, Params, true, string] => [
    `server_max_window_bits=${bits}`,
    { serverMaxWindowBits: bits },
    true,
    `${P}; server_max_window_bits=${bits}`,
  ]),
  ...WINDOWS.map((bits): [string, Params, true, string] => [
    `client_max_window_bits=${bits}`,
    { clientMaxWindowBits: bits },
    true,
    `${P}; client_max_window_bits=${bits}`,
  ]),
  [
    "all four parameters",
    {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11,
    },
    true,
    `${P}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11`,
  ],
  [
    "the server asks for no context takeover both ways",
    {},
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    `${P}; server_no_context_takeover; client_no_context_takeover`,
  ],
  [
    "the server limits both windows to 9 bits",
    {},
    { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    `${P}; server_max_window_bits=9; client_max_window_bits=9`,
  ],
];

for (const [name, offer, serverOptions, agreed] of COMBINATIONS) {
  test(`deflate: ${name}: agreed "${agreed}", messages round-trip`, async (defer) => {
    const { port, sockets } = await ourServer(defer, serverOptions);
    const ws = defer(
      await connect(`ws://127.0.0.1:${port}`, { binaryType: "uint8array", perMessageDeflate: offer }),
      (s) => s.terminate(),
    );
    expect(ws.extensions).toBe(agreed);
    expect(sockets[0]?.extensions).toBe(agreed);
    await roundTrips(ws);
  });
}

test("deflate: off on the server by default; perMessageDeflate: false on the client offers nothing", async (defer) => {
  const plain = await ourServer(defer, false);
  const a = defer(await connect(`ws://127.0.0.1:${plain.port}`), (s) => s.terminate());
  expect(a.extensions).toBe("");
  expect(plain.sockets[0]?.extensions).toBe("");
  const compressing = await ourServer(defer, true);
  const b = defer(await connect(`ws://127.0.0.1:${compressing.port}`, { perMessageDeflate: false }), (s) =>
    s.terminate(),
  );
  expect(b.extensions).toBe("");
  expect(compressing.sockets[0]?.extensions).toBe("");
});

test("deflate: threshold and compress: false, read off the wire", async (defer) => {
  const { port, sockets } = await ourServer(defer, true);
  const tap = await frameTap(port, defer);
  const ws = defer(
    await connect(tap.url, { binaryType: "uint8array", perMessageDeflate: { threshold: 100 } }),
    (s) => s.terminate(),
  );
  const next = inbox(ws);
  for (const [data, options] of [
    ["a".repeat(99), undefined],
    ["a".repeat(100), undefined],
    ["b".repeat(2000), { compress: false }],
  ] as const) {
    ws.send(data, options);
    expect(await next()).toBe(data);
  }
  const ours = sockets[0] as WebSocket;
  ours.send("c".repeat(1023));
  expect(await next()).toBe("c".repeat(1023));
  ours.send("c".repeat(1024));
  expect(await next()).toBe("c".repeat(1024));
  // Client → server: 99 (below 100), 100, 2000 with compress: false.
  expect(tap.toServer.messageStarts.map((f) => f.rsv1)).toStrictEqual([false, true, false]);
  // Server → client (default threshold 1024): the echoes of 99 and 100 bytes go plain, the
  // 2000-byte echo is compressed, then 1023 plain and 1024 compressed.
  expect(tap.toClient.messageStarts.map((f) => f.rsv1)).toStrictEqual([false, false, true, false, true]);
});

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
    const { port } = await ourServer(defer, true, MiB);
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
  const { port, sockets } = await ourServer(defer, true);
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

test("deflate: setDeflateConcurrency(1) serialises zlib work and everything still arrives", async (defer) => {
  expect(() => setDeflateConcurrency(0)).toThrow(RangeError);
  setDeflateConcurrency(1);
  try {
    const { port } = await ourServer(defer, true);
    const clients = await Promise.all(
      [0, 1, 2, 3].map(async () =>
        defer(await connect(`ws://127.0.0.1:${port}`, { binaryType: "uint8array" }), (s) => s.terminate()),
      ),
    );
    const echoes = await Promise.all(
      clients.map((ws, i) => {
        const next = inbox(ws);
        ws.send(words(64 * KiB, i));
        return next();
      }),
    );
    expect(echoes).toStrictEqual([0, 1, 2, 3].map((i) => words(64 * KiB, i)));
  } finally {
    setDeflateConcurrency(10);
  }
});
