import { HttpHeadParser, type HttpRequestHead, type HttpResponseHead } from "@ws/codec/handshake";
import { describe, expect, it } from "vitest";
import {
  type AcceptConnection,
  Admission,
  EXPIRIES_PER_TURN,
  PendingHandshakes,
  REJECTION_LINGER,
} from "./accept.ts";
import { observe } from "./diagnostics.ts";
import { memoryTransportPair } from "./memory-transport.ts";
import {
  HandshakeAccepted,
  type HandshakeOutcome,
  HandshakeRejected,
  ServerCore,
  type ServerCoreOptions,
  type UpgradeInfo,
} from "./server-core.ts";
import { Session, type SessionOptions } from "./session.ts";
import { WebSocket } from "./websocket.ts";

const ascii = new TextEncoder();

const UPGRADE =
  "GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/**
 * A connection as an adapter hands it over: the test pushes the client's bytes, reads what the
 * server wrote, and sees whether it was ended (FIN), destroyed or attached to a session.
 */
class FakeConnection implements AcceptConnection {
  readonly secure = false;
  readonly remoteAddress = "192.0.2.1";
  readonly written: Uint8Array[] = [];
  ended = false;
  destroyed = false;
  attached: { rest: Uint8Array; options: SessionOptions; session: Session } | undefined;
  readonly #chunks: (Uint8Array | null)[] = [];
  #waiter: ((chunk: Uint8Array | null) => void) | undefined;
  readonly #destroyedWaiters: (() => void)[] = [];

  respond?: (outcome: HandshakeOutcome) => void;

  /** The client sends `text` (or ends with `null`). */
  push(text: string | Uint8Array | null): void {
    const chunk = typeof text === "string" ? ascii.encode(text) : text;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) waiter(chunk);
    else this.#chunks.push(chunk);
  }

  read(): Promise<Uint8Array | null> {
    if (this.destroyed) return Promise.resolve(null);
    if (this.#chunks.length > 0) return Promise.resolve(this.#chunks.shift() as Uint8Array | null);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  write(bytes: Uint8Array): void {
    this.written.push(bytes);
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#waiter?.(null);
    this.#waiter = undefined;
    for (const resolve of this.#destroyedWaiters.splice(0)) resolve();
  }

  gone(): boolean {
    return this.destroyed;
  }

  attach(rest: Uint8Array, options: SessionOptions): Session {
    const [server] = memoryTransportPair();
    const session = new Session(server, options);
    this.attached = { rest, options, session };
    return session;
  }

  /** Resolves once destroyed. */
  whenDestroyed(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.#destroyedWaiters.push(resolve));
  }

  /** The response the server wrote, parsed. */
  response(): { head: HttpResponseHead; body: string } {
    const parser = new HttpHeadParser("response");
    let head: HttpResponseHead | undefined;
    for (const chunk of this.written) head ??= parser.push(chunk);
    if (head === undefined) throw new Error("no complete response written");
    return { head, body: new TextDecoder().decode(parser.rest) };
  }
}

function core(
  options: ServerCoreOptions<UpgradeInfo<HttpRequestHead>> = {},
): ServerCore<HttpRequestHead, WebSocket> {
  return new ServerCore<HttpRequestHead, WebSocket>(
    options,
    (url, init) => new WebSocket(url, undefined, init),
  );
}

const ticks = (n = 5): Promise<void> =>
  (async () => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  })();

describe("ServerCore.accept (raw byte streams)", () => {
  it("reads the head in pieces, answers 101, attaches the session with the bytes after the head", async () => {
    const server = core();
    const connection = new FakeConnection();
    const delivered: WebSocket[] = [];
    const done = server.accept(connection, (ws) => delivered.push(ws));
    connection.push(UPGRADE.slice(0, 20));
    connection.push(new Uint8Array([...ascii.encode(UPGRADE.slice(20)), 0x81]));
    await done;
    expect(connection.response().head.status).toBe(101);
    expect([...(connection.attached?.rest ?? [])]).toEqual([0x81]);
    expect(delivered.length).toBe(1);
    expect(server.pendingHandshakes.size).toBe(0);
  });

  it("answers bytes that are not HTTP with 400 at once, then half-closes and lingers until the client ends", async () => {
    const connection = new FakeConnection();
    const done = core().accept(connection, () => {});
    connection.push("\u0016\u0003\u0001 not http, no line ending");
    await ticks();
    expect(connection.response().head.status).toBe(400);
    expect(connection.ended).toBe(true);
    // Still reading (and dropping) what the client sends, not yet destroyed.
    expect(connection.destroyed).toBe(false);
    connection.push("more garbage");
    connection.push(null);
    await done;
    expect(connection.destroyed).toBe(true);
  });

  it("answers 431 for a head over maxHeadSize", async () => {
    const connection = new FakeConnection();
    const done = core({ limits: { maxHeadSize: 64 } }).accept(connection, () => {});
    connection.push(UPGRADE);
    connection.push(null);
    await done;
    expect(connection.response().head.status).toBe(431);
  });

  it("closes a connection whose head is not complete within handshakeTimeout, without a response", async () => {
    const server = core({ handshakeTimeout: 30 });
    const connection = new FakeConnection();
    const done = server.accept(connection, () => {});
    connection.push(UPGRADE.slice(0, 40)); // a slowloris: half a head, then nothing
    expect(server.pendingHandshakes.size).toBe(1);
    await connection.whenDestroyed();
    await done;
    expect(connection.written).toEqual([]);
    expect(server.pendingHandshakes.size).toBe(0);
  });

  it("bounds each handshake by its own deadline: one timer for all, set again for the next oldest", async () => {
    const timeout = 80;
    const server = core({ handshakeTimeout: timeout });
    const first = new FakeConnection();
    const firstDone = server.accept(first, () => {});
    first.push(UPGRADE.slice(0, 40));
    await new Promise((resolve) => setTimeout(resolve, timeout / 2));
    const second = new FakeConnection();
    const secondStart = performance.now();
    const secondDone = server.accept(second, () => {});
    second.push(UPGRADE.slice(0, 40));
    const answered = new FakeConnection();
    const answeredDone = server.accept(answered, () => {});
    answered.push(UPGRADE);
    await answeredDone;
    await first.whenDestroyed();
    await second.whenDestroyed();
    // Closed at its own deadline, not with the older handshake whose time ran out first.
    expect(performance.now() - secondStart).toBeGreaterThanOrEqual(timeout - 1);
    await Promise.all([firstDone, secondDone]);
    expect(second.written).toEqual([]);
    expect(answered.destroyed).toBe(false);
    expect(server.pendingHandshakes.size).toBe(0);
  });

  it("closes handshakes whose time ran out together over several turns, EXPIRIES_PER_TURN at a time", async () => {
    const pending = new PendingHandshakes(20);
    const count = EXPIRIES_PER_TURN * 3 + 5;
    let destroyed = 0;
    let inFirstTurn: number | undefined;
    for (let i = 0; i < count; i++) {
      new Admission(pending, () => {
        destroyed++;
        // Microtasks run once the timer callback that closes them has returned.
        if (destroyed === 1) queueMicrotask(() => (inFirstTurn = destroyed));
      });
    }
    // Every deadline passes before the timer can fire, so they fall due together, as in a
    // slowloris wave (else a coarse clock can leave the later ones for the next timer).
    const start = performance.now();
    while (performance.now() - start < 30) {
      // Spin: the timer must not run before all deadlines are past.
    }
    while (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(inFirstTurn).toBe(EXPIRIES_PER_TURN);
    expect(destroyed).toBe(count);
  });

  it("reads the client's address of a dropped handshake only when a subscriber gets the event", () => {
    const pending = new PendingHandshakes(0);
    let reads = 0;
    const address = (): string => {
      reads++; // a system call on Node (getpeername)
      return "192.0.2.7";
    };
    const limit = { limit: "maxPendingHandshakes" as const, value: 1 };
    new Admission(pending, () => {}, address).abort("TOO_MANY_HANDSHAKES", "dropped", limit);
    expect(reads).toBe(0);
    const seen: unknown[] = [];
    let stop = observe("ws:limit:reached", (message) => seen.push(message.remoteAddress));
    try {
      new Admission(pending, () => {}, address).abort("TOO_MANY_HANDSHAKES", "dropped", limit);
    } finally {
      stop();
    }
    expect(reads).toBe(1);
    expect(seen).toEqual(["192.0.2.7"]);
    stop = observe("ws:handshake:rejected", (message) => seen.push(message.remoteAddress));
    try {
      new Admission(pending, () => {}, address).abort();
    } finally {
      stop();
    }
    expect(reads).toBe(2);
    expect(seen).toEqual(["192.0.2.7", "192.0.2.7"]);
  });

  it("closes a connection whose verify hook outlasts handshakeTimeout", async () => {
    let release!: () => void;
    const hook = new Promise<void>((resolve) => {
      release = resolve;
    });
    const connection = new FakeConnection();
    const done = core({ handshakeTimeout: 20, verify: () => hook }).accept(connection, () => {});
    connection.push(UPGRADE);
    await connection.whenDestroyed();
    release();
    await done;
    expect(connection.written).toEqual([]);
    expect(connection.attached).toBeUndefined();
  });

  it("beyond maxPendingHandshakes drops the oldest handshake in progress (unanswered) and serves the newcomer", async () => {
    const server = core({ maxPendingHandshakes: 2 });
    const slow = [new FakeConnection(), new FakeConnection()];
    const pending = slow.map((c) => server.accept(c, () => {}));
    for (const c of slow) c.push("GET / HTTP/1.1\r\n"); // stalled heads
    const fresh = new FakeConnection();
    const accepting = server.accept(fresh, () => {});
    await (slow[0] as FakeConnection).whenDestroyed();
    expect((slow[0] as FakeConnection).written).toEqual([]);
    expect((slow[1] as FakeConnection).destroyed).toBe(false);
    expect(server.pendingHandshakes.size).toBe(2);
    fresh.push(UPGRADE);
    await accepting;
    expect(fresh.response().head.status).toBe(101);
    await pending[0];
    (slow[1] as FakeConnection).push(null);
    await pending[1];
    expect(server.pendingHandshakes.size).toBe(0);
  });

  it("answers 503 beyond maxConnections, and accepts again once a connection closed", async () => {
    const server = core({ maxConnections: 1 });
    const first = new FakeConnection();
    const opened: WebSocket[] = [];
    const accepting = server.accept(first, (ws) => opened.push(ws));
    first.push(UPGRADE);
    await accepting;
    const second = new FakeConnection();
    const refused = server.accept(second, () => {});
    second.push(UPGRADE);
    second.push(null);
    await refused;
    expect(second.response()).toMatchObject({ head: { status: 503 }, body: "Too many connections" });
    (opened[0] as WebSocket).terminate();
    await (opened[0] as WebSocket).session?.closed;
    const third = new FakeConnection();
    const again = server.accept(third, () => {});
    third.push(UPGRADE);
    await again;
    expect(third.response().head.status).toBe(101);
  });

  it("closes a rejected connection after REJECTION_LINGER ms (at most handshakeTimeout) when the client never closes", async () => {
    expect(REJECTION_LINGER).toBe(2000);
    const connection = new FakeConnection();
    // 400 ms, not less: the ticks below must not outlast the linger on a loaded machine.
    const done = core({ verify: () => false, handshakeTimeout: 400 }).accept(connection, () => {});
    connection.push(UPGRADE);
    await ticks();
    expect(connection.response().head.status).toBe(403);
    expect([connection.ended, connection.destroyed]).toEqual([true, false]);
    await done;
    expect(connection.destroyed).toBe(true);
  });

  it("reports a throwing 'connection' listener to onError and still starts the session", async () => {
    const connection = new FakeConnection();
    const errors: Error[] = [];
    const done = core().accept(
      connection,
      () => {
        throw new Error("listener bug");
      },
      (error) => errors.push(error),
    );
    connection.push(UPGRADE);
    await done;
    expect(errors.map((e) => e.message)).toEqual(["listener bug"]);
    expect(connection.attached?.session.state).toBe("open");
  });

  it("drops the handshakes in progress on close()", async () => {
    const server = core();
    const connection = new FakeConnection();
    const done = server.accept(connection, () => {});
    connection.push("GET /chat HTTP/1.1\r\n");
    await ticks();
    await server.close(10);
    await done;
    expect(connection.destroyed).toBe(true);
    expect(server.pendingHandshakes.size).toBe(0);
  });
});

describe("ServerCore.accept with the connection's own request object (Node's port server)", () => {
  /** A connection that gives a request object of its own, and takes over what `screen` says. */
  class RequestConnection extends FakeConnection {
    readonly requests: { of: HttpRequestHead }[] = [];
    readonly claimed: unknown[] = [];
    readonly screen: (request: { of: HttpRequestHead }) => boolean;
    constructor(screen: (request: { of: HttpRequestHead }) => boolean = () => false) {
      super();
      this.screen = screen;
    }
    request(head: HttpRequestHead): { of: HttpRequestHead } {
      const request = { of: head };
      this.requests.push(request);
      return request;
    }
    claim(request: unknown): boolean {
      const taken = this.screen(request as { of: HttpRequestHead });
      if (taken) this.claimed.push(request);
      return taken;
    }
  }

  it("gives verify, 'connection' and the diagnostics the connection's request object, not the head", async () => {
    const verified: unknown[] = [];
    const server = new ServerCore<unknown, WebSocket>(
      { verify: (info) => void verified.push(info.request) },
      (url, init) => new WebSocket(url, undefined, init),
    );
    const connection = new RequestConnection();
    const delivered: unknown[] = [];
    const done = server.accept(connection, (_ws, request) => delivered.push(request));
    connection.push(UPGRADE);
    await done;
    expect(connection.response().head.status).toBe(101);
    expect(connection.requests.length).toBe(1);
    expect(connection.requests[0]?.of.target).toBe("/chat");
    expect(verified).toEqual([connection.requests[0]]);
    expect(delivered[0]).toBe(connection.requests[0]);

    const rejected: unknown[] = [];
    const plain = new RequestConnection();
    const stop = observe("ws:handshake:rejected", (event) => rejected.push(event.request));
    try {
      const refused = server.accept(plain, () => {});
      plain.push("GET /chat HTTP/1.1\r\nHost: example.test\r\n\r\n");
      plain.push(null);
      await refused;
    } finally {
      stop();
    }
    expect(plain.response().head.status).toBe(426);
    expect(rejected).toEqual([plain.requests[0]]);
  });

  it("leaves a claimed upgrade request alone: no answer, not closed, its place freed; plain requests are never offered", async () => {
    const server = core();
    const connection = new RequestConnection(() => true);
    const done = server.accept(connection, () => {
      throw new Error("a claimed request must not be delivered");
    });
    connection.push(UPGRADE);
    await done;
    expect(connection.claimed.length).toBe(1);
    expect(connection.written).toEqual([]);
    expect(connection.destroyed).toBe(false);
    expect(connection.ended).toBe(false);
    expect(server.pendingHandshakes.size).toBe(0);

    // Without `Upgrade`, or for a path the server does not serve: answered, never offered.
    for (const request of [
      "GET /chat HTTP/1.1\r\nHost: example.test\r\n\r\n",
      UPGRADE.replace("/chat", "/elsewhere"),
    ]) {
      const other = new RequestConnection(() => true);
      const pathed = new ServerCore<HttpRequestHead, WebSocket>(
        { path: "/chat" },
        (url, init) => new WebSocket(url, undefined, init),
      );
      const answered = pathed.accept(other, () => {});
      other.push(request);
      other.push(null);
      await answered;
      expect(other.claimed).toEqual([]);
      expect([426, 400]).toContain(other.response().head.status);
    }
  });
});

describe("ServerCore.acceptRequest (a request already parsed: Node, HTTP/2)", () => {
  const request = {
    request: "the runtime's request",
    method: "GET",
    httpVersion: "1.1",
    target: "/chat",
    headers: {
      host: "example.test",
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      "sec-websocket-protocol": "chat",
    },
    secure: false,
    remoteAddress: "192.0.2.1",
  };

  it("lets the connection answer in its own way from the outcome as data (an HTTP/2 stream)", async () => {
    const server = new ServerCore<string, WebSocket>(
      { protocols: ["chat"], verify: () => ({ headers: { "X-Extra": "1" } }) },
      (url, init) => new WebSocket(url, undefined, init),
    );
    const connection = new FakeConnection();
    const answers: unknown[] = [];
    connection.respond = (outcome) => {
      answers.push(outcome);
    };
    await server.acceptRequest(request, connection, new Uint8Array(0), () => {});
    expect(connection.written).toEqual([]);
    const outcome = answers[0] as HandshakeAccepted;
    expect(outcome).toBeInstanceOf(HandshakeAccepted);
    expect(outcome).toMatchObject({ status: 101, protocol: "chat", extensionsHeader: undefined });
    expect(outcome.extraHeaders).toEqual({ "X-Extra": "1" });
    expect(outcome.headers).toContainEqual(["Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]);
    expect(connection.attached?.options.protocol).toBe("chat");
  });

  it("hands a rejection to respond() as status, headers and body", async () => {
    const server = new ServerCore<string, WebSocket>(
      { verify: () => ({ status: 401, body: "who are you" }) },
      (url, init) => new WebSocket(url, undefined, init),
    );
    const connection = new FakeConnection();
    const answers: unknown[] = [];
    connection.respond = (outcome) => {
      answers.push(outcome);
    };
    const done = server.acceptRequest(request, connection, new Uint8Array(0), () => {});
    await ticks();
    connection.push(null);
    await done;
    const outcome = answers[0] as HandshakeRejected;
    expect(outcome).toBeInstanceOf(HandshakeRejected);
    expect(outcome).toMatchObject({ status: 401, statusText: "Unauthorized", body: "who are you" });
    expect(outcome.headers).toContainEqual(["Content-Length", "11"]);
  });
});

describe("ServerCore limit options", () => {
  it("throws a TypeError or RangeError naming a bad handshakeTimeout, maxPendingHandshakes or maxConnections", () => {
    expect(() => core({ handshakeTimeout: "5s" as unknown as number })).toThrow(/handshakeTimeout/);
    expect(() => core({ handshakeTimeout: -1 })).toThrow(RangeError);
    expect(() => core({ maxPendingHandshakes: 0 })).toThrow(/maxPendingHandshakes/);
    expect(() => core({ maxConnections: Number.NaN })).toThrow(TypeError);
    expect(core({ handshakeTimeout: 0, maxConnections: Number.POSITIVE_INFINITY }).handshakeTimeout).toBe(0);
  });

  it("defaults to a 10 s handshake timeout, 1024 handshakes in progress, no connection limit", () => {
    const server = core();
    expect([server.handshakeTimeout, server.maxPendingHandshakes, server.maxConnections]).toEqual([
      10_000,
      1024,
      Number.POSITIVE_INFINITY,
    ]);
    expect("handshakeTimeout" in server.settings).toBe(false);
  });
});
