import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  connect,
  type MessagePiece,
  WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import { cleanup, defer, nextEvent, rawClient, rawFrame, rawServer, sleep, wsEchoServer } from "./helpers.ts";

afterEach(cleanup);

const MiB = 1024 * 1024;

async function listeningServer(options: WebSocketServerOptions = {}): Promise<{
  server: WebSocketServer;
  port: number;
}> {
  const server = defer(new WebSocketServer({ port: 0, host: "127.0.0.1", ...options }), (s) => s.close(100));
  await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
  return { server, port: (server.address() as { port: number }).port };
}

describe("receive backpressure", () => {
  it("keeps the bytes buffered in our process bounded while a peer writes 100 MB to a slow reader", async () => {
    let socket: Socket | undefined;
    const { server, port } = await listeningServer({
      verify: (info) => {
        socket = info.request.socket;
      },
    });
    const accepted = new Promise<WebSocket>((resolve) =>
      server.once("connection", (ws) => resolve(ws as WebSocket)),
    );
    const raw = await rawClient(port);
    const ws = await accepted;
    const iterator = ws[Symbol.asyncIterator]();
    // Our process holds: what the socket read ahead, undecoded frames and unread messages.
    let maxHeld = 0;
    const sample = (): void => {
      const session = ws.session;
      if (session === undefined || socket === undefined) return;
      const held = socket.readableLength + session.inboundBufferedAmount;
      maxHeld = Math.max(maxHeld, held);
    };
    const sampler = setInterval(sample, 1);
    defer(sampler, clearInterval);

    const frame = rawFrame(0x2, new Uint8Array(MiB).fill(7));
    let sent = 0;
    const writer = (async () => {
      for (let i = 0; i < 100; i++) {
        if (!raw.socket.write(frame)) await new Promise((resolve) => raw.socket.once("drain", resolve));
        sent++;
      }
    })();
    // Nobody reads: the peer must get stuck well before 100 MB.
    await sleep(300);
    sample();
    expect(sent).toBeLessThan(100);

    let received = 0;
    let bytes = 0;
    for (;;) {
      const result = await iterator.next();
      sample();
      if (result.done) break;
      bytes += (result.value as Uint8Array).length;
      if (++received === 100) break;
    }
    await writer;
    expect(received).toBe(100);
    expect(bytes).toBe(100 * MiB);
    expect(maxHeld).toBeLessThan(8 * MiB);
  });
});

describe("send backpressure", () => {
  it("needsDrain is set when the socket buffer is full; drained() resolves once it empties", async () => {
    let peer: Socket | undefined;
    const server = await rawServer((socket) => {
      peer = socket;
      socket.pause();
    });
    const ws = defer(await connect(`ws://127.0.0.1:${server.port}`), (c) => c.terminate());
    const chunk = new Uint8Array(MiB);
    let sends = 0;
    do ws.send(chunk);
    while (!ws.needsDrain && ++sends < 200);
    expect(sends).toBeLessThan(200);
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    const drained = ws.drained();
    peer?.resume();
    await drained;
    expect(ws.needsDrain).toBe(false);
    expect(ws.send(new Uint8Array(1))).toBeUndefined(); // WebIDL: send() returns undefined
    expect(ws.needsDrain).toBe(false);
  });
});

describe("streams and async iteration", () => {
  it("iterates messages with for await until the peer closes", async () => {
    const { server, port } = await listeningServer();
    server.on("connection", (ws) => {
      ws.send("a");
      ws.send(new Uint8Array([1]));
      ws.send("b");
      ws.close(1000);
    });
    const ws = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
    const got: (string | Uint8Array)[] = [];
    for await (const message of ws) got.push(message);
    expect(got).toEqual(["a", new Uint8Array([1]), "b"]);
  });

  it("offers a WebSocketStream-like readable/writable pair", async () => {
    const { url } = await wsEchoServer();
    const ws = defer(new WebSocket(url), (c) => c.terminate());
    const { readable, writable } = ws.stream();
    const writer = writable.getWriter();
    const reader = readable.getReader();
    await writer.write("one");
    await writer.write(new Uint8Array([2, 3]));
    expect((await reader.read()).value).toBe("one");
    expect((await reader.read()).value).toEqual(new Uint8Array([2, 3]));
    await writer.close();
    expect((await reader.read()).done).toBe(true);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it("sends a 16 MiB message as a stream of 64 KiB pieces (one message, many frames)", async () => {
    const { url } = await wsEchoServer({ maxPayload: 64 * MiB });
    const ws = defer(await connect(url, { binaryType: "uint8array" }), (c) => c.terminate());
    const pieces = function* (): Generator<Uint8Array> {
      for (let i = 0; i < 256; i++) yield new Uint8Array(64 * 1024).fill(i);
    };
    const echoed = nextEvent<MessageEvent>(ws, "message");
    await ws.sendStream(pieces());
    const data = (await echoed).data as Uint8Array;
    expect(data.length).toBe(16 * MiB);
    expect(data[0]).toBe(0);
    expect(data[16 * MiB - 1]).toBe(255);
  });

  it("receives a large message as pieces with streamMessages", async () => {
    const { server, port } = await listeningServer();
    server.on("connection", (ws) => ws.send(new Uint8Array(4 * MiB).fill(5)));
    const ws = defer(await connect(`ws://127.0.0.1:${port}`, { streamMessages: true }), (c) => c.terminate());
    let total = 0;
    let count = 0;
    for await (const piece of ws.pieces() as AsyncIterable<MessagePiece>) {
      total += piece.data.length;
      count++;
      if (piece.last) break;
    }
    expect(total).toBe(4 * MiB);
    expect(count).toBeGreaterThan(1);
  });
});
