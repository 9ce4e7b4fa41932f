/**
 * WHATWG WebSockets (https://websockets.spec.whatwg.org/) and WebIDL (https://webidl.spec.whatwg.org/)
 * rules of the `WebSocket` class and `CloseEvent`, one test per rule, citing the section. Run on
 * Node, Deno and Bun (this package's test scripts); where a rule is about the class's shape, the
 * same check also runs against the runtime's built-in `WebSocket` on Node ≥ 22 as a reference.
 */
import { describe, expect, it } from "vitest";
import { type DialConnection, dial } from "./dial.ts";
import { CloseEvent } from "./events.ts";
import { memoryTransportPair } from "./memory-transport.ts";
import { Session } from "./session.ts";
import { type Connector, WebSocket } from "./websocket.ts";

/** Node's built-in `WebSocket` (Node ≥ 22), the reference; undefined on Deno, Bun and Node 20. */
const nativeWebSocket: typeof WebSocket | undefined =
  !("Deno" in globalThis) && !("Bun" in globalThis) && typeof globalThis.WebSocket === "function"
    ? (globalThis.WebSocket as unknown as typeof WebSocket)
    : undefined;

/** Our class, and the reference where there is one. */
const classes: [string, typeof WebSocket][] = [
  ["ours", WebSocket],
  ...(nativeWebSocket === undefined
    ? []
    : [["Node's built-in", nativeWebSocket] as [string, typeof WebSocket]]),
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
