/**
 * Fault injection with real sockets on loopback (Deno): a raw TCP peer that half-closes (FIN)
 * right after its close frame or in the middle of a message, a server that closes and ends at
 * once, and a peer that stops reading. The right close code, the close reply before the FIN,
 * and a server that goes on serving; the same cases as @ws/node's fault-injection suite.
 */

import { computeAcceptKey } from "@ws/codec/handshake";
import { expect } from "expect";
import {
  type CloseEvent,
  connect,
  type WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/mod.ts";
import {
  closePayload,
  type Defer,
  nextEvent,
  parseFrames,
  type RawFrame,
  rawClient,
  rawFrame,
  test,
} from "./helpers.ts";

const ascii = new TextEncoder();

/** An echo server, and a way to wait for its next accepted socket. */
async function echoServer(defer: Defer, options: Partial<WebSocketServerOptions> = {}) {
  const wss = defer(
    new WebSocketServer({
      port: 0,
      host: "127.0.0.1",
      closeTimeout: 300,
      ...options,
    } as WebSocketServerOptions),
    (s) => s.close(100),
  );
  const accepted: WebSocket[] = [];
  const waiting: ((ws: WebSocket) => void)[] = [];
  wss.on("connection", (ws: WebSocket) => {
    ws.addEventListener("message", (event) => ws.send((event as MessageEvent).data));
    const waiter = waiting.shift();
    if (waiter === undefined) accepted.push(ws);
    else waiter(ws);
  });
  await new Promise((resolve) => wss.once("listening", () => resolve(undefined)));
  const next = (): Promise<WebSocket> => {
    const ws = accepted.shift();
    return ws !== undefined ? Promise.resolve(ws) : new Promise((resolve) => waiting.push(resolve));
  };
  return { port: wss.address()!.port, next };
}

function closed(ws: WebSocket): Promise<[number, boolean]> {
  return nextEvent<CloseEvent>(ws, "close").then((e) => [e.code, e.wasClean]);
}

async function stillEchoes(defer: Defer, port: number): Promise<void> {
  const client = defer(await connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
  const echoed = nextEvent<MessageEvent>(client, "message");
  client.send("still there?");
  expect((await echoed).data).toBe("still there?");
  client.close();
  await nextEvent(client, "close");
}

test("fault injection (server): a close frame and a FIN at once get the close reply, then the server's FIN", async (defer) => {
  const { port, next } = await echoServer(defer);
  const raw = await rawClient(port);
  defer(raw.conn, (c) => c.close());
  await raw.head();
  const ws = await next();
  const done = closed(ws);
  await raw.conn.write(rawFrame(0x8, closePayload(4000, "bye")));
  await raw.conn.closeWrite();
  expect(await done).toStrictEqual([4000, true]);
  const frames = await raw.waitFrames(1);
  expect(frames.map((f) => f.opcode)).toStrictEqual([0x8]);
  await raw.ended();
});

test("fault injection (server): a FIN in the middle of a message is 1006, the server ends its side and goes on", async (defer) => {
  const { port, next } = await echoServer(defer);
  const raw = await rawClient(port);
  defer(raw.conn, (c) => c.close());
  await raw.head();
  const ws = await next();
  const done = closed(ws);
  await raw.conn.write(rawFrame(0x1, ascii.encode("part"), { fin: false }));
  await raw.conn.closeWrite();
  expect(await done).toStrictEqual([1006, false]);
  await raw.ended();
  await stillEchoes(defer, port);
});

test("fault injection (server): a peer that stops reading is closed by the send limit and the close timeout", async (defer) => {
  const { port, next } = await echoServer(defer, { limits: { maxBufferedAmount: 1024 * 1024 } });
  const raw = await rawClient(port);
  defer(raw.conn, (c) => c.close());
  await raw.head();
  const ws = await next();
  const done = closed(ws);
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < 1000 && ws.readyState === ws.OPEN; i++) {
    ws.send(chunk);
    if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(await done).toStrictEqual([1006, false]);
  await stillEchoes(defer, port);
});

/** A raw server: completes the handshake, then `onOpen(conn)`; collects the frames it gets. */
async function rawPeerServer(defer: Defer, onOpen: (conn: Deno.Conn) => Promise<void>) {
  const listener = defer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), (l) => l.close());
  const frames: RawFrame[] = [];
  let resolveEnded!: () => void;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
  void (async () => {
    const conn = await listener.accept();
    defer(conn, (c) => {
      try {
        c.close();
      } catch {
        // Already closed.
      }
    });
    let buffer = new Uint8Array(0);
    let opened = false;
    const chunk = new Uint8Array(65536);
    for (;;) {
      let n: number | null = null;
      try {
        n = await conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) break;
      const joined = new Uint8Array(buffer.length + n);
      joined.set(buffer);
      joined.set(chunk.subarray(0, n), buffer.length);
      buffer = joined;
      if (!opened) {
        const text = new TextDecoder("latin1").decode(buffer);
        const end = text.indexOf("\r\n\r\n");
        if (end === -1) continue;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(text)?.[1] ?? "";
        buffer = buffer.slice(end + 4);
        opened = true;
        await conn.write(
          ascii.encode(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              `Sec-WebSocket-Accept: ${computeAcceptKey(key)}\r\n\r\n`,
          ),
        );
        await onOpen(conn);
      }
      const parsed = parseFrames(buffer);
      buffer = parsed.rest;
      frames.push(...parsed.frames);
    }
    resolveEnded();
  })();
  return { port: (listener.addr as Deno.NetAddr).port, frames, ended };
}

test("fault injection (client): the server's close frame and FIN at once: the client replies, cleanly", async (defer) => {
  const peer = await rawPeerServer(defer, async (conn) => {
    const payload = closePayload(1001, "going");
    await conn.write(new Uint8Array([0x88, payload.length, ...payload]));
    await conn.closeWrite();
  });
  const client = defer(await connect(`ws://127.0.0.1:${peer.port}`), (c) => c.terminate());
  expect(await closed(client)).toStrictEqual([1001, true]);
  await peer.ended;
  expect(peer.frames.map((f) => f.opcode)).toStrictEqual([0x8]);
});

test("fault injection (client): the server's FIN without a close frame is 1006", async (defer) => {
  const peer = await rawPeerServer(defer, async (conn) => {
    await conn.closeWrite();
  });
  const client = defer(await connect(`ws://127.0.0.1:${peer.port}`), (c) => c.terminate());
  expect(await closed(client)).toStrictEqual([1006, false]);
  await peer.ended;
});
