import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import { type CloseEvent, connect, WebSocket, WebSocketServer } from "../src/index.ts";
import { cleanup, defer, nextEvent, startEchoServer, wsEchoServer } from "./helpers.ts";

afterEach(cleanup);

const MiB = 1024 * 1024;

/** Sends `data` and resolves with the echoed message's data. */
function roundTrip(ws: WebSocket, data: string | Uint8Array): Promise<unknown> {
  const got = nextEvent<MessageEvent>(ws, "message").then((event) => event.data);
  ws.send(data);
  return got;
}

function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

describe("our client against a ws server", () => {
  it("echoes text, binary, empty, 1 MiB and 16 MiB messages", async () => {
    const { url } = await wsEchoServer({ maxPayload: 64 * MiB });
    const ws = defer(await connect(url, { binaryType: "uint8array" }), (s) => s.terminate());
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(await roundTrip(ws, "hello")).toBe("hello");
    expect(await roundTrip(ws, "")).toBe("");
    expect(await roundTrip(ws, "héllo €𝄞")).toBe("héllo €𝄞");
    expect(await roundTrip(ws, new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(await roundTrip(ws, new Uint8Array(0))).toEqual(new Uint8Array(0));
    const one = pattern(MiB);
    expect(Buffer.compare(Buffer.from((await roundTrip(ws, one)) as Uint8Array), Buffer.from(one))).toBe(0);
    const sixteen = pattern(16 * MiB);
    expect(
      Buffer.compare(Buffer.from((await roundTrip(ws, sixteen)) as Uint8Array), Buffer.from(sixteen)),
    ).toBe(0);
    ws.close(1000, "done");
    const closed = await nextEvent<CloseEvent>(ws, "close");
    expect({ code: closed.code, reason: closed.reason, wasClean: closed.wasClean }).toEqual({
      code: 1000,
      reason: "done",
      wasClean: true,
    });
  });

  it("delivers binary as Blob by default and as ArrayBuffer on request (WHATWG binaryType)", async () => {
    const { url } = await wsEchoServer();
    const ws = defer(await connect(url), (s) => s.terminate());
    expect(ws.binaryType).toBe("blob");
    const blob = (await roundTrip(ws, new Uint8Array([9, 8]))) as Blob;
    expect(blob).toBeInstanceOf(Blob);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(new Uint8Array([9, 8]));
    ws.binaryType = "arraybuffer";
    const buffer = (await roundTrip(ws, new Uint8Array([7]))) as ArrayBuffer;
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(buffer)).toEqual(new Uint8Array([7]));
    ws.send(new Blob([new Uint8Array([1, 2])]));
    const event = await nextEvent<MessageEvent>(ws, "message");
    expect(new Uint8Array(event.data as ArrayBuffer)).toEqual(new Uint8Array([1, 2]));
  });

  it("fires open, then message, then close with the WHATWG event handler attributes", async () => {
    const { url } = await wsEchoServer();
    const ws = new WebSocket(url);
    defer(ws, (s) => s.terminate());
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    expect(() => ws.send("too early")).toThrow(expect.objectContaining({ name: "InvalidStateError" }));
    const log: string[] = [];
    const done = new Promise<void>((resolve) => {
      ws.onopen = () => {
        log.push("open");
        ws.send("x");
      };
      ws.onmessage = (event) => {
        log.push(`message:${(event as MessageEvent).data}`);
        ws.close();
      };
      ws.onclose = (event) => {
        log.push(`close:${(event as CloseEvent).code}`);
        resolve();
      };
    });
    await done;
    expect(log).toEqual(["open", "message:x", "close:1005"]);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("selects a subprotocol offered by the client", async () => {
    const { url } = await wsEchoServer({
      handleProtocols: (protocols) => (protocols.has("superchat") ? "superchat" : false),
    });
    const ws = defer(await connect(url, { protocols: ["chat", "superchat"] }), (s) => s.terminate());
    expect(ws.protocol).toBe("superchat");
    expect(ws.extensions).toBe("");
  });
});

describe("a ws client against our server", () => {
  it("echoes text, binary, empty, 1 MiB and 16 MiB messages and echoes the close code", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    const client = new WsClient(echo.url, ["chat"]);
    defer(client, (c) => c.terminate());
    await new Promise((resolve, reject) => {
      client.once("open", resolve);
      client.once("error", reject);
    });
    expect(client.protocol).toBe("chat");
    const next = (): Promise<{ data: Buffer; isBinary: boolean }> =>
      new Promise((resolve) =>
        client.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
      );
    for (const message of ["hello", "", "héllo €𝄞"]) {
      client.send(message);
      const got = await next();
      expect(got.isBinary).toBe(false);
      expect(got.data.toString()).toBe(message);
    }
    for (const size of [0, 3, MiB, 16 * MiB]) {
      const bytes = pattern(size);
      client.send(bytes);
      const got = await next();
      expect(got.isBinary).toBe(true);
      expect(Buffer.compare(got.data, Buffer.from(bytes))).toBe(0);
    }
    const closed = new Promise<[number, string]>((resolve) =>
      client.once("close", (code, reason) => resolve([code, reason.toString()])),
    );
    client.close(4001, "bye");
    expect(await closed).toEqual([4001, "bye"]);
  });

  it("closes from the server at /close?code=C&reason=R", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    const client = new WsClient(`${echo.url}/close?code=4321&reason=server%20says%20bye`);
    defer(client, (c) => c.terminate());
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      client.once("close", (c, r) => resolve([c, r.toString()])),
    );
    expect([code, reason]).toEqual([4321, "server says bye"]);
  });

  it("picks the first offered subprotocol it supports, or none", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    for (const [offered, expected] of [
      [["superchat", "chat"], "superchat"],
      [["other", "chat"], "chat"],
      [["other"], ""],
    ] as const) {
      const ws = defer(await connect(echo.url, { protocols: offered }), (s) => s.terminate());
      expect(ws.protocol).toBe(expected);
      ws.close();
    }
  });

  it("exposes accepted sockets in clients and sends to them", async () => {
    const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    defer(server, (s) => s.close());
    await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
    const connected = new Promise<WebSocket>((resolve) =>
      server.once("connection", (ws) => resolve(ws as WebSocket)),
    );
    const client = new WsClient(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/path?x=1`);
    defer(client, (c) => c.terminate());
    const ws = await connected;
    expect(ws).toBeInstanceOf(WebSocket);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(server.clients.size).toBe(1);
    expect(new URL(ws.url).pathname).toBe("/path");
    const got = new Promise<string>((resolve) => client.once("message", (data) => resolve(String(data))));
    ws.send("from server");
    expect(await got).toBe("from server");
    client.close();
    await nextEvent(ws, "close");
    expect(server.clients.size).toBe(0);
  });
});
