/**
 * Fault injection with real sockets on loopback: a raw TCP peer that resets in the middle of a
 * frame, half-closes (FIN) in each direction and at each point of the close handshake, stops
 * reading in the middle of a message, resets while the server is writing (EPIPE/ECONNRESET),
 * or writes a frame one byte per TCP segment.
 *
 * What must hold: the process does not crash (no uncaught error), the server reports the right
 * close code (1006 when the transport died first) and keeps serving fresh clients, the close
 * reply goes out before a FIN, and every socket is closed afterwards (the HTTP server counts
 * none left).
 */
import { createServer, type Server as HttpServer } from "node:http";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { computeAcceptKey } from "@ws/codec/handshake";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CloseEvent,
  connect,
  type WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import {
  cleanup,
  closeCodeOf,
  closePayload,
  defer,
  nextEvent,
  parseFrames,
  type RawFrame,
  rawClient,
  rawFrame,
  sleep,
} from "./helpers.ts";

afterEach(cleanup);

interface Closed {
  code: number;
  wasClean: boolean;
}

function closed(ws: WebSocket): Promise<Closed> {
  return nextEvent<CloseEvent>(ws, "close").then(({ code, wasClean }) => ({ code, wasClean }));
}

/** An echo server on its own HTTP server, so that the test can count the sockets left open. */
async function echoServer(options: Partial<WebSocketServerOptions> = {}): Promise<{
  http: HttpServer;
  wss: WebSocketServer;
  port: number;
  accepted: () => Promise<WebSocket>;
}> {
  const http = createServer();
  defer(http, (s) => {
    s.closeAllConnections();
    return new Promise((resolve) => s.close(resolve));
  });
  const wss = defer(new WebSocketServer({ server: http, closeTimeout: 300, ...options }), (s) =>
    s.close(100),
  );
  const waiting: ((ws: WebSocket) => void)[] = [];
  const ready: WebSocket[] = [];
  wss.on("connection", (ws) => {
    const socket = ws as WebSocket;
    socket.addEventListener("message", (event) => socket.send((event as MessageEvent).data));
    const waiter = waiting.shift();
    if (waiter === undefined) ready.push(socket);
    else waiter(socket);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const accepted = (): Promise<WebSocket> => {
    const socket = ready.shift();
    return socket !== undefined ? Promise.resolve(socket) : new Promise((resolve) => waiting.push(resolve));
  };
  return { http, wss, port: (http.address() as AddressInfo).port, accepted };
}

/** The number of sockets the HTTP server still holds, once it has settled (polled, bounded). */
async function openSockets(http: HttpServer): Promise<number> {
  let count = -1;
  for (let i = 0; i < 100; i++) {
    count = await new Promise<number>((resolve, reject) =>
      http.getConnections((error, n) => (error ? reject(error) : resolve(n))),
    );
    if (count === 0) return 0;
    await sleep(20);
  }
  return count;
}

/** A fresh client still gets its echo. */
async function stillEchoes(port: number): Promise<void> {
  const client = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
  const echoed = nextEvent<MessageEvent>(client, "message");
  client.send("still there?");
  expect((await echoed).data).toBe("still there?");
  client.close();
  await nextEvent(client, "close");
}

describe("fault injection, real sockets (server side)", () => {
  it("a reset in the middle of a frame: 1006, the server goes on, no socket left", async () => {
    const { http, port, accepted } = await echoServer();
    const raw = await rawClient(port);
    const ws = await accepted();
    const done = closed(ws);
    // A header declaring 1000 bytes, then 10 of them, then an RST.
    raw.socket.write(rawFrame(0x2, new Uint8Array(1000)).subarray(0, 16));
    await sleep(20);
    raw.socket.resetAndDestroy();
    expect(await done).toEqual({ code: 1006, wasClean: false });
    await stillEchoes(port);
    expect(await openSockets(http)).toBe(0);
  });

  it("a FIN in the middle of a message, without a close frame: 1006, and the server closes its side", async () => {
    const { http, port, accepted } = await echoServer();
    const raw = await rawClient(port);
    const ws = await accepted();
    const done = closed(ws);
    raw.socket.write(rawFrame(0x1, new TextEncoder().encode("part"), { fin: false }));
    raw.socket.end();
    expect(await done).toEqual({ code: 1006, wasClean: false });
    await raw.ended;
    expect(await openSockets(http)).toBe(0);
  });

  it("a close frame and a FIN at once: the close reply still goes out, then the server's FIN", async () => {
    const { http, port, accepted } = await echoServer();
    const raw = await rawClient(port);
    const ws = await accepted();
    const done = closed(ws);
    raw.socket.end(rawFrame(0x8, closePayload(4000, "bye")));
    expect(await done).toEqual({ code: 4000, wasClean: true });
    await raw.ended;
    expect(raw.frames.map((f) => f.opcode)).toEqual([0x8]);
    expect(closeCodeOf((raw.frames[0] as RawFrame).payload)).toBe(4000);
    expect(await openSockets(http)).toBe(0);
  });

  it("the server closes and the client answers with a FIN only: 1006, released at once", async () => {
    const { http, port, accepted } = await echoServer();
    const raw = await rawClient(port);
    const ws = await accepted();
    const done = closed(ws);
    ws.close(1000);
    await raw.waitFrames(1);
    raw.socket.end();
    expect(await done).toEqual({ code: 1006, wasClean: false });
    expect(await openSockets(http)).toBe(0);
  });

  it("a frame written one byte per TCP segment is echoed whole", async () => {
    const { port } = await echoServer();
    const raw = await rawClient(port);
    raw.socket.setNoDelay(true);
    const frame = rawFrame(0x1, new TextEncoder().encode("byte by byte €"));
    for (const byte of frame) {
      raw.socket.write(Buffer.from([byte]));
      await sleep(1);
    }
    const [echo] = await raw.waitFrames(1);
    expect(new TextDecoder().decode(echo?.payload)).toBe("byte by byte €");
  });

  it("a peer that stops reading mid-message: the send limit closes it, the close timeout drops it", async () => {
    const { http, port, wss } = await echoServer({ limits: { maxBufferedAmount: 1024 * 1024 } });
    const accepted = new Promise<WebSocket>((resolve) =>
      wss.once("connection", (ws) => resolve(ws as WebSocket)),
    );
    const raw = await rawClient(port);
    const ws = await accepted;
    const errors: unknown[] = [];
    ws.addEventListener("error", (event) => errors.push((event as ErrorEvent).error ?? event));
    const done = closed(ws);
    raw.socket.pause();
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 1000 && ws.readyState === ws.OPEN; i++) {
      ws.send(chunk);
      if (i % 16 === 15) await sleep(5);
    }
    expect(await done).toMatchObject({ code: 1006, wasClean: false });
    expect(errors.length).toBeGreaterThan(0);
    await stillEchoes(port);
    expect(await openSockets(http)).toBe(0);
  });

  it("a reset while the server writes a large message (EPIPE/ECONNRESET): 1006, no crash", async () => {
    const { http, port, accepted } = await echoServer();
    const raw = await rawClient(port);
    const ws = await accepted();
    const done = closed(ws);
    raw.socket.pause();
    for (let i = 0; i < 64; i++) ws.send(new Uint8Array(256 * 1024));
    await sleep(20);
    raw.socket.resetAndDestroy();
    for (let i = 0; i < 16 && ws.readyState === ws.OPEN; i++) {
      ws.send(new Uint8Array(256 * 1024));
      await sleep(5);
    }
    expect(await done).toEqual({ code: 1006, wasClean: false });
    await stillEchoes(port);
    expect(await openSockets(http)).toBe(0);
  });
});

/** A raw server that completes the handshake, then hands its socket and what it receives to `onOpen`. */
async function rawPeerServer(
  onOpen: (socket: Socket, frames: RawFrame[], ended: Promise<void>) => void,
): Promise<number> {
  const server = createNetServer((socket) => {
    defer(socket, (s) => s.destroy());
    socket.on("error", () => {});
    let head = "";
    let buffer = Buffer.alloc(0);
    const frames: RawFrame[] = [];
    const ended = new Promise<void>((resolve) => socket.once("end", () => resolve()));
    const onData = (chunk: Buffer): void => {
      if (head.indexOf("\r\n\r\n") === -1) {
        head += chunk.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${computeAcceptKey(key)}\r\n\r\n`,
        );
        onOpen(socket, frames, ended);
        return;
      }
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseFrames(buffer);
      buffer = Buffer.from(parsed.rest);
      frames.push(...parsed.frames);
    };
    socket.on("data", onData);
  });
  defer(server, (s) => new Promise((resolve) => s.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("fault injection, real sockets (client side)", () => {
  it("the server's close frame and FIN at once: the client sends its close reply, then closes", async () => {
    let serverSide: { frames: RawFrame[]; ended: Promise<void> } | undefined;
    const port = await rawPeerServer((socket, frames, ended) => {
      serverSide = { frames, ended };
      socket.end(rawFrame(0x8, closePayload(1001, "going"), { mask: false }));
    });
    const client = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
    expect(await closed(client)).toEqual({ code: 1001, wasClean: true });
    await serverSide?.ended;
    expect(serverSide?.frames.map((f) => f.opcode)).toEqual([0x8]);
    expect(closeCodeOf(serverSide?.frames[0]?.payload)).toBe(1001);
  });

  it("the server resets in the middle of a frame: 1006 on the client, no crash", async () => {
    const port = await rawPeerServer((socket) => {
      socket.write(rawFrame(0x2, new Uint8Array(5000), { mask: false }).subarray(0, 100));
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    const client = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
    expect(await closed(client)).toEqual({ code: 1006, wasClean: false });
  });

  it("the server sends a FIN without a close frame: 1006, and the client's socket is closed", async () => {
    let ended: Promise<void> | undefined;
    const port = await rawPeerServer((socket) => {
      ended = new Promise((resolve) => socket.once("close", () => resolve()));
      socket.end();
    });
    const client = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
    expect(await closed(client)).toEqual({ code: 1006, wasClean: false });
    await ended;
  });
});
