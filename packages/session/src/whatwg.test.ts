/**
 * WHATWG WebSockets (https://websockets.spec.whatwg.org/) and WebIDL (https://webidl.spec.whatwg.org/)
 * rules of the `WebSocket` class and `CloseEvent`, one test per rule, citing the section. Run on
 * Node, Deno and Bun (this package's test scripts); where a rule is about the class's shape, the
 * same check also runs against the runtime's built-in `WebSocket` on Node ≥ 22 as a reference.
 */
import { describe, expect, it } from "vitest";
import { type DialConnection, dial, splitClientArguments } from "./dial.ts";
import { CloseEvent } from "./events.ts";
import { memoryTransportPair } from "./memory-transport.ts";
import { Session } from "./session.ts";
import { type Connector, WebSocket } from "./websocket.ts";

/** Node's built-in `WebSocket` (Node ≥ 22), the reference; undefined on Deno, Bun and Node 20. */
const nativeWebSocket: typeof WebSocket | undefined =
  !("Deno" in globalThis) && !("Bun" in globalThis) && typeof globalThis.WebSocket === "function"
    ? (globalThis.WebSocket as unknown as typeof WebSocket)
    : undefined;

/**
 * A runtime adapter's class, as `@ws/node`, `@ws/deno` and `@ws/bun` define theirs: a subclass
 * with its own connector, given the interface's shape by `defineInterface`.
 */
class AdapterWebSocket extends WebSocket {
  static {
    WebSocket.defineInterface(AdapterWebSocket);
  }
  constructor(url: string | URL, protocols?: string | readonly string[]) {
    super(url, protocols, { connector: memoryServer() });
  }
}

/** Our class, an adapter's subclass of it, and the reference where there is one. */
const classes: [string, typeof WebSocket][] = [
  ["ours", WebSocket],
  ["an adapter's", AdapterWebSocket as unknown as typeof WebSocket],
  ...(nativeWebSocket === undefined
    ? []
    : [["Node's built-in", nativeWebSocket] as [string, typeof WebSocket]]),
];

/** The attributes and operations of the WebSocket interface (WHATWG §3). */
const IDL_MEMBERS = [
  "url",
  "readyState",
  "bufferedAmount",
  "onopen",
  "onerror",
  "onclose",
  "extensions",
  "protocol",
  "close",
  "onmessage",
  "binaryType",
  "send",
];

/** A connector to an in-memory server that reports what it receives. */
function memoryServer(received: (string | Uint8Array)[] = []): Connector {
  return async () => {
    const [clientTransport, serverTransport] = memoryTransportPair();
    const client = new Session(clientTransport, { role: "client" });
    const server = new Session(serverTransport, { role: "server" });
    clientTransport.receiver = client;
    serverTransport.receiver = server;
    server.handler = { message: (data) => received.push(data) };
    server.start();
    return client;
  };
}

/** A socket of the class, on a connector where it is ours (the reference dials a closed port). */
function socketOf(Class: typeof WebSocket): WebSocket {
  if (Class === WebSocket) return new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer() });
  if (Class === AdapterWebSocket) return new AdapterWebSocket("ws://127.0.0.1/");
  return new Class("ws://127.0.0.1:9/");
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("WebIDL shape of WebSocket", () => {
  for (const [name, Class] of classes) {
    it(`${name}: constants are read-only on the interface object and on the prototype, not on instances (WebIDL §3.7.4)`, () => {
      for (const [constant, value] of [
        ["CONNECTING", 0],
        ["OPEN", 1],
        ["CLOSING", 2],
        ["CLOSED", 3],
      ] as const) {
        const expected = { value, writable: false, enumerable: true, configurable: false };
        expect(Object.getOwnPropertyDescriptor(Class, constant)).toEqual(expected);
        expect(Object.getOwnPropertyDescriptor(Class.prototype, constant)).toEqual(expected);
      }
      const ws = socketOf(Class);
      expect(Object.hasOwn(ws, "OPEN")).toBe(false);
      expect(ws.CLOSED).toBe(3);
      ws.close();
    });

    it(`${name}: attributes and operations are enumerable members of the prototype, whose prototype is EventTarget's (WebIDL §3.7.3, §3.7.5, §3.7.6)`, () => {
      if (Class !== WebSocket) {
        // The base class is the adapters' prototype source, below EventTarget's by construction.
        expect(Object.getPrototypeOf(Class.prototype)).toBe(EventTarget.prototype);
      }
      for (const member of IDL_MEMBERS) {
        const descriptor = Object.getOwnPropertyDescriptor(Class.prototype, member);
        expect(descriptor, member).toBeDefined();
        expect(descriptor?.enumerable, member).toBe(true);
        expect(descriptor?.configurable, member).toBe(true);
      }
      // §3.7.5: an operation's length is its number of required arguments.
      expect([Class.prototype.close.length, Class.prototype.send.length]).toEqual([0, 1]);
      // §3.7.6: an attribute's setter called on another object throws TypeError.
      const binaryType = Object.getOwnPropertyDescriptor(Class.prototype, "binaryType")?.set;
      expect(() => binaryType?.call({}, "arraybuffer")).toThrow(TypeError);
      expect(() => binaryType?.call({}, undefined)).toThrow(TypeError);
      const tag = Object.getOwnPropertyDescriptor(Class.prototype, Symbol.toStringTag);
      expect(tag).toEqual({ value: "WebSocket", writable: false, enumerable: false, configurable: true });
      const ws = socketOf(Class);
      expect(ws instanceof Class).toBe(true);
      expect(ws instanceof EventTarget).toBe(true);
      ws.close();
    });

    it(`${name}: WebSocket.length is 1, the one required argument (WebIDL §3.7.1)`, () => {
      expect(Class.length).toBe(1);
    });

    it(`${name}: Object.prototype.toString gives [object WebSocket] (WebIDL §3.7.6)`, () => {
      const ws = socketOf(Class);
      expect(Object.prototype.toString.call(ws)).toBe("[object WebSocket]");
      ws.close();
    });

    it(`${name}: the URL argument is required: new WebSocket() throws TypeError (WebIDL §3.6.8)`, () => {
      expect(() => new (Class as unknown as new () => WebSocket)()).toThrow(TypeError);
    });

    it(`${name}: duplicate subprotocols, compared case-insensitively, throw SyntaxError (WHATWG §3.1 step 6)`, () => {
      const init = Class === WebSocket ? [{ connector: memoryServer() }] : [];
      let thrown: unknown;
      try {
        new (Class as unknown as new (...args: unknown[]) => WebSocket)(
          "ws://127.0.0.1:9/",
          ["echo", "eCho"],
          ...init,
        );
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DOMException);
      expect((thrown as DOMException).name).toBe("SyntaxError");
    });
  }
});

describe("instanceof", () => {
  it("an adapter's sockets are instances of the shared class too (servers' and clients' sockets are one kind)", () => {
    const ws = new AdapterWebSocket("ws://127.0.0.1/");
    expect(ws instanceof WebSocket).toBe(true);
    expect(
      new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer() }) instanceof AdapterWebSocket,
    ).toBe(false);
    expect({} instanceof WebSocket).toBe(false);
    ws.close();
  });
});

describe("CloseEvent", () => {
  it("code, reason and wasClean are prototype accessors; toString gives [object CloseEvent] (WebIDL §3.7.6)", () => {
    const event = new CloseEvent("close", { code: 1000, reason: "done", wasClean: true });
    for (const attribute of ["code", "reason", "wasClean"]) {
      expect(typeof Object.getOwnPropertyDescriptor(CloseEvent.prototype, attribute)?.get).toBe("function");
      expect(Object.hasOwn(event, attribute)).toBe(false);
    }
    expect([event.code, event.reason, event.wasClean]).toEqual([1000, "done", true]);
    expect(Object.prototype.toString.call(event)).toBe("[object CloseEvent]");
  });

  const closeEvents: [string, typeof CloseEvent][] = [
    ["ours", CloseEvent],
    ...(nativeWebSocket === undefined || typeof globalThis.CloseEvent !== "function"
      ? []
      : [
          ["Node's built-in", globalThis.CloseEvent as unknown as typeof CloseEvent] as [
            string,
            typeof CloseEvent,
          ],
        ]),
  ];
  for (const [name, Class] of closeEvents) {
    it(`${name}: the attributes are enumerable and the class string a data property (WebIDL §3.7.5, §3.7.6)`, () => {
      for (const attribute of ["code", "reason", "wasClean"])
        expect(Object.getOwnPropertyDescriptor(Class.prototype, attribute)?.enumerable, attribute).toBe(true);
      expect(Object.getOwnPropertyDescriptor(Class.prototype, Symbol.toStringTag)).toEqual({
        value: "CloseEvent",
        writable: false,
        enumerable: false,
        configurable: true,
      });
    });
  }
});

describe("send() argument conversion (WHATWG §3.3, WebIDL §3.2.10)", () => {
  it("send() without an argument throws TypeError, even while connecting", async () => {
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer() });
    expect(() => (ws as unknown as { send(): void }).send()).toThrow(TypeError);
    await ws.opened;
    expect(() => (ws as unknown as { send(): void }).send()).toThrow(TypeError);
    ws.close();
  });

  it("null, numbers and objects are sent as their string conversion; a Symbol throws TypeError", async () => {
    const received: (string | Uint8Array)[] = [];
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer(received) });
    await ws.opened;
    for (const value of [null, 42, {}, undefined]) ws.send(value as never);
    expect(() => ws.send(Symbol("x") as never)).toThrow(TypeError);
    await tick();
    expect(received).toEqual(["null", "42", "[object Object]", "undefined"]);
    ws.close();
  });
});

describe("state made on first use: the connecting client's and the Blob send chain", () => {
  it("a consumer and opened made while connecting get the session; Blob sends keep their order and count in bufferedAmount", async () => {
    const received: (string | Uint8Array)[] = [];
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer(received) });
    const iterator = ws[Symbol.asyncIterator]();
    const opened = ws.opened;
    await opened;
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(ws.needsDrain).toBe(false);
    ws.send(new Blob([new Uint8Array([1, 2, 3])]));
    ws.send("after the blob");
    expect(ws.needsDrain).toBe(true);
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual(3 + "after the blob".length);
    await ws.drained();
    await tick();
    expect(ws.needsDrain).toBe(false);
    expect(received).toEqual([new Uint8Array([1, 2, 3]), "after the blob"]);
    await iterator.return?.();
    ws.close();
  });

  it("a consumer made while connecting ends with the failure when the attempt is aborted", async () => {
    const ws = new WebSocket("ws://127.0.0.1/", [], {
      // Never opens; gives up when the attempt is aborted.
      connector: ({ signal }) =>
        new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    });
    const iterator = ws[Symbol.asyncIterator]();
    const next = iterator.next();
    ws.close();
    const why = (promise: Promise<unknown>) =>
      promise.then(
        () => "settled",
        (error: unknown) => (error as DOMException).name,
      );
    expect(await why(ws.opened)).toBe("AbortError");
    expect(await why(next)).toBe("AbortError");
  });
});

describe("a server's sockets: the server's parts shared, the rest made on first use", () => {
  /** A server's socket around a fresh session, and the client session at its other end. */
  function accepted(init: { clients: Set<WebSocket>; reportError: (error: Error) => void }) {
    const [clientTransport, serverTransport] = memoryTransportPair();
    const client = new Session(clientTransport, { role: "client" });
    const session = new Session(serverTransport, { role: "server" });
    clientTransport.receiver = client;
    serverTransport.receiver = session;
    client.start();
    const ws = new WebSocket("ws://127.0.0.1/", undefined, { session, ...init });
    init.clients.add(ws);
    // As a server does after its 'connection' event.
    session.start();
    return { ws, client };
  }

  it("reports listener errors to the server, leaves its client set once closed, and makes opened, listeners and errors when first needed", async () => {
    const clients = new Set<WebSocket>();
    const reported: Error[] = [];
    const init = { clients, reportError: (error: Error) => void reported.push(error) };
    const first = accepted(init);
    const second = accepted(init);
    await first.ws.opened;
    expect(first.ws.readyState).toBe(WebSocket.OPEN);
    expect(first.ws.bufferedAmount).toBe(0);

    // Listeners: a removed one is not called (its wrapper was found), a throwing one is
    // reported to the server's hook of the socket it belongs to.
    const calls: string[] = [];
    const removed = () => calls.push("removed");
    first.ws.addEventListener("message", removed);
    first.ws.removeEventListener("message", removed);
    second.ws.addEventListener("message", () => {
      throw new Error("listener failed");
    });
    first.ws.onmessage = (event) => calls.push(`first ${String(event.data)}`);
    first.client.send("one");
    second.client.send("two");
    await tick();
    expect(calls).toEqual(["first one"]);
    expect(reported.map((error) => error.message)).toEqual([
      "A 'message' listener of a WebSocket threw: listener failed",
    ]);

    // Closing one socket takes it, and only it, out of the server's set.
    const closed = new Promise<CloseEvent>((resolve) =>
      first.ws.addEventListener("close", (e) => resolve(e as CloseEvent)),
    );
    first.ws.close(4000, "bye");
    const event = await closed;
    // The close event has what the peer answered: its session echoes the code, not the reason.
    expect([event.code, event.reason, event.wasClean]).toEqual([4000, "", true]);
    await tick();
    expect([...clients]).toEqual([second.ws]);
    // Sends after the close are counted, not sent (WHATWG §3.3).
    first.ws.send("late");
    expect(first.ws.bufferedAmount).toBe(4);
    second.ws.close();
    await tick();
    expect(clients.size).toBe(0);
  });

  it("a transport error before the close is dispatched as an error event, then the close", async () => {
    const clients = new Set<WebSocket>();
    const { ws } = accepted({ clients, reportError: () => {} });
    const events: string[] = [];
    ws.onerror = () => events.push("error");
    ws.onclose = (event) => events.push(`close ${(event as CloseEvent).code}`);
    ws.session?.onError(new Error("connection reset"));
    await tick();
    expect(events).toEqual(["error", "close 1006"]);
    expect(clients.size).toBe(0);
  });
});

describe("event handler attributes (HTML §8.1.8.1)", () => {
  it("an object (e.g. with handleEvent) is kept by onmessage/onclose; a non-object becomes null", () => {
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer() });
    const listener = { handleEvent: () => {} };
    ws.onmessage = listener as never;
    expect(ws.onmessage).toBe(listener);
    ws.onclose = 5 as never;
    expect(ws.onclose).toBe(null);
    ws.close();
  });
});

describe("a connection that could not be opened", () => {
  it("opened rejects with why (not undefined) when close() is called while connecting", async () => {
    const ws = new WebSocket("ws://127.0.0.1/", [], {
      connector: ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        ),
    });
    ws.close();
    const reason = await ws.opened.then(
      () => "opened",
      (error: unknown) => error,
    );
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe("AbortError");
  });

  it("for await over a refused connection throws the connection's error", async () => {
    const refused = new Error("connection refused");
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: () => Promise.reject(refused) });
    ws.onerror = () => {};
    let thrown: unknown;
    try {
      for await (const _ of ws) break;
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(refused);
  });
});

describe("the opening handshake (WHATWG §3.1 → Fetch)", () => {
  it("user:password in the URL is sent as Authorization: Basic (RFC 7617 §2)", async () => {
    let request = "";
    const connection: DialConnection = {
      write: (bytes) => {
        request += new TextDecoder().decode(bytes);
      },
      read: async () => null,
      destroy: () => {},
      attach: () => {
        throw new Error("not reached");
      },
    };
    const ws = new WebSocket("ws://us%C3%A9r:p%40ss@127.0.0.1/", [], {
      connector: (req) => dial(req, {}, async () => connection),
    });
    ws.onerror = () => {};
    await ws.opened.catch(() => {});
    const expected = btoa(String.fromCharCode(...new TextEncoder().encode("usér:p@ss")));
    expect(request).toContain(`\r\nAuthorization: Basic ${expected}\r\n`);
    expect(request).not.toContain("us%C3%A9r");
  });
});

/** Waits until the current turn of the event loop (and its `setImmediate` phase) is over. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

/** A connector to an in-memory server whose reading can be paused (the peer does not read). */
function pausableServer(): { connector: Connector; pause(): void; resume(): void } {
  let serverTransport: ReturnType<typeof memoryTransportPair>[1] | undefined;
  let paused = false;
  return {
    connector: async () => {
      const [clientTransport, server] = memoryTransportPair();
      serverTransport = server;
      const client = new Session(clientTransport, { role: "client" });
      const serverSession = new Session(server, { role: "server" });
      clientTransport.receiver = client;
      server.receiver = serverSession;
      if (paused) server.pause();
      serverSession.start();
      return client;
    },
    pause: () => {
      paused = true;
      serverTransport?.pause();
    },
    resume: () => {
      paused = false;
      serverTransport?.resume();
    },
  };
}

describe("bufferedAmount (WHATWG §3.3: application data queued by send() and not yet transmitted)", () => {
  it("counts the payload bytes of each send() in the task that made it: UTF-8 text and binary, without frame header or mask", async () => {
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer() });
    await ws.opened;
    ws.send("héllo"); // 6 bytes of UTF-8; the frame is 12 bytes (header 2, mask 4)
    expect(ws.bufferedAmount).toBe(6);
    ws.send(new Uint8Array(300)); // a 16-bit length: an 8-byte header, with the mask
    expect(ws.bufferedAmount).toBe(306);
    ws.send("\uD801\uDC07"); // one astral character: 4 bytes
    expect(ws.bufferedAmount).toBe(310);
    await nextTurn(); // the in-memory peer took every byte
    expect(ws.bufferedAmount).toBe(0);
    ws.close();
  });

  it("keeps counting, in later tasks, what the network has not taken; drops it once taken", async () => {
    const server = pausableServer();
    server.pause();
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: server.connector });
    await ws.opened;
    ws.send(new Uint8Array(1000));
    ws.send("abc");
    await nextTurn();
    expect(ws.bufferedAmount).toBe(1003);
    server.resume();
    await nextTurn();
    expect(ws.bufferedAmount).toBe(0);
    ws.close();
  });

  it("keeps increasing once the connection is closing: later sends are counted and not sent", async () => {
    const received: (string | Uint8Array)[] = [];
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: memoryServer(received) });
    await ws.opened;
    ws.close();
    ws.send("late"); // discarded (WHATWG: "increase the bufferedAmount attribute by …")
    ws.send(new Uint8Array(10));
    expect(ws.bufferedAmount).toBe(14);
    await new Promise((resolve) => ws.addEventListener("close", resolve));
    expect(ws.bufferedAmount).toBe(14);
    expect(received).toEqual([]);
  });
});

describe("send() (WebIDL: `undefined send(…)`) and backpressure", () => {
  it("send() returns undefined; needsDrain and drained() tell when the send queue is full", async () => {
    const server = pausableServer();
    server.pause();
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector: server.connector });
    await ws.opened;
    expect(ws.send("x")).toBeUndefined();
    expect(ws.needsDrain).toBe(false);
    let sent = 0;
    do ws.send(new Uint8Array(16 * 1024));
    while (!ws.needsDrain && ++sent < 1000);
    expect(sent).toBeLessThan(1000); // the memory transport's high-water mark is 64 KiB
    const drained = ws.drained();
    server.resume();
    await drained;
    expect(ws.needsDrain).toBe(false);
    ws.close();
  });
});

describe("constructor arguments (WebIDL §3.2.10, §3.6.8)", () => {
  it('protocols: null is the protocol "null", any iterable is a sequence of strings', async () => {
    const offered: (readonly string[])[] = [];
    const connector: Connector = (request) => {
      offered.push(request.protocols);
      return memoryServer()(request);
    };
    const a = new WebSocket("ws://127.0.0.1/", null as never, { connector });
    const b = new WebSocket("ws://127.0.0.1/", new Set(["chat", "superchat"]) as never, { connector });
    await Promise.all([a.opened, b.opened]);
    expect(offered).toEqual([["null"], ["chat", "superchat"]]);
    a.close();
    b.close();
  });

  it("an adapter ignores a third argument that is not an options object, as a browser ignores extra arguments", () => {
    expect(splitClientArguments("chat", "Stray argument" as never)).toMatchObject({
      protocols: "chat",
      options: {},
    });
    expect(splitClientArguments(null as never, undefined).protocols).toBe(null);
    expect(() => splitClientArguments("chat", { maxPayload: 1 } as never)).toThrow(TypeError);
  });

  for (const [name, Class] of classes.filter(([, C]) => C !== WebSocket)) {
    it(`${name}: new WebSocket(url, protocols, "stray") does not throw`, () => {
      const ws = new (Class as unknown as new (...args: unknown[]) => WebSocket)(
        Class === AdapterWebSocket ? "ws://127.0.0.1/" : "ws://127.0.0.1:9/",
        "echo",
        "Stray argument",
      );
      expect(ws).toBeInstanceOf(Class);
      ws.onerror = () => {};
      ws.close();
    });
  }
});

describe('relative URLs (WHATWG §3.1 "get a URL record": parsed against the API base URL)', () => {
  /** Runs `body` with `globalThis.location` set to `href` (undefined: no location at all). */
  function withLocation(href: string | undefined, body: () => void): void {
    const own = Object.getOwnPropertyDescriptor(globalThis, "location");
    Object.defineProperty(globalThis, "location", {
      value: href === undefined ? undefined : new URL(href),
      configurable: true,
      writable: true,
    });
    try {
      body();
    } finally {
      if (own === undefined) delete (globalThis as { location?: unknown }).location;
      else Object.defineProperty(globalThis, "location", own);
    }
  }

  it("a relative URL is resolved against globalThis.location where the runtime has one (Deno --location)", () => {
    withLocation("https://example.test/app/page.html?q", () => {
      const ws = new WebSocket("/chat?room=1", [], { connector: memoryServer() });
      expect(ws.url).toBe("wss://example.test/chat?room=1");
      ws.close();
      const sibling = new WebSocket("socket", [], { connector: memoryServer() });
      expect(sibling.url).toBe("wss://example.test/app/socket");
      sibling.close();
      // A fragment is still refused, and so is a scheme other than ws(s)/http(s).
      for (const url of ["#frag", "ftp://example.test/"]) {
        expect(() => new WebSocket(url, [], { connector: memoryServer() })).toThrow(DOMException);
      }
    });
  });

  it("without a base URL a relative URL throws SyntaxError", () => {
    withLocation(undefined, () => {
      let thrown: unknown;
      try {
        new WebSocket("/chat", [], { connector: memoryServer() });
      } catch (error) {
        thrown = error;
      }
      expect((thrown as DOMException).name).toBe("SyntaxError");
    });
  });
});

describe("one connection per host in CONNECTING (RFC 6455 §4.1, client requirement 2)", () => {
  /** A connector that records its calls and opens once `gate` settles. */
  function gated(calls: string[], name: string, gate: Promise<void> = Promise.resolve()): Connector {
    return async (request) => {
      calls.push(name);
      await gate;
      return memoryServer()(request);
    };
  }

  it("a second connection to the same host and port waits until the first is open; other ports do not wait", async () => {
    const calls: string[] = [];
    let open!: () => void;
    const first = new WebSocket("ws://queue.test:8000/a", [], {
      connector: gated(calls, "first", new Promise((resolve) => (open = resolve))),
    });
    const second = new WebSocket("ws://QUEUE.test:8000/b", [], { connector: gated(calls, "second") });
    const elsewhere = new WebSocket("ws://queue.test:8001/", [], { connector: gated(calls, "elsewhere") });
    await nextTurn();
    expect(calls).toEqual(["first", "elsewhere"]);
    expect(second.readyState).toBe(WebSocket.CONNECTING);
    open();
    await Promise.all([first.opened, second.opened, elsewhere.opened]);
    expect(calls).toEqual(["first", "elsewhere", "second"]);
    for (const ws of [first, second, elsewhere]) ws.close();
  });

  it("a failed attempt lets the next one go; closing a waiting one fails it without connecting", async () => {
    const calls: string[] = [];
    let fail!: (error: Error) => void;
    const first = new WebSocket("ws://queue.test:8002/", [], {
      connector: async () => {
        calls.push("first");
        return new Promise<Session>((_, reject) => (fail = reject));
      },
    });
    first.onerror = () => {};
    const waiting = new WebSocket("ws://queue.test:8002/", [], { connector: gated(calls, "waiting") });
    waiting.onerror = () => {};
    const third = new WebSocket("ws://queue.test:8002/", [], { connector: gated(calls, "third") });
    const closed = new Promise<CloseEvent>((resolve) =>
      waiting.addEventListener("close", (event) => resolve(event as CloseEvent)),
    );
    waiting.close();
    expect((await closed).code).toBe(1006);
    await nextTurn();
    expect(calls).toEqual(["first"]);
    fail(new Error("refused"));
    await third.opened;
    expect(calls).toEqual(["first", "third"]);
    third.close();
  });
});

describe('a clean close (WHATWG "closed cleanly", RFC 6455 §7.1.4)', () => {
  it("a transport error after both close frames were exchanged still closes cleanly, with the code received", async () => {
    // A raw peer: answers the client's close frame with a close frame (1000), then the
    // connection is reset instead of ending (as a peer that drops TCP, or TLS without close_notify).
    const [clientTransport, serverTransport] = memoryTransportPair();
    const connector: Connector = async () => {
      const client = new Session(clientTransport, { role: "client" });
      clientTransport.receiver = client;
      serverTransport.receiver = {
        onData(chunk) {
          if (((chunk[0] as number) & 0x0f) !== 0x8) return;
          serverTransport.write([new Uint8Array([0x88, 0x02, 0x03, 0xe8])]);
          setTimeout(() => client.onError(new Error("read ECONNRESET")), 5);
        },
        onEnd() {},
        onDrain() {},
        onError() {},
      };
      return client;
    };
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector });
    await ws.opened;
    const closed = new Promise<CloseEvent>((resolve) =>
      ws.addEventListener("close", (event) => resolve(event as CloseEvent)),
    );
    ws.close(1000);
    const event = await closed;
    expect([event.code, event.wasClean]).toEqual([1000, true]);
  });

  it("a transport error before the peer's close frame is an abnormal closure (1006)", async () => {
    const [clientTransport, serverTransport] = memoryTransportPair();
    const connector: Connector = async () => {
      const client = new Session(clientTransport, { role: "client" });
      clientTransport.receiver = client;
      serverTransport.receiver = {
        onData: () => setTimeout(() => client.onError(new Error("read ECONNRESET")), 5),
        onEnd() {},
        onDrain() {},
        onError() {},
      };
      return client;
    };
    const ws = new WebSocket("ws://127.0.0.1/", [], { connector });
    ws.onerror = () => {};
    await ws.opened;
    const closed = new Promise<CloseEvent>((resolve) =>
      ws.addEventListener("close", (event) => resolve(event as CloseEvent)),
    );
    ws.close(1000);
    const event = await closed;
    expect([event.code, event.wasClean]).toEqual([1006, false]);
  });
});
