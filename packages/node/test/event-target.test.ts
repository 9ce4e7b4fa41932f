/**
 * A server's socket gets its event target state on first use (`@ws/session`'s
 * lazy-event-target.ts): Node's own `node:events` helpers, which read that state directly, work
 * on an accepted socket that has no listener yet, and its events reach listeners added late.
 */
import { EventEmitter, getEventListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connect, type WebSocket, WebSocketServer } from "../src/index.ts";
import { cleanup, defer } from "./helpers.ts";

afterEach(cleanup);

async function accepted(): Promise<{ serverSide: WebSocket; client: WebSocket }> {
  const server = defer(new WebSocketServer({ port: 0, host: "127.0.0.1" }), (s) => s.close(100));
  await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
  const port = (server.address() as AddressInfo).port;
  const serverSide = new Promise<WebSocket>((resolve) => server.once("connection", (ws) => resolve(ws)));
  const client = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
  return { serverSide: await serverSide, client };
}

describe("an accepted socket as an EventTarget", () => {
  it("node:events getEventListeners and setMaxListeners work before its first listener", async () => {
    const { serverSide } = await accepted();
    expect(getEventListeners(serverSide, "message")).toEqual([]);
    EventEmitter.setMaxListeners(1, serverSide);
    expect(EventEmitter.getMaxListeners(serverSide)).toBe(1);
    const listener = (): void => {};
    serverSide.addEventListener("message", listener);
    expect(getEventListeners(serverSide, "message")).toHaveLength(1);
    // The limit set before the state was made is kept.
    expect(EventEmitter.getMaxListeners(serverSide)).toBe(1);
  });

  it("a listener added after messages went by unseen gets the next one, with the socket as target", async () => {
    const { serverSide, client } = await accepted();
    serverSide.binaryType = "arraybuffer";
    client.send("unseen");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = new Promise<MessageEvent>((resolve) =>
      serverSide.addEventListener("message", resolve, { once: true }),
    );
    client.send("seen");
    const event = await next;
    expect([event.data, event.target === serverSide]).toEqual(["seen", true]);
  });
});
