/**
 * permessage-deflate (RFC 7692) on Bun against Bun's own implementation (uWebSockets): our
 * client × `Bun.serve({ websocket: { perMessageDeflate } })`, Bun's native `WebSocket` client ×
 * our server (a TCP tap checks that both really compress), and a decompression bomb from the
 * native client (1009). Our client × our server is in the shared scenarios
 * (tools/test-support/deflate-scenarios.ts).
 */
import { describe, expect, it } from "bun:test";
import {
  type DeflateServer,
  inbox,
  ourServer,
  scenarios,
} from "../../../tools/test-support/deflate-scenarios.ts";
import { frameTap } from "../../../tools/test-support/frame-tap.ts";
import { noise, words } from "../../../tools/test-support/payloads.ts";
import {
  connect,
  type DeflateOptions,
  type WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import { cleanupAfterEach } from "./helpers.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

const defer = cleanupAfterEach();

const KiB = 1024;
const MiB = 1024 * KiB;
const P = "permessage-deflate";

const LARGE_TEXT = words(200 * KiB);
const LARGE_BINARY = noise(100 * KiB);

function toBytes(data: unknown): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
}

/** Our echo server (the shared one) with these permessage-deflate settings. */
function ourEchoServer(perMessageDeflate: boolean | DeflateOptions, maxMessageSize?: number) {
  const createServer = (options: Record<string, unknown>) =>
    new WebSocketServer(options as WebSocketServerOptions) as unknown as DeflateServer;
  return ourServer({ createServer, defer }, perMessageDeflate, maxMessageSize);
}

/** `Bun.serve` echoing every message, with Bun's permessage-deflate settings. */
function bunServe(perMessageDeflate: unknown): number {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (request, s) =>
      s.upgrade(request) ? undefined : new Response("Upgrade Required", { status: 426 }),
    websocket: {
      perMessageDeflate: perMessageDeflate as boolean,
      maxPayloadLength: 16 * MiB,
      message: (ws, message) => {
        ws.send(message);
      },
    },
  });
  defer(server, (s) => s.stop(true));
  return server.port as number;
}

/** Small, large (twice: context takeover both ways), binary and a streamed message, echoed. */
async function roundTrips(ws: WebSocket): Promise<void> {
  const next = inbox(ws);
  ws.send("hi");
  expect(await next()).toBe("hi");
  for (let i = 0; i < 2; i++) {
    ws.send(LARGE_TEXT);
    expect(await next()).toBe(LARGE_TEXT);
  }
  ws.send(LARGE_BINARY);
  expect(toBytes(await next())).toEqual(LARGE_BINARY);
  await ws.sendStream([words(20 * KiB, 2), words(20 * KiB, 3), words(20 * KiB, 4)]);
  expect(await next()).toBe(words(20 * KiB, 2) + words(20 * KiB, 3) + words(20 * KiB, 4));
}

describe("our client × Bun.serve", () => {
  const cases: [string, unknown, Partial<DeflateOptions> | boolean, string][] = [
    // Bun's default (a shared compressor) asks for no context takeover both ways.
    ["perMessageDeflate: true", true, true, `${P}; client_no_context_takeover; server_no_context_takeover`],
    [
      "perMessageDeflate: true",
      true,
      { clientMaxWindowBits: 10 },
      `${P}; client_no_context_takeover; server_no_context_takeover`,
    ],
    [
      "perMessageDeflate: true",
      true,
      { clientMaxWindowBits: false },
      `${P}; client_no_context_takeover; server_no_context_takeover`,
    ],
    // It declines a server_max_window_bits it cannot honour: no compression, still connected.
    ["perMessageDeflate: true", true, { serverMaxWindowBits: 10 }, ""],
    ["dedicated compressors", { compress: "dedicated", decompress: "dedicated" }, true, P],
    [
      "dedicated compressors",
      { compress: "dedicated", decompress: "dedicated" },
      { serverNoContextTakeover: true },
      `${P}; server_no_context_takeover`,
    ],
    [
      "dedicated compressors",
      { compress: "dedicated", decompress: "dedicated" },
      { serverMaxWindowBits: 10 },
      `${P}; server_max_window_bits=10`,
    ],
    [
      "dedicated compressors",
      { compress: "dedicated", decompress: "dedicated" },
      { clientMaxWindowBits: 10 },
      `${P}; client_max_window_bits=10`,
    ],
    ["a 4 KB compressor", { compress: "4KB", decompress: "32KB" }, true, `${P}; server_max_window_bits=9`],
    [
      "a 4 KB compressor",
      { compress: "4KB", decompress: "32KB" },
      { clientMaxWindowBits: 9, clientNoContextTakeover: true },
      // uWS leaves out client_max_window_bits; our client keeps the 9 bits it offered (§7.1.2.2).
      `${P}; client_no_context_takeover; server_max_window_bits=9`,
    ],
  ];
  for (const [name, bunOptions, offer, agreed] of cases) {
    it(`${name}, we offer ${JSON.stringify(offer)}: agreed "${agreed}", messages round-trip`, async () => {
      const port = bunServe(bunOptions);
      const ws = defer(
        await connect(`ws://127.0.0.1:${port}`, {
          binaryType: "uint8array",
          perMessageDeflate: offer as boolean | DeflateOptions,
        }),
        (s) => s.terminate(),
      );
      expect(ws.extensions).toBe(agreed);
      await roundTrips(ws);
      ws.close(1000);
    });
  }
});

describe("Bun's native WebSocket × our server", () => {
  const cases: [string, boolean | DeflateOptions, string][] = [
    ["defaults", true, P],
    [
      "no context takeover both ways",
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
      `${P}; server_no_context_takeover; client_no_context_takeover`,
    ],
    [
      "9-bit windows both ways",
      { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
      `${P}; server_max_window_bits=9; client_max_window_bits=9`,
    ],
    ["threshold 0, level 9, memLevel 4", { threshold: 0, level: 9, memLevel: 4 }, P],
  ];
  for (const [name, options, agreed] of cases) {
    it(`${name}: agreed "${agreed}", both sides compress, messages round-trip`, async () => {
      const { port, sockets } = await ourEchoServer(options);
      const tap = await frameTap(port, defer);
      const native = defer(new globalThis.WebSocket(tap.url), (s) => s.close());
      native.binaryType = "arraybuffer";
      await new Promise((resolve, reject) => {
        native.onopen = resolve;
        native.onerror = reject;
      });
      expect(native.extensions).toBe(agreed);
      expect(sockets[0]?.extensions).toBe(agreed);
      const next = inbox(native);
      native.send("hi");
      expect(await next()).toBe("hi");
      for (let i = 0; i < 2; i++) {
        native.send(LARGE_TEXT);
        expect(await next()).toBe(LARGE_TEXT);
      }
      native.send(LARGE_BINARY);
      expect(toBytes(await next())).toEqual(LARGE_BINARY);
      // The large text went compressed both ways (Bun's client and our server).
      const up = tap.toServer.messageStarts[1];
      const down = tap.toClient.messageStarts[1];
      expect(up?.rsv1).toBe(true);
      expect(down?.rsv1).toBe(true);
      expect(up?.length).toBeLessThan(LARGE_TEXT.length / 2);
      expect(down?.length).toBeLessThan(LARGE_TEXT.length / 2);
      // "hi" stays below our default 1024-byte threshold.
      expect(tap.toClient.messageStarts[0]?.rsv1).toBe(
        options === true ? false : (options as DeflateOptions).threshold === 0,
      );
    });
  }

  it("a decompression bomb (64 MiB of zeros) from the native client gets 1009", async () => {
    const { port } = await ourEchoServer(true, MiB);
    const native = defer(new globalThis.WebSocket(`ws://127.0.0.1:${port}`), (s) => s.close());
    await new Promise((resolve) => {
      native.onopen = resolve;
    });
    expect(native.extensions).toBe(P);
    const closed = new Promise<number>((resolve) => {
      native.onclose = (event) => resolve(event.code);
    });
    native.send(new Uint8Array(64 * MiB));
    expect(await closed).toBe(1009);
  });
});

runSharedScenarios("our client × our server on Bun", scenarios, 60_000);
