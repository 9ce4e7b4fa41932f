/**
 * The pub/sub scenarios every adapter runs against its own server and client (one suite, three
 * runtimes, as crossws does): topics and counts, `except`, `broadcast`, sockets leaving their
 * topics when they close, permessage-deflate peers with and without context takeover, and a
 * slow subscriber that falls behind.
 */
import type { Expect } from "./expect.ts";

/** The part of an adapter's socket the scenarios use. */
export interface ScenarioSocket extends EventTarget {
  send(data: string | Uint8Array): boolean;
  close(code?: number, reason?: string): void;
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
  isSubscribed(topic: string): boolean;
  readonly topics: string[];
  readonly extensions: string;
  readonly session: { pause(): void; resume(): void; readonly closed: Promise<{ code: number }> } | undefined;
  binaryType: string;
}

/** The part of an adapter's server the scenarios use. */
export interface ScenarioServer {
  on(event: "connection", listener: (socket: ScenarioSocket, request: unknown) => void): unknown;
  once(event: "listening", listener: () => void): unknown;
  address(): unknown;
  publish(topic: string, data: string | Uint8Array, options?: { except?: unknown; binary?: boolean }): number;
  broadcast(data: string | Uint8Array, options?: { except?: unknown }): number;
  subscriberCount(topic: string): number;
  close(timeout?: number): Promise<void>;
}

/** What a runtime's test file hands the scenarios. */
export interface Adapter {
  /** The runner's `expect`. */
  readonly expect: Expect;
  createServer(options: Record<string, unknown>): ScenarioServer;
  connect(url: string, options?: Record<string, unknown>): Promise<ScenarioSocket>;
  /** Registers a cleanup, run after the scenario. */
  defer<T>(value: T, close: (value: T) => unknown): T;
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Messages of a socket, in order. */
function inbox(ws: EventTarget): { next(): Promise<unknown>; readonly all: unknown[] } {
  const all: unknown[] = [];
  const queue: unknown[] = [];
  const waiters: ((value: unknown) => void)[] = [];
  ws.addEventListener("message", (event) => {
    const data = (event as MessageEvent).data;
    all.push(data);
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(data);
    else queue.push(data);
  });
  return {
    all,
    next: () =>
      queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)),
  };
}

/**
 * A listening server whose sockets subscribe to the topic their path names (`/topic/NAME`),
 * and the server-side socket of each connection, in connection order.
 */
async function topicServer(
  adapter: Adapter,
  options: Record<string, unknown> = {},
): Promise<{ server: ScenarioServer; url: string; sockets: ScenarioSocket[] }> {
  const server = adapter.defer(adapter.createServer({ port: 0, host: "127.0.0.1", ...options }), (s) =>
    s.close(500),
  );
  const sockets: ScenarioSocket[] = [];
  server.on("connection", (socket, request) => {
    sockets.push(socket);
    const target = String(
      (request as { url?: string; target?: string }).url ?? (request as { target: string }).target,
    );
    const match = /^\/topic\/([^?]+)/.exec(target);
    if (match !== null) socket.subscribe(decodeURIComponent(match[1] as string));
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `ws://127.0.0.1:${port}`, sockets };
}

async function client(
  adapter: Adapter,
  url: string,
  options?: Record<string, unknown>,
): Promise<ScenarioSocket> {
  const ws = adapter.defer(await adapter.connect(url, options), (s) => s.close());
  ws.binaryType = "uint8array";
  return ws;
}

/** Waits until `check()` holds (bounded). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await tick(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

export const scenarios: Record<string, (adapter: Adapter) => Promise<void>> = {
  async "publish reaches a topic's subscribers in order and returns how many it reached"(adapter) {
    const { expect } = adapter;
    const { server, url, sockets } = await topicServer(adapter);
    const a = await client(adapter, `${url}/topic/room`);
    const b = await client(adapter, `${url}/topic/room`);
    const c = await client(adapter, `${url}/topic/other`);
    await until(() => sockets.length === 3, "three connections");
    const [ia, ib, ic] = [inbox(a), inbox(b), inbox(c)];
    expect(server.subscriberCount("room")).toBe(2);
    expect(sockets[0]?.topics).toStrictEqual(["room"]);
    expect(server.publish("room", "one")).toBe(2);
    expect(server.publish("room", new Uint8Array([1, 2, 3]))).toBe(2);
    expect(server.publish("room", "not to a", { except: sockets[0] })).toBe(1);
    expect(server.broadcast("everyone")).toBe(3);
    expect(await ia.next()).toBe("one");
    expect(await ia.next()).toStrictEqual(new Uint8Array([1, 2, 3]));
    expect(await ia.next()).toBe("everyone");
    expect(await ib.next()).toBe("one");
    expect(await ib.next()).toStrictEqual(new Uint8Array([1, 2, 3]));
    expect(await ib.next()).toBe("not to a");
    expect(await ib.next()).toBe("everyone");
    expect(await ic.next()).toBe("everyone");
    // A closed socket leaves its topics.
    a.close(1000);
    await until(() => server.subscriberCount("room") === 1, "the closed socket to leave");
    expect(server.publish("room", "after")).toBe(1);
    expect(await ib.next()).toBe("after");
    expect(sockets[1]?.unsubscribe("room")).toBe(true);
    expect(server.publish("room", "nobody")).toBe(0);
  },

  async "with permessage-deflate, peers with and without context takeover all get the published messages"(
    adapter,
  ) {
    const { expect } = adapter;
    const { server, url, sockets } = await topicServer(adapter, { perMessageDeflate: { threshold: 64 } });
    const shared = await client(adapter, `${url}/topic/t`, {
      perMessageDeflate: { serverNoContextTakeover: true },
    });
    const small = await client(adapter, `${url}/topic/t`, {
      perMessageDeflate: { serverNoContextTakeover: true, serverMaxWindowBits: 9 },
    });
    const takeover = await client(adapter, `${url}/topic/t`, { perMessageDeflate: true });
    const plain = await client(adapter, `${url}/topic/t`, { perMessageDeflate: false });
    await until(() => sockets.length === 4, "four connections");
    expect(shared.extensions).toMatch(/server_no_context_takeover/);
    expect(takeover.extensions).not.toMatch(/server_no_context_takeover/);
    expect(plain.extensions).toBe("");
    const boxes = [shared, small, takeover, plain].map(inbox);
    const texts = [0, 1, 2].map((i) => `message ${i}: ${"compressible words ".repeat(100 + i)}`);
    for (const text of texts) expect(server.publish("t", text)).toBe(4);
    expect(server.publish("t", "short")).toBe(4);
    const big = "large ".repeat(20_000); // over the engine's synchronous size: compressed per peer
    expect(server.publish("t", big)).toBe(4);
    expect(server.publish("t", "last")).toBe(4);
    for (const box of boxes) {
      for (const text of texts) expect(await box.next()).toBe(text);
      expect(await box.next()).toBe("short");
      expect(await box.next()).toBe(big);
      expect(await box.next()).toBe("last");
    }
  },

  async "a slow subscriber never blocks a publish: past its maxBufferedAmount it alone is closed with 1008"(
    adapter,
  ) {
    const { expect } = adapter;
    const { server, url, sockets } = await topicServer(adapter, {
      limits: { maxBufferedAmount: 1024 * 1024 },
    });
    const fast = await client(adapter, `${url}/topic/feed`);
    const slow = await client(adapter, `${url}/topic/feed`);
    await until(() => sockets.length === 2, "two connections");
    const fastBox = inbox(fast);
    const slowSocket = sockets[1] as ScenarioSocket;
    const errors: unknown[] = [];
    slowSocket.addEventListener("error", (event) =>
      errors.push((event as unknown as { error: unknown }).error),
    );
    // The slow client stops reading: the kernel buffers fill, then the server's send queue.
    slow.session?.pause();
    const message = new Uint8Array(64 * 1024).fill(7);
    let published = 0;
    let lastCount = 2;
    // Bounded: 64 KiB × 800 = 50 MiB at most, far past the kernel buffers and the 1 MiB limit.
    while (lastCount === 2 && published < 800) {
      lastCount = server.publish("feed", message);
      published++;
      if (published % 8 === 0) await tick();
    }
    expect(lastCount).toBe(1); // the slow subscriber was dropped
    await until(() => fastBox.all.length === published, "the fast subscriber to get every message");
    slow.session?.resume();
    const info = await slow.session?.closed;
    expect(info?.code).toBe(1008);
    await until(() => errors.length === 1, "the error event");
    expect((errors[0] as { code?: string }).code).toBe("BUFFER_OVERFLOW");
    await until(() => server.subscriberCount("feed") === 1, "the slow socket to leave the topic");
  },
};
