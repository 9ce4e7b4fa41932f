/**
 * permessage-deflate (RFC 7692) between our own client and our own server on real sockets, one
 * suite for the three runtimes (as `budget-scenarios.ts`): every parameter combination either
 * side can ask for (§7.1), messages small and large, binary, streamed each way; compression off
 * by default; the threshold and `compress: false` read off the wire (a TCP tap reads the RSV1
 * bit, §6); and `setDeflateConcurrency`. What each runtime's suite adds (foreign peers: `ws`,
 * Chromium, Bun's uWebSockets, Deno's native client; decompression bombs measured with the
 * runtime's memory figures) stays in its own deflate test file.
 */
import type { Expect } from "./expect.ts";
import { frameTap } from "./frame-tap.ts";
import { noise, words } from "./payloads.ts";

/** The part of an adapter's socket the scenarios use. */
export interface DeflateSocket extends EventTarget {
  send(data: string | Uint8Array, options?: { compress?: boolean }): unknown;
  sendStream(source: Iterable<string | Uint8Array>): Promise<void>;
  terminate(): void;
  readonly extensions: string;
  binaryType: string;
  onmessage: ((event: MessageEvent) => void) | null;
}

/** The part of an adapter's server the scenarios use. */
export interface DeflateServer {
  on(event: "connection", listener: (socket: DeflateSocket) => void): unknown;
  once(event: "listening", listener: () => void): unknown;
  address(): unknown;
  close(timeout?: number): Promise<void>;
}

/** What a runtime's test file hands the scenarios. */
export interface Adapter {
  /** The runner's `expect`. */
  readonly expect: Expect;
  createServer(options: Record<string, unknown>): DeflateServer;
  connect(url: string, options?: Record<string, unknown>): Promise<DeflateSocket>;
  /** Registers a cleanup, run after the scenario. */
  defer<T>(value: T, close: (value: T) => unknown): T;
  /** The adapter's `setDeflateConcurrency` export. */
  setDeflateConcurrency(limit: number): void;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const P = "permessage-deflate";

const LARGE_TEXT = words(200 * KiB);
const LARGE_BINARY = noise(100 * KiB);

/** Messages of a WebSocket (ours or a runtime's own), in order. */
export function inbox(ws: EventTarget): () => Promise<unknown> {
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

/**
 * Whether `actual` holds the bytes of `expected`. A loop, not `toStrictEqual`: Vitest's deep
 * equality walks a 100 KiB array element by element, many times slower than the round trip.
 */
function sameBytes(actual: unknown, expected: Uint8Array): boolean {
  if (!(actual instanceof Uint8Array) || actual.length !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) return false;
  return true;
}

/** Our echo server; a text "stream please" gets a streamed (fragmented) message back. */
export async function ourServer(
  adapter: Pick<Adapter, "createServer" | "defer">,
  perMessageDeflate: unknown,
  maxMessageSize: number = 64 * MiB,
): Promise<{ port: number; sockets: DeflateSocket[] }> {
  const wss = adapter.defer(
    adapter.createServer({ port: 0, host: "127.0.0.1", perMessageDeflate, limits: { maxMessageSize } }),
    (s) => s.close(100),
  );
  const sockets: DeflateSocket[] = [];
  wss.on("connection", (ws) => {
    sockets.push(ws);
    ws.binaryType = "uint8array";
    ws.onmessage = (event) => {
      const data = event.data as string | Uint8Array;
      if (data === "stream please") {
        void ws.sendStream([words(30 * KiB, 8), words(30 * KiB, 9), words(30 * KiB, 10)]);
        return;
      }
      ws.send(data);
    };
  });
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  return { port: (wss.address() as { port: number }).port, sockets };
}

/** Our client, closed after the scenario. */
async function ourClient(adapter: Adapter, url: string, options: Record<string, unknown> = {}) {
  return adapter.defer(await adapter.connect(url, { binaryType: "uint8array", ...options }), (s) =>
    s.terminate(),
  );
}

/**
 * Small, large (twice: the context carries over, §7.2.3.2), binary, streamed by us and streamed
 * by the server: all echoed.
 */
async function roundTrips({ expect }: Adapter, ws: DeflateSocket): Promise<void> {
  const next = inbox(ws);
  ws.send("hi");
  expect(await next()).toBe("hi");
  for (let i = 0; i < 2; i++) {
    ws.send(LARGE_TEXT);
    expect(await next()).toBe(LARGE_TEXT);
  }
  ws.send(LARGE_BINARY);
  expect(sameBytes(await next(), LARGE_BINARY)).toBe(true);
  await ws.sendStream([words(20 * KiB, 2), words(20 * KiB, 3), words(20 * KiB, 4)]);
  expect(await next()).toBe(words(20 * KiB, 2) + words(20 * KiB, 3) + words(20 * KiB, 4));
  ws.send("stream please");
  expect(await next()).toBe(words(30 * KiB, 8) + words(30 * KiB, 9) + words(30 * KiB, 10));
}

interface Params {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number | false;
}
const WINDOWS = [9, 10, 11, 12, 13, 14, 15];
/** What the client offers, what the server is configured with, and the extension agreed. */
const COMBINATIONS: [name: string, offer: Params | false, server: Params | true, agreed: string][] = [
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
    "the client asks for no context takeover both ways",
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    true,
    `${P}; server_no_context_takeover; client_no_context_takeover`,
  ],
  [
    "the client asks for 9-bit windows both ways",
    { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    true,
    `${P}; server_max_window_bits=9; client_max_window_bits=9`,
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
  [
    "the server limits its window to 11 bits and the client's to 12",
    {},
    { serverMaxWindowBits: 11, clientMaxWindowBits: 12 },
    `${P}; server_max_window_bits=11; client_max_window_bits=12`,
  ],
  ["the client offers nothing (perMessageDeflate: false)", false, true, ""],
];

export const scenarios: Record<string, (adapter: Adapter) => Promise<void>> = {
  ...Object.fromEntries(
    COMBINATIONS.map(([name, offer, server, agreed]) => [
      `${name}: agreed "${agreed}", messages round-trip`,
      async (adapter: Adapter) => {
        const { port, sockets } = await ourServer(adapter, server);
        const ws = await ourClient(adapter, `ws://127.0.0.1:${port}`, { perMessageDeflate: offer });
        adapter.expect(ws.extensions).toBe(agreed);
        adapter.expect(sockets[0]?.extensions).toBe(agreed);
        await roundTrips(adapter, ws);
      },
    ]),
  ),

  async "off on the server by default; perMessageDeflate: false on the client offers nothing"(adapter) {
    const { expect } = adapter;
    const plain = await ourServer(adapter, undefined);
    const a = await ourClient(adapter, `ws://127.0.0.1:${plain.port}`);
    expect(a.extensions).toBe("");
    expect(plain.sockets[0]?.extensions).toBe("");
    const compressing = await ourServer(adapter, true);
    const b = await ourClient(adapter, `ws://127.0.0.1:${compressing.port}`, { perMessageDeflate: false });
    expect(b.extensions).toBe("");
    expect(compressing.sockets[0]?.extensions).toBe("");
  },

  async "threshold and compress: false, read off the wire"(adapter) {
    const { expect } = adapter;
    const { port, sockets } = await ourServer(adapter, true);
    const tap = await frameTap(port, adapter.defer);
    const ws = await ourClient(adapter, tap.url, { perMessageDeflate: { threshold: 100 } });
    const next = inbox(ws);
    for (const [data, options] of [
      ["a".repeat(99), undefined],
      ["a".repeat(100), undefined],
      ["b".repeat(2000), { compress: false }],
    ] as const) {
      ws.send(data, options);
      expect(await next()).toBe(data);
    }
    const ours = sockets[0] as DeflateSocket;
    ours.send("c".repeat(1023));
    expect(await next()).toBe("c".repeat(1023));
    ours.send("c".repeat(1024));
    expect(await next()).toBe("c".repeat(1024));
    // Client → server: 99 (below 100), 100, 2000 with compress: false.
    expect(tap.toServer.messageStarts.map((f) => f.rsv1)).toStrictEqual([false, true, false]);
    // Server → client (default threshold 1024): the echoes of 99 and 100 bytes go plain, the
    // 2000-byte echo is compressed, then 1023 plain and 1024 compressed.
    expect(tap.toClient.messageStarts.map((f) => f.rsv1)).toStrictEqual([false, false, true, false, true]);
  },

  async "setDeflateConcurrency(1) serialises zlib work and everything still arrives"(adapter) {
    const { expect, setDeflateConcurrency } = adapter;
    expect(() => setDeflateConcurrency(0)).toThrow(RangeError);
    setDeflateConcurrency(1);
    try {
      const { port } = await ourServer(adapter, true);
      const clients = await Promise.all([0, 1, 2, 3].map(() => ourClient(adapter, `ws://127.0.0.1:${port}`)));
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
  },
};
