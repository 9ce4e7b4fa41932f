/**
 * The `WebSocket`'s event target state made on first use (lazy-event-target.ts): the runtime's
 * own `EventTarget` methods work on a socket that has none yet, with WHATWG `target`,
 * `currentTarget` and `eventPhase`; each socket has its own listeners; and where the probe
 * fails (Bun's native `EventTarget`), the runtime's constructor runs as before.
 */
import { describe, expect, it } from "vitest";
import { hasEventTargetState, lazyEventTarget } from "./lazy-event-target.ts";
import { memoryTransportPair } from "./memory-transport.ts";
import { Session } from "./session.ts";
import { type Connector, WebSocket } from "./websocket.ts";

/** Whether this runtime's `EventTarget` keeps its state where the lazy base can make it. */
const lazy = lazyEventTarget() !== EventTarget;

/** A connector to an in-memory echo server. */
const connector: Connector = async () => {
  const [clientTransport, serverTransport] = memoryTransportPair();
  const client = new Session(clientTransport, { role: "client" });
  const server = new Session(serverTransport, { role: "server" });
  clientTransport.receiver = client;
  serverTransport.receiver = server;
  server.handler = { message: (data) => server.send(data) };
  server.start();
  return client;
};

/** A socket still connecting: nothing has been dispatched to it yet. */
const fresh = (): WebSocket => new WebSocket("ws://127.0.0.1/", [], { connector });

describe("WebSocket event target state", () => {
  it("is lazy on Node and Deno, whose EventTarget keeps its state in own properties; Bun's native one is constructed as before", () => {
    expect(lazy).toBe(!("Bun" in globalThis));
    if (!lazy) expect(hasEventTargetState(fresh())).toBe(true);
  });

  it("is made by the first addEventListener; the socket is an EventTarget before", () => {
    const ws = fresh();
    expect(ws instanceof EventTarget).toBe(true);
    expect(Object.getPrototypeOf(WebSocket.prototype)).toBe(EventTarget.prototype);
    expect(hasEventTargetState(ws)).toBe(!lazy);
    ws.addEventListener("probe", () => {});
    expect(hasEventTargetState(ws)).toBe(true);
    ws.close();
  });

  it("the runtime's own methods, called directly on a socket without state, add, dispatch (target, currentTarget, eventPhase) and remove", () => {
    const ws = fresh();
    const seen: unknown[] = [];
    const listener = function (this: unknown, event: Event): void {
      seen.push(this, event.target, event.currentTarget, event.eventPhase);
    };
    EventTarget.prototype.addEventListener.call(ws, "probe", listener);
    const event = new Event("probe", { cancelable: true });
    expect(EventTarget.prototype.dispatchEvent.call(ws, event)).toBe(true);
    expect(seen).toEqual([ws, ws, ws, Event.AT_TARGET]);
    expect(event.target).toBe(ws);
    expect(event.currentTarget).toBe(null);
    expect(event.eventPhase).toBe(Event.NONE);
    EventTarget.prototype.removeEventListener.call(ws, "probe", listener);
    ws.dispatchEvent(new Event("probe"));
    expect(seen).toHaveLength(4);
    ws.close();
  });

  it("dispatchEvent on a socket without state sets the event's target and returns !defaultPrevented", () => {
    const ws = fresh();
    const event = new Event("probe", { cancelable: true });
    expect(ws.dispatchEvent(event)).toBe(true);
    expect(event.target).toBe(ws);
    ws.close();
  });

  it("each socket has its own listeners", () => {
    const [first, second] = [fresh(), fresh()];
    let calls = 0;
    first.addEventListener("probe", () => calls++);
    second.dispatchEvent(new Event("probe"));
    expect(calls).toBe(0);
    first.dispatchEvent(new Event("probe"));
    expect(calls).toBe(1);
    first.close();
    second.close();
  });

  it("reading the state's keys on the prototype (as an inspector does) makes no state shared by every socket", () => {
    const keys = Reflect.ownKeys(new EventTarget());
    for (const key of keys) void (WebSocket.prototype as unknown as Record<PropertyKey, unknown>)[key];
    for (const key of keys) {
      const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, key);
      if (lazy) expect(typeof descriptor?.get, String(key)).toBe("function");
      else expect(descriptor).toBeUndefined();
    }
    const [first, second] = [fresh(), fresh()];
    let calls = 0;
    first.addEventListener("probe", () => calls++);
    second.dispatchEvent(new Event("probe"));
    expect(calls).toBe(0);
    first.close();
    second.close();
  });

  it("onmessage and the open, message and close events work as before", async () => {
    const ws = fresh();
    const seen: string[] = [];
    ws.onopen = () => ws.send("hello");
    ws.onmessage = (event) => {
      seen.push(`message ${String(event.data)} ${event.target === ws}`);
      ws.close(1000, "done");
    };
    const closed = new Promise<void>((resolve) => {
      ws.addEventListener("close", (event) => {
        seen.push(`close ${event.code} ${event.currentTarget === ws}`);
        resolve();
      });
    });
    await closed;
    expect(seen).toEqual(["message hello true", "close 1000 true"]);
  });
});
