/**
 * The observability scenarios (issue 12, "Observable") every adapter runs against its own
 * server, with real sockets: its client, and raw `node:net` peers (Node, Deno and Bun all
 * provide `node:net`) for what a client library would not send. Each scenario checks the
 * events on the runtime-neutral `observe()` hook and, for the adapter's binding, on
 * `node:diagnostics_channel` itself; and the counters of `server.stats()`.
 *
 * Also the two handshake answers that differed between the runtimes (now the same): an
 * upgrade with 300 header fields gets 431 (Node answered 101), and a request without `Host`
 * gets 400 (Deno and Bun answered 426).
 */
import * as diagnosticsChannel from "node:diagnostics_channel";
import { createConnection, type Socket } from "node:net";
import type { Expect } from "./expect.ts";

/** The part of an adapter's socket the scenarios use. */
export interface ScenarioSocket extends EventTarget {
  send(data: string | Uint8Array): void;
  readonly needsDrain: boolean;
  close(code?: number, reason?: string): void;
  readonly session: { pause(): void; resume(): void; readonly bufferedAmount: number } | undefined;
  binaryType: string;
}

/** The counters of `server.stats()`. */
export interface ScenarioStats {
  readonly connections: number;
  readonly handshakes: number;
  readonly bufferedAmount: number;
  readonly inboundBufferedAmount: number;
  readonly messagesReceived: number;
  readonly messagesSent: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly handshakesAccepted: number;
  readonly handshakesRejected: number;
}

/** The part of an adapter's server the scenarios use. */
export interface ScenarioServer {
  on(event: "connection", listener: (socket: ScenarioSocket, request: unknown) => void): unknown;
  once(event: "listening", listener: () => void): unknown;
  address(): unknown;
  stats(): ScenarioStats;
  close(timeout?: number): Promise<void>;
}

/** What a runtime's test file hands the scenarios. */
export interface Adapter {
  /** The runner's `expect`. */
  readonly expect: Expect;
  createServer(options: Record<string, unknown>): ScenarioServer;
  connect(url: string, options?: Record<string, unknown>): Promise<ScenarioSocket>;
  /** The adapter's `observe` (re-exported from `@ws/session`). */
  observe(name: string, listener: (message: never) => void): () => void;
  /** Registers a cleanup, run after the scenario. */
  defer<T>(value: T, close: (value: T) => unknown): T;
}

// biome-ignore lint/suspicious/noExplicitAny: messages are checked field by field below.
type Message = any;

const CHANNELS = [
  "ws:handshake:accepted",
  "ws:handshake:rejected",
  "ws:connection:opened",
  "ws:connection:closed",
  "ws:protocol:error",
  "ws:limit:reached",
  "ws:backpressure",
];

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` holds (bounded). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await tick(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** Every event of every channel, through `observe()`, in order. */
function recorder(adapter: Adapter): {
  readonly events: [string, Message][];
  of(name: string): Message[];
  next(name: string, match?: (message: Message) => boolean): Promise<Message>;
} {
  const events: [string, Message][] = [];
  for (const name of CHANNELS) {
    const stop = adapter.observe(name, (message: never) => events.push([name, message]));
    adapter.defer(stop, (unsubscribe) => unsubscribe());
  }
  const of = (name: string): Message[] => events.filter(([n]) => n === name).map(([, m]) => m);
  return {
    events,
    of,
    async next(name, match = () => true) {
      await until(() => of(name).some(match), name);
      return of(name).find(match);
    },
  };
}

async function listening(
  adapter: Adapter,
  options: Record<string, unknown> = {},
): Promise<{ server: ScenarioServer; port: number; url: string; sockets: ScenarioSocket[] }> {
  const server = adapter.defer(adapter.createServer({ port: 0, host: "127.0.0.1", ...options }), (s) =>
    s.close(500),
  );
  const sockets: ScenarioSocket[] = [];
  server.on("connection", (socket) => {
    socket.binaryType = "uint8array";
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  return { server, port, url: `ws://127.0.0.1:${port}`, sockets };
}

/** A raw TCP peer: what it received so far, and whether the server closed. */
interface Raw {
  readonly socket: Socket;
  text(): string;
  bytes(): Uint8Array;
  readonly ended: Promise<void>;
}

function raw(adapter: Adapter, port: number, send?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    adapter.defer(socket, (s) => s.destroy());
    const chunks: Uint8Array[] = [];
    let ended: () => void = () => {};
    const endedPromise = new Promise<void>((r) => {
      ended = r;
    });
    socket.on("data", (chunk: Uint8Array) => chunks.push(new Uint8Array(chunk)));
    socket.on("close", () => ended());
    socket.on("error", () => ended());
    socket.once("connect", () => {
      if (send !== undefined) socket.write(send);
      const bytes = (): Uint8Array => {
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let offset = 0;
        for (const chunk of chunks) {
          all.set(chunk, offset);
          offset += chunk.length;
        }
        return all;
      };
      resolve({
        socket,
        bytes,
        text: () => new TextDecoder("latin1").decode(bytes()),
        ended: endedPromise,
      });
    });
    socket.once("error", reject);
  });
}

/** The status of the response a raw request got. */
async function statusOf(peer: Raw): Promise<number> {
  await until(() => /^HTTP\/1\.1 \d{3} /.test(peer.text()), "a response");
  return Number(peer.text().slice(9, 12));
}

const UPGRADE = (port: number, extra = ""): string =>
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

export const scenarios: Record<string, (adapter: Adapter) => Promise<void>> = {
  async "an accepted connection: handshake, opened, messages and bytes counted, closed by the client"(
    adapter,
  ) {
    const { expect } = adapter;
    const seen = recorder(adapter);
    // The adapter binds the channels to node:diagnostics_channel: a subscriber there sees them too.
    const direct: Message[] = [];
    const onDirect = (message: unknown): void => {
      direct.push(message);
    };
    diagnosticsChannel.subscribe("ws:connection:opened", onDirect);
    adapter.defer(onDirect, (fn) => diagnosticsChannel.unsubscribe("ws:connection:opened", fn));
    const { server, url, sockets } = await listening(adapter, { protocols: ["chat"] });
    const before = server.stats();
    expect(before).toStrictEqual({
      connections: 0,
      handshakes: 0,
      bufferedAmount: 0,
      inboundBufferedAmount: 0,
      messagesReceived: 0,
      messagesSent: 0,
      bytesReceived: 0,
      bytesSent: 0,
      handshakesAccepted: 0,
      handshakesRejected: 0,
    });
    const client = adapter.defer(await adapter.connect(`${url}/room?x=1`, { protocols: ["chat"] }), (s) =>
      s.close(),
    );
    client.binaryType = "uint8array";
    await until(() => sockets.length === 1, "the connection");
    const socket = sockets[0] as ScenarioSocket;
    socket.addEventListener("message", (event) => socket.send((event as MessageEvent).data));
    const echoed = new Promise((resolve) =>
      client.addEventListener("message", (event) => resolve((event as MessageEvent).data), { once: true }),
    );
    client.send("hello");
    expect(await echoed).toBe("hello");

    const accepted = await seen.next("ws:handshake:accepted");
    expect(accepted.socket).toBe(socket);
    expect(accepted.url).toBe(`${url}/room?x=1`);
    expect(accepted.protocol).toBe("chat");
    expect(accepted.remoteAddress?.endsWith("127.0.0.1")).toBe(true);
    expect(accepted.duration >= 0 && accepted.duration < 10_000).toBe(true); // duration in [0, 10 s)
    expect(accepted.request !== undefined).toBe(true); // the request is handed along
    const opened = await seen.next("ws:connection:opened");
    expect(opened.socket).toBe(socket);
    expect(opened.protocol).toBe("chat");
    expect(direct).toStrictEqual([opened]);

    const stats = server.stats();
    expect(stats.connections).toBe(1);
    expect(stats.handshakes).toBe(0);
    expect(stats.handshakesAccepted).toBe(1);
    expect(stats.messagesReceived).toBe(1);
    expect(stats.messagesSent).toBe(1);
    // "hello": a masked client frame is 2 + 4 + 5 bytes, the server's unmasked echo 2 + 5.
    expect(stats.bytesReceived).toBe(11);
    expect(stats.bytesSent).toBe(7);
    expect(stats.bufferedAmount).toBe(0);
    expect(stats.inboundBufferedAmount).toBe(0);

    client.close(1000, "bye");
    const closed = await seen.next("ws:connection:closed");
    expect(closed.socket).toBe(socket);
    expect(closed.code).toBe(1000);
    expect(closed.reason).toBe("bye");
    expect(closed.wasClean).toBe(true);
    expect(closed.closedBy).toBe("client");
    expect(closed.error).toBe(undefined);
    expect(closed.duration).toBeGreaterThanOrEqual(0);
    const after = server.stats();
    expect(after.connections).toBe(0);
    // The close frames: the client's 2 + 4 + 5 bytes, our reply 2 + 2.
    expect(after.bytesReceived).toBe(11 + 11);
    expect(after.bytesSent).toBe(7 + 4);
    expect(seen.of("ws:protocol:error")).toStrictEqual([]);
    expect(seen.of("ws:handshake:rejected")).toStrictEqual([]);
  },

  async "rejected handshakes carry their status, a stable code and the limit that decided"(adapter) {
    const { expect } = adapter;
    const seen = recorder(adapter);
    const { server, port, url } = await listening(adapter, {
      verify: (info: { url: URL }) => info.url.pathname !== "/private",
      maxConnections: 1,
    });

    // 300 header fields: 431 on every runtime (Node's HTTP server allows 2000, the shared
    // accept path applies limits.maxHeaderCount as the head parser does on Deno and Bun).
    const fields = Array.from({ length: 300 }, (_, i) => `X-Field-${i}: ${i}\r\n`).join("");
    const crowded = await raw(adapter, port, UPGRADE(port, fields));
    expect(await statusOf(crowded)).toBe(431);
    const tooMany = await seen.next("ws:handshake:rejected", (m) => m.status === 431);
    expect(tooMany.code).toBe("TOO_MANY_HEADERS");
    expect(tooMany.reason).toMatch(/maxHeaderCount \(100\)/);
    const headerLimit = await seen.next("ws:limit:reached", (m) => m.limit === "maxHeaderCount");
    expect(headerLimit.value).toBe(100);
    expect(headerLimit.socket).toBe(undefined);

    // An upgrade without Host: 400 (RFC 6455 §4.2.1, RFC 9112 §3.2).
    const hostless = await raw(adapter, port, UPGRADE(port).replace(`Host: 127.0.0.1:${port}\r\n`, ""));
    expect(await statusOf(hostless)).toBe(400);
    const noHost = await seen.next("ws:handshake:rejected", (m) => m.code === "MISSING_HOST");
    expect(noHost.status).toBe(400);
    expect(noHost.target).toBe("/");
    // A plain request without Host: 400 too, not 426 (it was 426 on Deno and Bun).
    const plain = await raw(adapter, port, "GET / HTTP/1.1\r\n\r\n");
    expect(await statusOf(plain)).toBe(400);
    expect(seen.of("ws:handshake:rejected").filter((m) => m.code === "MISSING_HOST").length).toBe(2);
    // A plain request with Host: 426.
    const notUpgrade = await raw(adapter, port, `GET /page HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    expect(await statusOf(notUpgrade)).toBe(426);
    const upgradeRequired = await seen.next("ws:handshake:rejected", (m) => m.code === "UPGRADE_REQUIRED");
    expect(upgradeRequired.status).toBe(426);
    expect(upgradeRequired.target).toBe("/page");
    // Bytes that are not HTTP (a TLS hello): 400 at once.
    const garbage = await raw(adapter, port, "\x16\x03\x01\x02\x00 garbage\r\n\r\n");
    expect(await statusOf(garbage)).toBe(400);
    const malformed = await seen.next("ws:handshake:rejected", (m) => m.code === "MALFORMED_HEAD");
    expect(malformed.status).toBe(400);
    expect(malformed.reason).toMatch(/^Cannot parse HTTP request head: /);
    // A head over maxHeadSize (16 KiB): 431 (node:http is given the same limit on Node).
    const huge = await raw(adapter, port, UPGRADE(port, `X-Big: ${"a".repeat(20_000)}\r\n`));
    expect(await statusOf(huge)).toBe(431);
    const tooLarge = await seen.next("ws:handshake:rejected", (m) => m.code === "HEAD_TOO_LARGE");
    expect(tooLarge.reason).toMatch(/maxHeadSize \(16384 bytes\)/);
    const headLimit = await seen.next("ws:limit:reached", (m) => m.limit === "maxHeadSize");
    expect(headLimit.value).toBe(16384);

    // verify says no: 403.
    const forbidden = await raw(adapter, port, UPGRADE(port).replace("GET / ", "GET /private "));
    expect(await statusOf(forbidden)).toBe(403);
    const refused = await seen.next("ws:handshake:rejected", (m) => m.status === 403);
    expect(refused.code).toBe("VERIFY_REJECTED");
    expect(refused.target).toBe("/private");

    // maxConnections: 1, a second connection gets 503.
    const first = adapter.defer(await adapter.connect(url), (s) => s.close());
    const second = await raw(adapter, port, UPGRADE(port));
    expect(await statusOf(second)).toBe(503);
    const full = await seen.next("ws:handshake:rejected", (m) => m.status === 503);
    expect(full.code).toBe("TOO_MANY_CONNECTIONS");
    const connectionLimit = await seen.next("ws:limit:reached", (m) => m.limit === "maxConnections");
    expect(connectionLimit.value).toBe(1);
    first.close();
    await until(() => server.stats().connections === 0, "the first connection to close");
    const stats = server.stats();
    expect(stats.handshakesAccepted).toBe(1);
    expect(stats.handshakesRejected).toBe(8);
  },

  async "a stalled handshake counts as in progress, then times out"(adapter) {
    const { expect } = adapter;
    const seen = recorder(adapter);
    const { server, port } = await listening(adapter, { handshakeTimeout: 300 });
    const stalled = await raw(adapter, port, "GET / HTTP/1.1\r\nHost: x\r\n");
    await until(() => server.stats().handshakes === 1, "the handshake to be in progress");
    await stalled.ended;
    const timedOut = await seen.next("ws:handshake:rejected", (m) => m.code === "HANDSHAKE_TIMEOUT");
    expect(timedOut.status).toBe(0);
    expect(timedOut.duration).toBeGreaterThanOrEqual(250);
    const limit = await seen.next("ws:limit:reached", (m) => m.limit === "handshakeTimeout");
    expect(limit.value).toBe(300);
    expect(server.stats().handshakes).toBe(0);
  },

  async "protocol failures: the close code, the stable error code, and the limit"(adapter) {
    const { expect } = adapter;
    const seen = recorder(adapter);
    const { port, url } = await listening(adapter, { limits: { maxMessageSize: 10 } });

    // An unmasked frame from a client (RFC 6455 §5.1): 1002, MISSING_MASK.
    const peer = await raw(adapter, port, UPGRADE(port));
    await until(() => peer.text().includes("\r\n\r\n"), "the 101");
    peer.socket.write(new Uint8Array([0x81, 0x02, 0x68, 0x69]));
    const failure = await seen.next("ws:protocol:error");
    expect(failure.closeCode).toBe(1002);
    expect(failure.code).toBe("MISSING_MASK");
    expect(typeof failure.message).toBe("string");
    const failed = await seen.next("ws:connection:closed", (m) => m.socket === failure.socket);
    expect(failed.closedBy).toBe("server");
    expect(failed.error).toBe("MISSING_MASK");
    expect(failed.code).toBe(1006);

    // A message over maxMessageSize: 1009, MESSAGE_TOO_BIG, limit maxMessageSize.
    const client = adapter.defer(await adapter.connect(url), (s) => s.close());
    const clientClosed = new Promise<number>((resolve) =>
      client.addEventListener("close", (event) => resolve((event as CloseEvent).code), { once: true }),
    );
    client.send("twenty bytes of text");
    expect(await clientClosed).toBe(1009);
    const tooBig = await seen.next("ws:protocol:error", (m) => m.code === "MESSAGE_TOO_BIG");
    expect(tooBig.closeCode).toBe(1009);
    const limit = await seen.next("ws:limit:reached", (m) => m.limit === "maxMessageSize");
    expect(limit.value).toBe(10);
    expect(limit.socket).toBe(tooBig.socket);
  },

  async "backpressure in both directions is published when engaged and released"(adapter) {
    const { expect } = adapter;
    const seen = recorder(adapter);
    const { server, url, sockets } = await listening(adapter, {
      limits: { maxBufferedAmount: 256 * 1024 * 1024 },
    });
    const client = adapter.defer(await adapter.connect(url), (s) => s.close());
    client.binaryType = "uint8array";
    await until(() => sockets.length === 1, "the connection");
    const socket = sockets[0] as ScenarioSocket;
    let received = 0;
    client.addEventListener("message", (event) => {
      received += ((event as MessageEvent).data as Uint8Array).length;
    });

    // Send: the client stops reading; the server writes until its socket is full.
    client.session?.pause();
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    for (let i = 0; i < 128 && !socket.needsDrain; i++) {
      socket.send(chunk);
      sent += chunk.length;
    }
    const engaged = await seen.next("ws:backpressure", (m) => m.direction === "send" && m.engaged);
    expect(engaged.socket).toBe(socket);
    expect(engaged.bufferedAmount).toBeGreaterThan(0);
    expect(server.stats().bufferedAmount).toBeGreaterThan(0); // while the client does not read
    client.session?.resume();
    const released = await seen.next("ws:backpressure", (m) => m.direction === "send" && !m.engaged);
    expect(released.socket).toBe(socket);
    await until(() => received === sent, "every byte sent");
    expect(server.stats().bufferedAmount).toBe(0);

    // Receive: the server's socket pauses reading (and goes on).
    socket.session?.pause();
    await seen.next("ws:backpressure", (m) => m.direction === "receive" && m.engaged);
    socket.session?.resume();
    const resumed = await seen.next("ws:backpressure", (m) => m.direction === "receive" && !m.engaged);
    expect(resumed.socket).toBe(socket);
  },

  async "a message that would inflate past the memory budget names memoryBudget, not maxMessageSize"(
    adapter,
  ) {
    const { expect } = adapter;
    const seen = recorder(adapter);
    const budget = 4 * 1024 * 1024;
    const { url } = await listening(adapter, { memoryBudget: budget, perMessageDeflate: true });
    const client = adapter.defer(await adapter.connect(url, { perMessageDeflate: true }), (s) => s.close());
    // (The client's own close code is the budget's business: its scenarios check the 1009.)
    client.send("b".repeat(8 * 1024 * 1024)); // a few KiB compressed, 8 MiB inflated
    const limit = await seen.next("ws:limit:reached");
    expect(limit.limit).toBe("memoryBudget");
    expect(limit.value).toBe(budget);
    const closed = await seen.next("ws:connection:closed");
    expect(closed.socket).toBe(limit.socket);
    expect(closed.closedBy).toBe("server");
    // Refused (1009), on every runtime: while inflating when it is read in one piece, or when
    // reading it stopped in the middle (Deno reads a fresh connection in small pieces).
    expect(closed.error).toBe("MESSAGE_TOO_BIG");
    expect(seen.of("ws:limit:reached").filter((m) => m.limit === "maxMessageSize").length).toBe(0);
  },

  async "an idle connection closed by the server names the limit"(adapter) {
    const { expect } = adapter;
    const seen = recorder(adapter);
    const { url } = await listening(adapter, { idleTimeout: 150 });
    const client = adapter.defer(await adapter.connect(url), (s) => s.close());
    const code = await new Promise<number>((resolve) =>
      client.addEventListener("close", (event) => resolve((event as CloseEvent).code), { once: true }),
    );
    expect(code).toBe(1001);
    const limit = await seen.next("ws:limit:reached", (m) => m.limit === "idleTimeout");
    expect(limit.value).toBe(150);
    const closed = await seen.next("ws:connection:closed");
    expect(closed.closedBy).toBe("server");
    expect(closed.code).toBe(1001);
    expect(closed.wasClean).toBe(true);
  },
};
