/**
 * The basics of an adapter's `WebSocketServer` and client, one suite for Node, Deno and Bun (as
 * `fault-scenarios.ts`): echo through our client and through the runtime's native
 * `globalThis.WebSocket` client, the close handshake in each order (RFC 6455 §7.1.2–§7.1.5),
 * the close codes a peer sees for a limit or a protocol error (§7.4.1: 1009, 1007, 1002), send
 * and receive backpressure, ping (§5.5.2), handshake rejections (§4.2.2), graceful shutdown
 * (1001), bounded handshakes, and the WebIDL shape. Raw peers are `node:net` connections
 * (`raw-peer.ts`), which all three runtimes provide.
 *
 * Each group is one record of scenarios; each runtime's suite runs every group
 * (packages/bun/test/bun.test.ts, packages/deno/test/deno_test.ts, packages/node/test/
 * basics.test.ts) and keeps in its own files only what differs on that runtime (its native
 * server, its transport's write paths, TLS, the options it cannot honour; on Node, `ws` as the
 * peer and node:http attachment). Node 20 has no `globalThis.WebSocket`: it skips the
 * `nativeClientScenarios`, which Node 24 (`test:node24`) runs.
 */
import { connect as netConnect } from "node:net";
import type { Expect } from "./expect.ts";
import { big } from "./payloads.ts";
import { closeCodeOf, rawFrame } from "./raw-frames.ts";
import { rawClient } from "./raw-peer.ts";

/** The close event the scenarios read (the adapter's own, or the native client's). */
interface Closed extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/** The part of an adapter's socket (client or server side) the scenarios use. */
export interface BasicsSocket extends EventTarget, AsyncIterable<unknown> {
  readonly protocol: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly needsDrain: boolean;
  readonly session?: { readonly inboundBufferedAmount: number };
  onerror: ((event: Event) => void) | null;
  send(data: string | Uint8Array): unknown;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(data?: string): Promise<number>;
  drained(): Promise<void>;
}

/** The part of an adapter's server the scenarios use. */
export interface BasicsServer {
  on(event: "connection", listener: (socket: BasicsSocket) => void): unknown;
  once(event: "connection", listener: (socket: BasicsSocket) => void): unknown;
  once(event: "listening", listener: () => void): unknown;
  address(): { readonly port: number } | null;
  readonly clients: { readonly size: number };
  close(timeout?: number): Promise<void>;
}

/** The adapter's typed handshake rejection (status, headers and body of the refusal). */
export interface Rejection extends Error {
  readonly status: number;
  readonly body: string;
  header(name: string): string | undefined;
}

/** What a runtime's test file hands the scenarios. */
export interface Adapter {
  /** The runner's `expect`. */
  readonly expect: Expect;
  /** Registers a cleanup, run after the scenario. */
  defer<T>(value: T, close: (value: T) => unknown): T;
  createServer(options: Record<string, unknown>): BasicsServer;
  connect(url: string, options?: Record<string, unknown>): Promise<BasicsSocket>;
  /** The echo contract's server (apps/echo/src/echo.mjs) on the adapter's server. */
  startEchoServer(options?: Record<string, unknown>): Promise<{ url: string; close(): unknown }>;
  /** The adapter's WHATWG `WebSocket` class. */
  readonly WebSocket: {
    new (url: string, options?: Record<string, unknown>): BasicsSocket;
    readonly OPEN: number;
    readonly CLOSING: number;
    readonly length: number;
    readonly prototype: object;
  };
  readonly HandshakeRejectedError: abstract new (...args: never[]) => Rejection;
  /** The adapter's `WebSocketServer` class, for the option checks. */
  readonly WebSocketServer: new (
    options: never,
  ) => unknown;
}

export type Scenario = (adapter: Adapter) => Promise<void>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function nextEvent<E extends Event = Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) =>
    target.addEventListener(type, (event) => resolve(event as E), { once: true }),
  );
}

/**
 * `got` is what was sent: the same string, or a plain `Uint8Array` (not a subclass) with the
 * same bytes. The bytes are compared by a loop: the runners' deep equality is slow on megabytes
 * (Vitest's runs out of memory on 16 MiB).
 */
function expectSame(expect: Expect, got: unknown, sent: string | Uint8Array): void {
  if (typeof sent === "string") {
    expect(got).toBe(sent);
    return;
  }
  expect(got instanceof Uint8Array ? Object.getPrototypeOf(got) : got).toBe(Uint8Array.prototype);
  expect((got as Uint8Array).length).toBe(sent.length);
  let same = true;
  for (let i = 0; i < sent.length && same; i++) same = (got as Uint8Array)[i] === sent[i];
  expect(same).toBe(true);
}

/** A server of the adapter on a free port, closed after the scenario. */
async function server(
  adapter: Adapter,
  options: Record<string, unknown> = {},
): Promise<{ wss: BasicsServer; url: string; port: number }> {
  const wss = adapter.defer(adapter.createServer({ port: 0, host: "127.0.0.1", ...options }), (s) =>
    s.close(100),
  );
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  const port = (wss.address() as { port: number }).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** The echo contract's server, closed after the scenario; resolves with its URL. */
async function echo(adapter: Adapter): Promise<string> {
  return adapter.defer(await adapter.startEchoServer(), (s) => s.close()).url;
}

/** Our client, connected to our server; resolves with both ends. */
async function pair(adapter: Adapter): Promise<{ client: BasicsSocket; serverSide: BasicsSocket }> {
  const { wss, url } = await server(adapter);
  const accepted = new Promise<BasicsSocket>((resolve) => wss.once("connection", resolve));
  const client = adapter.defer(await adapter.connect(url), (c) => c.terminate());
  return { client, serverSide: await accepted };
}

/** Resolves with the rejection `connecting` fails with (or with what it resolved with). */
function failure(connecting: Promise<unknown>): Promise<unknown> {
  return connecting.then(
    (ws) => ws,
    (error: unknown) => error,
  );
}

/** A raw TCP peer: sends `bytes`, then reads what the server answers until it ends the connection. */
async function probe(adapter: Adapter, port: number, bytes: string): Promise<{ closed: Promise<string> }> {
  const socket = adapter.defer(netConnect({ host: "127.0.0.1", port }), (s) => s.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(bytes, "latin1");
  let text = "";
  socket.on("data", (chunk: Uint8Array) => {
    text += new TextDecoder("latin1").decode(chunk);
  });
  socket.on("error", () => {});
  // Our half-close after a rejection: the peer closes too, as a browser or `ws` does.
  socket.on("end", () => socket.end());
  return { closed: new Promise((resolve) => socket.once("close", () => resolve(text))) };
}

const HALF_HEAD = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";

export const echoScenarios: Record<string, Scenario> = {
  async "our client against our server: text, binary, empty, 1 MiB and 16 MiB; close code echoed"(adapter) {
    const { expect } = adapter;
    const ws = adapter.defer(
      await adapter.connect(await echo(adapter), { protocols: ["superchat", "chat"] }),
      (c) => c.terminate(),
    );
    expect(ws.protocol).toBe("superchat");
    const messages = ws[Symbol.asyncIterator]();
    for (const data of [
      "hello",
      "",
      "é ✓ 😀",
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      big(1 << 20),
      big(16 << 20),
    ]) {
      ws.send(data);
      expectSame(expect, (await messages.next()).value, data);
    }
    const closed = nextEvent<Closed>(ws, "close");
    ws.close(4001, "bye");
    const event = await closed;
    expect([event.code, event.reason, event.wasClean]).toStrictEqual([4001, "bye", true]);
  },

  async "the runtime's native WebSocket client against our server (text, binary, close code)"(adapter) {
    const { expect } = adapter;
    const native = new globalThis.WebSocket(await echo(adapter), ["chat"]);
    adapter.defer(native, (n) => n.close());
    native.binaryType = "arraybuffer";
    await nextEvent(native, "open");
    expect(native.protocol).toBe("chat");
    native.send("native");
    expect((await nextEvent<MessageEvent>(native, "message")).data).toBe("native");
    native.send(big(70_000));
    expectSame(expect, new Uint8Array((await nextEvent<MessageEvent>(native, "message")).data), big(70_000));
    const closed = nextEvent<Closed>(native, "close");
    native.close(4000, "done");
    const event = await closed;
    expect([event.code, event.reason]).toStrictEqual([4000, "done"]);
  },
};

/** The close event's fields, to compare as one value. */
function closed(ws: EventTarget): Promise<{ code: number; reason: string; wasClean: boolean }> {
  return nextEvent<Closed>(ws, "close").then(({ code, reason, wasClean }) => ({ code, reason, wasClean }));
}

export const closeScenarios: Record<string, Scenario> = {
  async "client first: the server sees the code and reason, the client the echoed code; both clean"(adapter) {
    const { expect } = adapter;
    const { client, serverSide } = await pair(adapter);
    const [c, s] = [closed(client), closed(serverSide)];
    client.close(1000, "client bye");
    expect(client.readyState).toBe(adapter.WebSocket.CLOSING);
    expect(await s).toStrictEqual({ code: 1000, reason: "client bye", wasClean: true });
    // The server's reply carries the code only (§5.5.1: the reason is optional).
    expect(await c).toStrictEqual({ code: 1000, reason: "", wasClean: true });
  },

  async "server first: the client sees the code and reason"(adapter) {
    const { expect } = adapter;
    const { client, serverSide } = await pair(adapter);
    const [c, s] = [closed(client), closed(serverSide)];
    serverSide.close(4000, "server bye");
    expect(await c).toStrictEqual({ code: 4000, reason: "server bye", wasClean: true });
    expect(await s).toStrictEqual({ code: 4000, reason: "", wasClean: true });
  },

  async "both at once: each sees the other's code"(adapter) {
    const { expect } = adapter;
    const { client, serverSide } = await pair(adapter);
    const [c, s] = [closed(client), closed(serverSide)];
    client.close(3001, "c");
    serverSide.close(3002, "s");
    expect(await c).toStrictEqual({ code: 3002, reason: "s", wasClean: true });
    expect(await s).toStrictEqual({ code: 3001, reason: "c", wasClean: true });
  },

  async "no code: 1005 on both sides; terminate(): 1006"(adapter) {
    const { expect } = adapter;
    const { client, serverSide } = await pair(adapter);
    const events = Promise.all([closed(client), closed(serverSide)]);
    client.close();
    expect((await events).map((e) => e.code)).toStrictEqual([1005, 1005]);
    // terminate(): no close frame, at once (§7.1.1 "_Close the WebSocket Connection_").
    const second = await pair(adapter);
    const [c, s] = [closed(second.client), closed(second.serverSide)];
    second.client.terminate();
    expect(await c).toStrictEqual({ code: 1006, reason: "", wasClean: false });
    expect(await s).toStrictEqual({ code: 1006, reason: "", wasClean: false });
  },
};

export const limitScenarios: Record<string, Scenario> = {
  async "1009 for a message over maxMessageSize (native client sees it)"(adapter) {
    const { url } = await server(adapter, { limits: { maxMessageSize: 1000 } });
    const native = new globalThis.WebSocket(url);
    adapter.defer(native, (n) => n.close());
    await nextEvent(native, "open");
    const closed = nextEvent<Closed>(native, "close");
    native.send("x".repeat(1001));
    adapter.expect((await closed).code).toBe(1009);
  },

  async "1007 for invalid UTF-8 and 1002 for an unmasked or reserved frame (raw peer)"(adapter) {
    const { expect } = adapter;
    const { port } = await server(adapter);
    for (const [frame, code] of [
      [rawFrame(0x1, new Uint8Array([0xc3, 0x28])), 1007], // §8.1: not UTF-8
      [rawFrame(0x1, new TextEncoder().encode("hi"), { mask: false }), 1002], // §5.1: a client masks
      [rawFrame(0x3), 1002], // §5.2: a reserved opcode
    ] as const) {
      const raw = await rawClient(adapter.defer, port);
      expect(raw.head).toMatch(/^HTTP\/1\.1 101/);
      raw.socket.write(frame);
      const [close] = await raw.waitFrames(1);
      expect(close?.opcode).toBe(0x8);
      expect(closeCodeOf(close?.payload)).toBe(code);
      await raw.ended;
    }
  },
};

export const backpressureScenarios: Record<string, Scenario> = {
  async "needsDrain is set against a slow reader, bufferedAmount grows, then drains"(adapter) {
    const { expect } = adapter;
    const { wss, port } = await server(adapter);
    const accepted = new Promise<BasicsSocket>((resolve) => wss.once("connection", resolve));
    const raw = await rawClient(adapter.defer, port);
    raw.socket.pause(); // then read nothing for a while
    const ws = await accepted;
    const chunk = big(1 << 20);
    let sent = 0;
    do ws.send(chunk);
    while (!ws.needsDrain && ++sent < 256);
    expect(sent).toBeLessThan(256); // needsDrain was set before 256 MiB
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    raw.socket.resume();
    await ws.drained();
    expect(ws.bufferedAmount).toBe(0);
    expect((await raw.waitFrames(sent + 1)).length).toBeGreaterThanOrEqual(sent + 1);
  },

  async "a slow async-iterator consumer pauses the socket: what we hold stays bounded"(adapter) {
    const { expect } = adapter;
    const { wss, url } = await server(adapter);
    wss.on("connection", async (ws) => {
      const chunk = big(64 * 1024);
      for (let i = 0; i < 400; i++) {
        ws.send(chunk); // 25 MiB in all
        if (ws.needsDrain) await ws.drained();
      }
      ws.close(1000);
    });
    const ws = adapter.defer(await adapter.connect(url, { receiveHighWaterMark: 256 * 1024 }), (c) =>
      c.terminate(),
    );
    let count = 0;
    let maxHeld = 0;
    for await (const _ of ws) {
      count++;
      if (count % 50 === 0) await sleep(20);
      maxHeld = Math.max(maxHeld, ws.session?.inboundBufferedAmount ?? Number.POSITIVE_INFINITY);
    }
    expect(count).toBe(400);
    expect(maxHeld).toBeLessThan(8 * 1024 * 1024);
  },
};

export const pingScenarios: Record<string, Scenario> = {
  async "ping() resolves with the round-trip time"(adapter) {
    const ws = adapter.defer(await adapter.connect(await echo(adapter)), (c) => c.terminate());
    const rtt = await ws.ping("x");
    adapter.expect(rtt).toBeGreaterThanOrEqual(0);
    adapter.expect(rtt).toBeLessThan(5000);
  },
};

/**
 * A server on `/ws` whose verify hook lets in only `Bearer ok` from https://good.example; both
 * handshake scenarios use it, so the second also shows that a wrong version, plain HTTP and
 * another path are answered before verify runs (it would answer 401).
 */
function guarded(adapter: Adapter): Promise<{ wss: BasicsServer; url: string; port: number }> {
  return server(adapter, {
    path: "/ws",
    verify: (info: { headers: Record<string, string | undefined>; origin?: string }) =>
      info.headers.authorization === "Bearer ok"
        ? info.origin === "https://good.example" || { status: 403 }
        : { status: 401, headers: { "WWW-Authenticate": "Bearer" }, body: "token required" },
  });
}

export const handshakeScenarios: Record<string, Scenario> = {
  async "verify false → 403, custom rejection with headers and body, typed on the client"(adapter) {
    const { expect } = adapter;
    const url = `${(await guarded(adapter)).url}/ws`;
    const e1 = (await failure(adapter.connect(url))) as Rejection;
    expect(e1).toBeInstanceOf(adapter.HandshakeRejectedError);
    expect([e1.status, e1.body, e1.header("www-authenticate")]).toStrictEqual([
      401,
      "token required",
      "Bearer",
    ]);
    const e2 = (await failure(
      adapter.connect(url, { headers: { Authorization: "Bearer ok" } }),
    )) as Rejection;
    expect(e2).toBeInstanceOf(adapter.HandshakeRejectedError);
    expect(e2.status).toBe(403);
    const ok = adapter.defer(
      await adapter.connect(url, { headers: { Authorization: "Bearer ok" }, origin: "https://good.example" }),
      (c) => c.terminate(),
    );
    expect(ok.readyState).toBe(adapter.WebSocket.OPEN);
  },

  async "426 for a wrong version and for plain HTTP; 400 for another path; error then close 1006"(adapter) {
    const { expect } = adapter;
    const { url, port } = await guarded(adapter);
    const wrong = await rawClient(adapter.defer, port, {
      request:
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    });
    expect(wrong.head).toMatch(/^HTTP\/1\.1 426/);
    expect(wrong.head).toMatch(/Sec-WebSocket-Version: 13/);
    const plain = await fetch(`http://127.0.0.1:${port}/ws`);
    await plain.body?.cancel();
    expect(plain.status).toBe(426);
    const other = (await failure(adapter.connect(`${url}/other`))) as Rejection;
    expect(other).toBeInstanceOf(adapter.HandshakeRejectedError);
    expect(other.status).toBe(400);
    const ws = new adapter.WebSocket(`${url}/other`);
    const log: string[] = [];
    ws.onerror = () => log.push("error");
    const event = await nextEvent<Closed>(ws, "close");
    expect([...log, event.code]).toStrictEqual(["error", 1006]);
  },

  async "unknown and mistyped options throw the shared schema's errors (same on Node, Deno and Bun)"(
    adapter,
  ) {
    const { expect, WebSocket, WebSocketServer } = adapter;
    const verifyClient = () => new WebSocketServer({ port: 0, verifyClient: () => false } as never);
    expect(verifyClient).toThrow(TypeError);
    expect(verifyClient).toThrow(/unknown option verifyClient \(from ws\?\): use verify/);
    expect(() => new WebSocketServer({ port: 0, limits: { maxMesageSize: 1 } } as never)).toThrow(
      /did you mean maxMessageSize/,
    );
    expect(() => new WebSocketServer({ port: 0, closeTimeout: "5s" } as never)).toThrow(TypeError);
    expect(() => new WebSocket("ws://127.0.0.1:1", { maxPayload: 8 })).toThrow(
      /limits: \{ maxMessageSize \}/,
    );
  },
};

export const shutdownScenarios: Record<string, Scenario> = {
  async "close() closes every client with 1001 and waits; then refuses connections"(adapter) {
    const { expect } = adapter;
    const { wss, url } = await server(adapter);
    const clients = await Promise.all([adapter.connect(url), adapter.connect(url), adapter.connect(url)]);
    for (const client of clients) adapter.defer(client, (c) => c.terminate());
    const events = clients.map((c) => nextEvent<Closed>(c, "close"));
    await wss.close();
    for (const e of await Promise.all(events)) expect([e.code, e.wasClean]).toStrictEqual([1001, true]);
    expect(wss.clients.size).toBe(0);
    expect(await failure(adapter.connect(url))).toBeInstanceOf(Error);
  },
};

export const boundedHandshakeScenarios: Record<string, Scenario> = {
  async "closes a half-sent head (slowloris) after handshakeTimeout, unanswered"(adapter) {
    const { port } = await server(adapter, { handshakeTimeout: 100 });
    adapter.expect(await (await probe(adapter, port, HALF_HEAD)).closed).toBe("");
  },

  async "answers bytes that are not HTTP with 400 at once"(adapter) {
    const { port } = await server(adapter);
    const garbage = await probe(adapter, port, "\u0016\u0003\u0001\u0002\u0000 not http, no line ending");
    adapter.expect(await garbage.closed).toMatch(/^HTTP\/1\.1 400 /);
  },

  async "drops the oldest stalled handshake beyond maxPendingHandshakes; 503 beyond maxConnections"(adapter) {
    const { expect } = adapter;
    const { port, url } = await server(adapter, { maxPendingHandshakes: 1, maxConnections: 1 });
    const slow = await probe(adapter, port, HALF_HEAD);
    const ws = adapter.defer(await adapter.connect(url), (c) => c.terminate());
    expect(ws.readyState).toBe(adapter.WebSocket.OPEN);
    expect(await slow.closed).toBe("");
    const full = (await failure(adapter.connect(url))) as Rejection;
    expect(full).toBeInstanceOf(adapter.HandshakeRejectedError);
    expect([full.status, full.body]).toStrictEqual([503, "Too many connections"]);
  },
};

export const webIdlScenarios: Record<string, Scenario> = {
  async "WebSocket.length is 1 (WebIDL §3.7.1), [object WebSocket] (§3.7.6)"({ expect, WebSocket }) {
    expect(WebSocket.length).toBe(1);
    expect(Object.prototype.toString.call(WebSocket.prototype)).toBe("[object WebSocket]");
  },
};

/**
 * The scenarios whose peer is the runtime's `globalThis.WebSocket`: a runtime without one (Node
 * before 22) skips them.
 */
export const nativeClientScenarios: ReadonlySet<Scenario> = new Set([
  echoScenarios["the runtime's native WebSocket client against our server (text, binary, close code)"],
  limitScenarios["1009 for a message over maxMessageSize (native client sees it)"],
] as Scenario[]);

/** Every group, by the title a runner gives it, in the order the suites run them. */
export const basicsScenarios: Record<string, Record<string, Scenario>> = {
  echo: echoScenarios,
  "close orderings": closeScenarios,
  "limits seen by the peer": limitScenarios,
  backpressure: backpressureScenarios,
  ping: pingScenarios,
  "handshake rejections": handshakeScenarios,
  "graceful shutdown": shutdownScenarios,
  "bounded handshakes": boundedHandshakeScenarios,
  "WebIDL shape": webIdlScenarios,
};
