import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { type CloseEvent, connect, WebSocket, WebSocketServer } from "../src/index.ts";
import { cleanup, defer, nextEvent, rawClient, rawServer, wsEchoServer } from "./helpers.ts";

afterEach(cleanup);

describe("ping and heartbeat", () => {
  it("ping() resolves with the round-trip time when the pong arrives", async () => {
    const { url } = await wsEchoServer();
    const ws = defer(await connect(url), (c) => c.terminate());
    const rtt = await ws.ping("hello");
    expect(typeof rtt).toBe("number");
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(await ws.ping()).toBeGreaterThanOrEqual(0);
  });

  it("answers a ws client's ping with the same payload", async () => {
    const server = defer(new WebSocketServer({ port: 0, host: "127.0.0.1" }), (s) => s.close(100));
    await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
    const client = defer(new WsClient(`ws://127.0.0.1:${(server.address() as { port: number }).port}`), (c) =>
      c.terminate(),
    );
    await new Promise((resolve) => client.once("open", resolve));
    const pong = new Promise<string>((resolve) => client.once("pong", (data) => resolve(data.toString())));
    client.ping("are you there");
    expect(await pong).toBe("are you there");
  });

  it("client heartbeat: a peer that completes the handshake and then stays silent is closed as 1006", async () => {
    const peer = await rawServer();
    const ws = defer(
      await connect(`ws://127.0.0.1:${peer.port}`, { heartbeat: { interval: 30, timeout: 60 } }),
      (c) => c.terminate(),
    );
    const event = await nextEvent<CloseEvent>(ws, "close");
    expect({ code: event.code, wasClean: event.wasClean }).toEqual({ code: 1006, wasClean: false });
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("server heartbeat: a silent raw client is dropped", async () => {
    const server = defer(
      new WebSocketServer({ port: 0, host: "127.0.0.1", heartbeat: { interval: 30, timeout: 60 } }),
      (s) => s.close(100),
    );
    await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
    const accepted = new Promise<WebSocket>((resolve) =>
      server.once("connection", (ws) => resolve(ws as WebSocket)),
    );
    const raw = await rawClient((server.address() as { port: number }).port);
    raw.socket.pause(); // read nothing, answer nothing
    const ws = await accepted;
    const event = await nextEvent<CloseEvent>(ws, "close");
    expect(event.code).toBe(1006);
    expect(server.clients.size).toBe(0);
  });

  it("heartbeat keeps a live connection open", async () => {
    const { url } = await wsEchoServer();
    const ws = defer(await connect(url, { heartbeat: { interval: 10, timeout: 200 } }), (c) => c.terminate());
    // Several heartbeat rounds pass; the peer answers each ping.
    for (let i = 0; i < 5; i++) await ws.ping();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});
