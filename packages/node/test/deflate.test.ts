// permessage-deflate (RFC 7692) over loopback against real peers that speak it: our server ×
// the `ws` client and our client × the `ws` server with each parameter combination, the
// threshold seen on the wire (a TCP tap reads the RSV1 bit of every frame), decompression
// bombs from a `ws` client and a raw socket (1009 with bounded memory), and Chromium against
// our server (skipped where /usr/bin/chromium is missing); our client × our server is in the
// scenarios shared with Deno and Bun (tools/test-support/deflate-scenarios.ts).
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { type PerMessageDeflateOptions, WebSocket as WsClient, WebSocketServer as WsServer } from "ws";
import { chromiumMissing, launchChromium } from "../../../tools/test-support/chromium.mjs";
import { inbox, scenarios } from "../../../tools/test-support/deflate-scenarios.ts";
import { frameTap } from "../../../tools/test-support/frame-tap.ts";
import { noise, words } from "../../../tools/test-support/payloads.ts";
import {
  type CloseEvent,
  connect,
  type DeflateOptions,
  type WebSocket,
  WebSocketServer,
} from "../src/index.ts";
import {
  cleanup,
  closeCodeOf,
  closePayload,
  defer,
  nextEvent,
  rawClient,
  rawFrame,
  startEchoServer,
} from "./helpers.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

afterEach(cleanup);

const KiB = 1024;
const MiB = 1024 * KiB;
const RSV1 = 0x40;

// ─── Payloads ─────────────────────────────────────────────────────────────────────────────

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.length),
      Buffer.from(b.buffer, b.byteOffset, b.length),
    ) === 0
  );
}

/**
 * `copies` MiB of zeros as a raw DEFLATE stream without the final `00 00 ff ff`: one MiB
 * deflated with a sync flush is about 1 KiB, and such pieces concatenate.
 */
function zeroBomb(copies: number): Buffer {
  const piece = zlib.deflateRawSync(Buffer.alloc(MiB), {
    level: 9,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const all = Buffer.concat(Array.from({ length: copies }, () => piece));
  return all.subarray(0, all.length - 4);
}

// The TCP tap that reads every frame header is tools/test-support/frame-tap.ts.

// ─── Peers ──────────────────────────────────────────────────────────────────────────────────

/** Our server on a free port, echoing every message; `push` sends it a streamed message. */
async function ourEchoServer(perMessageDeflate: boolean | DeflateOptions, maxMessageSize = 64 * MiB) {
  const server = defer(
    new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate, limits: { maxMessageSize } }),
    (s) => s.close(0),
  );
  const sockets: WebSocket[] = [];
  server.on("connection", (ws) => {
    sockets.push(ws);
    ws.binaryType = "uint8array";
    ws.onmessage = (event) => {
      const data = (event as MessageEvent).data as string | Uint8Array;
      if (data === "stream please") {
        void ws.sendStream([words(40 * KiB, 3), words(40 * KiB, 4), words(40 * KiB, 5)]);
        return;
      }
      ws.send(data);
    };
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, port, url: `ws://127.0.0.1:${port}`, sockets };
}

/** A `ws` echo server with these permessage-deflate options. */
async function wsDeflateServer(perMessageDeflate: PerMessageDeflateOptions | boolean) {
  const server = new WsServer({ host: "127.0.0.1", port: 0, perMessageDeflate });
  defer(server, (s) => {
    for (const client of s.clients) client.terminate();
    return new Promise((resolve) => s.close(resolve));
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  server.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "stream please") {
        // A fragmented compressed message from ws.
        socket.send(words(30 * KiB, 8), { fin: false });
        socket.send(words(30 * KiB, 9), { fin: false });
        socket.send(words(30 * KiB, 10), { fin: true });
        return;
      }
      socket.send(data, { binary: isBinary });
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Opens a `ws` client (offering deflate with `options`), resolves once open. */
async function wsClient(
  url: string,
  perMessageDeflate: PerMessageDeflateOptions | boolean,
): Promise<WsClient> {
  const ws = defer(new WsClient(url, { perMessageDeflate }), (s) => s.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return ws;
}

/** Messages from a `ws` client, in order. */
function wsInbox(ws: WsClient): () => Promise<Buffer | string> {
  const queue: (Buffer | string)[] = [];
  const waiters: ((value: Buffer | string) => void)[] = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    const value = isBinary ? data : data.toString();
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(value);
    else queue.push(value);
  });
  return () => {
    const next = queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => waiters.push(resolve));
  };
}

/** The `ws` socket's agreed permessage-deflate parameters (ws internals). */
function wsParams(ws: WsClient): Record<string, unknown> {
  const extensions = (ws as unknown as { _extensions: Record<string, { params: Record<string, unknown> }> })
    ._extensions;
  return { ...extensions["permessage-deflate"]?.params };
}

// ─── The parameter combinations ─────────────────────────────────────────────────────────────

/** Our option names and the `ws` option names are the same. */
type Params = Pick<
  DeflateOptions,
  "serverNoContextTakeover" | "clientNoContextTakeover" | "serverMaxWindowBits" | "clientMaxWindowBits"
>;

interface Combination {
  readonly name: string;
  /** What the client offers. */
  readonly offer: Params;
  /** The server's own settings (default: accept what the client asks for). */
  readonly server?: Params;
  /** The agreed `Sec-WebSocket-Extensions` value. */
  readonly agreed: string;
  /** The same parameters in the order a `ws` server writes them, when it differs. */
  readonly agreedByWs?: string;
}

const P = "permessage-deflate";
const WINDOWS = [9, 10, 11, 12, 13, 14, 15];
const COMBINATIONS: Combination[] = [
  { name: "defaults (client_max_window_bits offered bare)", offer: {}, agreed: P },
  { name: "client_max_window_bits absent", offer: { clientMaxWindowBits: false }, agreed: P },
  {
    name: "server_no_context_takeover",
    offer: { serverNoContextTakeover: true },
    agreed: `${P}; server_no_context_takeover`,
  },
  {
    name: "client_no_context_takeover",
    offer: { clientNoContextTakeover: true },
    agreed: `${P}; client_no_context_takeover`,
  },
  {
    name: "both no_context_takeover",
    offer: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    agreed: `${P}; server_no_context_takeover; client_no_context_takeover`,
  },
  ...WINDOWS.map((bits) => ({
    name: `server_max_window_bits=${bits}`,
    offer: { serverMaxWindowBits: bits },
    agreed: `${P}; server_max_window_bits=${bits}`,
  })),
  ...WINDOWS.map((bits) => ({
    name: `client_max_window_bits=${bits}`,
    offer: { clientMaxWindowBits: bits },
    agreed: `${P}; client_max_window_bits=${bits}`,
  })),
  {
    name: "all four parameters",
    offer: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11,
    },
    agreed: `${P}; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11`,
  },
  {
    name: "the server asks for no context takeover both ways",
    offer: {},
    server: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    agreed: `${P}; server_no_context_takeover; client_no_context_takeover`,
  },
  {
    name: "the server limits both windows to 9 bits",
    offer: {},
    server: { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    agreed: `${P}; server_max_window_bits=9; client_max_window_bits=9`,
    agreedByWs: `${P}; client_max_window_bits=9; server_max_window_bits=9`,
  },
];

/** The agreed parameters as `ws` keeps them. */
function wsParamsOf(agreed: string): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const part of agreed.split("; ").slice(1)) {
    const [name, value] = part.split("=") as [string, string | undefined];
    params[name] = value === undefined ? true : Number(value);
  }
  return params;
}

const LARGE_TEXT = words(300 * KiB);
const LARGE_BINARY = noise(200 * KiB);

describe("our server × the ws client", () => {
  for (const combination of COMBINATIONS) {
    it(`agrees on ${combination.name} and round-trips small, large and fragmented messages`, async () => {
      const { url, sockets } = await ourEchoServer(combination.server ?? true);
      const ws = await wsClient(url, { ...combination.offer, threshold: 0 } as PerMessageDeflateOptions);
      const next = wsInbox(ws);
      await new Promise((resolve) => setImmediate(resolve));
      expect(sockets[0]?.extensions).toBe(combination.agreed);
      expect(wsParams(ws)).toEqual(wsParamsOf(combination.agreed));
      // Small text, then large text twice (a compressor that kept its window when it promised
      // not to would refer back into the first copy, which the ws inflater no longer has).
      ws.send("hi");
      expect(await next()).toBe("hi");
      for (let i = 0; i < 2; i++) {
        ws.send(LARGE_TEXT);
        expect(await next()).toBe(LARGE_TEXT);
      }
      ws.send(LARGE_BINARY);
      expect(sameBytes((await next()) as Buffer, LARGE_BINARY)).toBe(true);
      // Fragmented by ws (compressed across three frames).
      ws.send(words(20 * KiB, 2), { fin: false });
      ws.send(words(20 * KiB, 3), { fin: false });
      ws.send(words(20 * KiB, 4), { fin: true });
      expect(await next()).toBe(words(20 * KiB, 2) + words(20 * KiB, 3) + words(20 * KiB, 4));
      // Fragmented by us (a streamed message).
      ws.send("stream please");
      expect(await next()).toBe(words(40 * KiB, 3) + words(40 * KiB, 4) + words(40 * KiB, 5));
      ws.close(1000);
      await new Promise((resolve) => ws.once("close", resolve));
    });
  }

  it("accepts no offer when perMessageDeflate is off (the default)", async () => {
    const { url, sockets } = await ourEchoServer(false);
    const ws = await wsClient(url, true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sockets[0]?.extensions).toBe("");
    expect(ws.extensions).toBe("");
  });
});

describe("our client × the ws server", () => {
  for (const combination of COMBINATIONS) {
    it(`agrees on ${combination.name} and round-trips small, large and fragmented messages`, async () => {
      const { port } = await wsDeflateServer({
        ...combination.server,
        threshold: 0,
      } as PerMessageDeflateOptions);
      const ws = defer(
        await connect(`ws://127.0.0.1:${port}`, {
          binaryType: "uint8array",
          perMessageDeflate: combination.offer,
        }),
        (s) => s.terminate(),
      );
      expect(ws.extensions).toBe(combination.agreedByWs ?? combination.agreed);
      const next = inbox(ws);
      ws.send("hi");
      expect(await next()).toBe("hi");
      for (let i = 0; i < 2; i++) {
        ws.send(LARGE_TEXT);
        expect(await next()).toBe(LARGE_TEXT);
      }
      ws.send(LARGE_BINARY);
      expect(sameBytes((await next()) as Uint8Array, LARGE_BINARY)).toBe(true);
      // Fragmented by us.
      await ws.sendStream([words(20 * KiB, 2), words(20 * KiB, 3), words(20 * KiB, 4)]);
      expect(await next()).toBe(words(20 * KiB, 2) + words(20 * KiB, 3) + words(20 * KiB, 4));
      // Fragmented by ws.
      ws.send("stream please");
      expect(await next()).toBe(words(30 * KiB, 8) + words(30 * KiB, 9) + words(30 * KiB, 10));
      ws.close(1000);
      const closed = await nextEvent<CloseEvent>(ws, "close");
      expect(closed.wasClean).toBe(true);
    });
  }

  it("offers permessage-deflate; client_max_window_bits by default, nothing with perMessageDeflate: false", async () => {
    const offers: (string | undefined)[] = [];
    const { server, port } = await wsDeflateServer(true);
    server.on("headers", (_headers, request) => offers.push(request.headers["sec-websocket-extensions"]));
    const a = defer(await connect(`ws://127.0.0.1:${port}`), (s) => s.terminate());
    const b = defer(await connect(`ws://127.0.0.1:${port}`, { perMessageDeflate: false }), (s) =>
      s.terminate(),
    );
    expect(offers).toEqual(["permessage-deflate; client_max_window_bits", undefined]);
    expect(a.extensions).toBe("permessage-deflate");
    expect(b.extensions).toBe("");
  });

  it("falls back to a later offer when the server declines the first", async () => {
    // ws declines offers without client_max_window_bits when it wants to limit the client's window.
    const { port } = await wsDeflateServer({ clientMaxWindowBits: 10 });
    const ws = defer(
      await connect(`ws://127.0.0.1:${port}`, {
        perMessageDeflate: { offers: [{ serverMaxWindowBits: 12, clientMaxWindowBits: false }, {}] },
      }),
      (s) => s.terminate(),
    );
    expect(ws.extensions).toBe(`${P}; client_max_window_bits=10`);
    const next = inbox(ws);
    ws.send(LARGE_TEXT);
    expect(await next()).toBe(LARGE_TEXT);
  });
});

describe("the threshold, on the wire", () => {
  it("our server compresses messages from 1024 bytes on (RSV1), not smaller ones nor compress: false", async () => {
    const { port, sockets } = await ourEchoServer(true);
    const tap = await frameTap(port, defer);
    const ws = await wsClient(tap.url, { threshold: 100 * KiB });
    const next = wsInbox(ws);
    await new Promise((resolve) => setImmediate(resolve));
    const ours = sockets[0] as WebSocket;
    ours.send("x".repeat(1023));
    expect(await next()).toBe("x".repeat(1023));
    ours.send("x".repeat(1024));
    expect(await next()).toBe("x".repeat(1024));
    ours.send("y".repeat(4096), { compress: false });
    expect(await next()).toBe("y".repeat(4096));
    ours.send(new Uint8Array(10));
    expect(sameBytes((await next()) as Buffer, new Uint8Array(10))).toBe(true);
    expect(tap.toClient.messageStarts.map((f) => [f.rsv1, f.length])).toEqual([
      [false, 1023],
      [true, expect.any(Number)],
      [false, 4096],
      [false, 10],
    ]);
    // 1024 × "x" compress to a few bytes.
    expect(tap.toClient.messageStarts[1]?.length).toBeLessThan(100);
  });

  it("our client honours its threshold option and compress: false", async () => {
    const { port } = await wsDeflateServer(true);
    const tap = await frameTap(port, defer);
    const ws = defer(
      await connect(tap.url, { binaryType: "uint8array", perMessageDeflate: { threshold: 16 } }),
      (s) => s.terminate(),
    );
    const next = inbox(ws);
    ws.send("a".repeat(15));
    expect(await next()).toBe("a".repeat(15));
    ws.send("a".repeat(16));
    expect(await next()).toBe("a".repeat(16));
    ws.send("b".repeat(5000), { compress: false });
    expect(await next()).toBe("b".repeat(5000));
    expect(tap.toServer.messageStarts.map((f) => f.rsv1)).toEqual([false, true, false]);
  });
});

describe("decompression bombs", () => {
  it("a ws client's 64 MiB of zeros (64 KiB compressed) gets 1009 from a server limited to 1 MiB", async () => {
    const { url } = await ourEchoServer(true, MiB);
    const ws = await wsClient(url, true);
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(Buffer.alloc(64 * MiB));
    expect(await closed).toBe(1009);
  });

  for (const [name, offer, megabytes] of [
    ["context takeover (streaming inflate)", "permessage-deflate", 512],
    ["client_no_context_takeover (synchronous inflate)", "permessage-deflate; client_no_context_takeover", 7],
  ] as const) {
    it(`a raw socket's ${megabytes} MiB bomb with ${name} gets 1009, and memory stays bounded`, async () => {
      const { port } = await ourEchoServer(true, MiB);
      const client = await rawClient(port, "/", `Sec-WebSocket-Extensions: ${offer}\r\n`);
      expect(client.head).toMatch(/sec-websocket-extensions: permessage-deflate/i);
      const bomb = zeroBomb(megabytes);
      const before = process.memoryUsage();
      let peak = 0;
      const sampler = setInterval(() => {
        const now = process.memoryUsage();
        peak = Math.max(peak, now.arrayBuffers + now.external - before.arrayBuffers - before.external);
      }, 1);
      try {
        client.socket.write(rawFrame(0x2, bomb, { rsv: RSV1 }));
        const frames = await client.waitFrames(1);
        expect(frames[0]?.opcode).toBe(0x8);
        expect(closeCodeOf(frames[0]?.payload)).toBe(1009);
        client.socket.write(rawFrame(0x8, closePayload(1009)));
        await client.ended;
      } finally {
        clearInterval(sampler);
      }
      // Inflating all of it would have taken `megabytes` MiB; the limit stops it at about 1 MiB.
      expect(peak).toBeLessThan(24 * MiB);
    });
  }
});

// Our client × our server (every parameter combination, the threshold on the wire, and
// setDeflateConcurrency): the scenarios shared with Deno and Bun.
runSharedScenarios("our client × our server", scenarios, 60_000);

describe.skipIf(chromiumMissing() !== undefined)("Chromium × our server", () => {
  it("negotiates permessage-deflate from Chromium's offer and round-trips compressible text", async () => {
    const { port, sockets } = await ourEchoServer(true);
    const tap = await frameTap(port, defer);
    const browser = defer(await launchChromium(), (b) => b.close());
    const page = await browser.newPage();
    const text = words(64 * KiB, 42);
    const result = await page.evaluate(
      async ({ url, text }) => {
        // The browser's own WebSocket (a bare `WebSocket` would name this module's import).
        const ws = new globalThis.WebSocket(url);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        const echoed = new Promise<string>((resolve) => {
          ws.onmessage = (event) => resolve(event.data as string);
        });
        ws.send(text);
        const data = await echoed;
        const extensions = ws.extensions;
        ws.close(1000);
        return { extensions, same: data === text, length: data.length };
      },
      { url: tap.url, text },
    );
    expect(result).toEqual({ extensions: "permessage-deflate", same: true, length: text.length });
    expect(sockets[0]?.extensions).toBe("permessage-deflate");
    // Both sides compressed the text: far fewer bytes than 64 KiB crossed the wire each way.
    const up = tap.toServer.messageStarts[0];
    const down = tap.toClient.messageStarts[0];
    expect(up?.rsv1).toBe(true);
    expect(down?.rsv1).toBe(true);
    expect(up?.length).toBeLessThan(text.length / 2);
    expect(down?.length).toBeLessThan(text.length / 2);
  });
});

describe("an echo server with compression, when a client vanishes mid-stream", () => {
  it("survives messages still being inflated after the socket was destroyed", async () => {
    const echo = defer(await startEchoServer({ perMessageDeflate: true }), (e) => e.close());
    for (let round = 0; round < 5; round++) {
      const client = new WsClient(echo.url, { perMessageDeflate: true });
      await new Promise((resolve, reject) => {
        client.once("open", resolve);
        client.once("error", reject);
      });
      const text = JSON.stringify({ round, filler: "compressible ".repeat(400) });
      for (let i = 0; i < 200; i++) client.send(text);
      // Leave without a close handshake while the server is inflating and echoing.
      await new Promise((resolve) => setTimeout(resolve, 5));
      client.terminate();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The server is still serving.
    const probe = await connect(echo.url);
    defer(probe, (ws) => ws.terminate());
    probe.send("still here");
    const event = await nextEvent<MessageEvent>(probe, "message");
    expect(event.data).toBe("still here");
  }, 30_000);
});
