/**
 * @ws/bun under `bun test`: our client and server against each other, Bun's native
 * `WebSocket` client against our server, our client against `Bun.serve`, close orderings,
 * limits, backpressure, ping, handshake rejections, TLS (@ws/node attached to node:http is in
 * handler.test.ts, a shared scenario).
 */
import { describe, expect, it } from "bun:test";
import { big } from "../../../tools/test-support/payloads.ts";
import {
  type CloseEvent,
  connect,
  HandshakeRejectedError,
  WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import { SocketTransport } from "../src/socket-transport.ts";
import {
  cleanupAfterEach,
  closeCodeOf,
  nextEvent,
  rawClient,
  rawFrame,
  selfSigned,
  startEchoServer,
} from "./helpers.ts";

const defer = cleanupAfterEach();

async function server(
  options: Partial<WebSocketServerOptions> = {},
): Promise<{ wss: WebSocketServer; url: string; port: number }> {
  const wss = defer(
    new WebSocketServer({ port: 0, host: "127.0.0.1", ...options } as WebSocketServerOptions),
    (s) => s.close(100),
  );
  await new Promise((resolve) => wss.once("listening", () => resolve(undefined)));
  const port = wss.address()!.port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

async function echo(): Promise<string> {
  const e = await startEchoServer();
  defer(e, (s) => s.close());
  return e.url;
}

describe("echo", () => {
  it("our client against our server: text, binary, empty, 1 MiB and 16 MiB; close code echoed", async () => {
    const ws = defer(await connect(await echo(), { protocols: ["superchat", "chat"] }), (c) => c.terminate());
    expect(ws.protocol).toBe("superchat");
    const messages = ws[Symbol.asyncIterator]();
    for (const data of [
      "hello",
      "",
      "é ✓ 😀",
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      big(1 << 20),
      big(16 << 20),
    ]) {
      ws.send(data);
      const got = (await messages.next()).value;
      expect(got).toEqual(data);
    }
    const closed = nextEvent<CloseEvent>(ws, "close");
    ws.close(4001, "bye");
    const event = await closed;
    expect([event.code, event.reason, event.wasClean]).toEqual([4001, "bye", true]);
  });

  it("Bun's native WebSocket client against our server (text, binary, close code)", async () => {
    const native = new globalThis.WebSocket(await echo(), ["chat"]);
    native.binaryType = "arraybuffer";
    await nextEvent(native, "open");
    expect(native.protocol).toBe("chat");
    native.send("native");
    expect((await nextEvent<MessageEvent>(native, "message")).data).toBe("native");
    native.send(big(70_000));
    expect(new Uint8Array((await nextEvent<MessageEvent>(native, "message")).data)).toEqual(big(70_000));
    const closed = nextEvent<CloseEvent>(native, "close");
    native.close(4000, "done");
    const event = await closed;
    expect([event.code, event.reason]).toEqual([4000, "done"]);
  });

  it("our client against Bun.serve's native WebSocket server", async () => {
    const native = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request, srv) => (srv.upgrade(request) ? undefined : new Response("no", { status: 400 })),
      websocket: { message: (socket, message) => void socket.send(message) },
    });
    defer(native, (s) => s.stop(true));
    const ws = defer(await connect(`ws://127.0.0.1:${native.port}/`), (c) => c.terminate());
    const messages = ws[Symbol.asyncIterator]();
    ws.send("to bun");
    expect((await messages.next()).value).toBe("to bun");
    ws.send(big(200_000));
    expect((await messages.next()).value).toEqual(big(200_000));
    const closed = nextEvent<CloseEvent>(ws, "close");
    ws.close(1000);
    expect((await closed).code).toBe(1000);
  });
});

describe("close orderings", () => {
  async function pair(): Promise<{ client: WebSocket; serverSide: WebSocket }> {
    const { wss, url } = await server();
    const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const client = defer(await connect(url), (c) => c.terminate());
    return { client, serverSide: await accepted };
  }

  it("client first: the server sees the code and reason, the client the echoed code; both clean", async () => {
    const { client, serverSide } = await pair();
    const [c, s] = await Promise.all([
      nextEvent<CloseEvent>(client, "close"),
      nextEvent<CloseEvent>(serverSide, "close"),
      client.close(1000, "client bye"),
    ]);
    expect([s!.code, s!.reason, s!.wasClean]).toEqual([1000, "client bye", true]);
    expect([c!.code, c!.wasClean]).toEqual([1000, true]);
  });

  it("server first: the client sees the code and reason", async () => {
    const { client, serverSide } = await pair();
    const [c, s] = await Promise.all([
      nextEvent<CloseEvent>(client, "close"),
      nextEvent<CloseEvent>(serverSide, "close"),
      serverSide.close(4000, "server bye"),
    ]);
    expect([c!.code, c!.reason, c!.wasClean]).toEqual([4000, "server bye", true]);
    expect([s!.code, s!.wasClean]).toEqual([4000, true]);
  });

  it("both at once: each sees the other's code", async () => {
    const { client, serverSide } = await pair();
    const events = [nextEvent<CloseEvent>(client, "close"), nextEvent<CloseEvent>(serverSide, "close")];
    client.close(3001, "c");
    serverSide.close(3002, "s");
    const [c, s] = await Promise.all(events);
    expect([c!.code, s!.code]).toEqual([3002, 3001]);
  });

  it("no code: 1005 on both sides; terminate(): 1006", async () => {
    const { client, serverSide } = await pair();
    const events = [nextEvent<CloseEvent>(client, "close"), nextEvent<CloseEvent>(serverSide, "close")];
    client.close();
    for (const e of await Promise.all(events)) expect(e.code).toBe(1005);
    const second = await pair();
    const closed = nextEvent<CloseEvent>(second.serverSide, "close");
    second.client.terminate();
    expect((await closed).code).toBe(1006);
  });
});

describe("limits seen by the peer", () => {
  it("1009 for a message over maxMessageSize (native client sees it)", async () => {
    const { url } = await server({ limits: { maxMessageSize: 1000 } });
    const native = new globalThis.WebSocket(url);
    await nextEvent(native, "open");
    const closed = nextEvent<CloseEvent>(native, "close");
    native.send("x".repeat(1001));
    expect((await closed).code).toBe(1009);
  });

  it("1007 for invalid UTF-8 and 1002 for an unmasked or reserved frame (raw peer)", async () => {
    const { port } = await server();
    const bad = await rawClient(port);
    expect(await bad.head).toStartWith("HTTP/1.1 101");
    bad.write(rawFrame(0x1, new Uint8Array([0xc3, 0x28])));
    const [frame] = await bad.waitFrames(1);
    expect(frame!.opcode).toBe(0x8);
    expect(closeCodeOf(frame!.payload)).toBe(1007);
    const reserved = await rawClient(port);
    reserved.write(rawFrame(0x3));
    const [frame2] = await reserved.waitFrames(1);
    expect(closeCodeOf(frame2!.payload)).toBe(1002);
    await Promise.all([bad.ended, reserved.ended]);
  });
});

describe("backpressure", () => {
  it("needsDrain is set against a slow reader, bufferedAmount grows, then drains", async () => {
    const { wss, port } = await server();
    const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const raw = await rawClient(port);
    await raw.head;
    raw.pause();
    const ws = await accepted;
    const chunk = big(1 << 20);
    let sent = 0;
    do ws.send(chunk);
    while (!ws.needsDrain && ++sent < 256);
    expect(sent).toBeLessThan(256);
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    raw.resume();
    await ws.drained();
    expect(ws.bufferedAmount).toBe(0);
    await raw.waitFrames(sent + 1);
    raw.close();
  });

  it("the transport holds what Bun did not take and returns false until drained (copiesWrites: the session reuses only after true)", () => {
    const { transport, taken, allow } = meteredTransport();
    expect(transport.copiesWrites).toBe(true);
    const first = new Uint8Array(3000).map((_, i) => i % 251);
    const second = new Uint8Array(2000).map((_, i) => (3000 + i) % 251);
    allow(1000);
    expect(transport.write([first])).toBe(false); // 2000 bytes pending
    expect(transport.write([second])).toBe(false); // queued behind them
    expect(transport.bufferedAmount).toBe(4000);
    while (taken.length < 5000) {
      allow(700);
      transport.drain();
    }
    expect(transport.bufferedAmount).toBe(0);
    expect(taken.every((byte, i) => byte === i % 251)).toBe(true);
    allow(10);
    expect(transport.write([new Uint8Array(10)])).toBe(true); // all taken: the buffer is free again
  });

  it("the transport's write groups survive a socket that takes a few bytes at a time", () => {
    // Small chunks are copied together into a reused buffer; a rest Bun did not take may point
    // into it, so it must not be reused while anything is pending. A fake socket takes at most
    // a given number of bytes per write, and records them.
    const { transport, taken, allow, socket } = meteredTransport();
    // 300 chunks of 1–500 bytes (about 75 KiB: more than one group), each byte telling its place.
    const chunks: Uint8Array[] = [];
    let sent = 0;
    for (let i = 0; i < 300; i++) {
      const chunk = new Uint8Array(1 + ((i * 131) % 500));
      for (let j = 0; j < chunk.length; j++) chunk[j] = (sent + j) % 251;
      sent += chunk.length;
      chunks.push(chunk);
    }
    allow(1000); // less than the first group: the rest of it is pending
    expect(transport.write(chunks)).toBe(false);
    expect(transport.bufferedAmount).toBe(sent - 1000);
    // Another socket's write meanwhile (its bytes all taken) reuses the shared buffer.
    const other = new SocketTransport({ ...socket, write: (bytes: Uint8Array | string) => bytes.length });
    expect(other.write([new Uint8Array(3000).fill(0xee), new Uint8Array(3000).fill(0xdd)])).toBe(true);
    // More writes while bytes are pending queue behind them.
    const more = new Uint8Array(200).map((_, j) => (sent + j) % 251);
    sent += more.length;
    transport.write([more.subarray(0, 100), more.subarray(100)]);
    while (taken.length < sent) {
      allow(777);
      transport.drain();
    }
    expect(transport.bufferedAmount).toBe(0);
    expect(taken.every((byte, i) => byte === i % 251)).toBe(true);
  });

  it("frames joined into one socket write arrive intact and in order, also after partial writes", async () => {
    // The transport copies small frames together into a reused buffer before each
    // socket.write(); what Bun does not take must be copied out before that buffer is reused.
    const payload = (i: number) =>
      `${i}:${"abcdefghijklmnopqrstuvwxyz".repeat(1 + (i % 97)).slice(0, 1 + ((i * 37) % 2500))}`;
    const { wss, port } = await server();
    const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const raw = await rawClient(port);
    await raw.head;
    raw.pause();
    const ws = await accepted;
    // Send until Bun takes only part of a write (the session then queues), then some more.
    let count = 0;
    do ws.send(payload(count++));
    while (!ws.needsDrain && count < 20_000);
    expect(count).toBeLessThan(20_000);
    for (const end = count + 500; count < end; count++) ws.send(payload(count));
    raw.resume();
    const frames = await raw.waitFrames(count);
    const decoder = new TextDecoder();
    for (let i = 0; i < count; i++) expect(decoder.decode(frames[i]!.payload)).toBe(payload(i));
    raw.close();

    // Echoes of messages received together go out in batches of many frames (several groups
    // per write); the peer reads nothing for a while, so Bun takes only part of some.
    const echoPort = Number(new URL(await echo()).port);
    const peer = await rawClient(echoPort);
    await peer.head;
    peer.pause();
    const batch = 2000; // about 9 MB each way
    const encoder = new TextEncoder();
    const request = new Uint8Array(10_000 * batch);
    let offset = 0;
    for (let i = 0; i < batch; i++) {
      const frame = rawFrame(0x1, encoder.encode(payload(i)));
      request.set(frame, offset);
      offset += frame.length;
    }
    peer.write(request.subarray(0, offset));
    await Bun.sleep(200);
    peer.resume();
    const echoed = await peer.waitFrames(batch);
    for (let i = 0; i < batch; i++) expect(decoder.decode(echoed[i]!.payload)).toBe(payload(i));
    peer.close();
  });

  it("a slow async-iterator consumer pauses the socket: what we hold stays bounded", async () => {
    const { wss, url } = await server();
    wss.on("connection", async (ws) => {
      const chunk = big(64 * 1024);
      for (let i = 0; i < 400; i++) {
        ws.send(chunk); // 25 MiB in all
        if (ws.needsDrain) await ws.drained();
      }
      ws.close(1000);
    });
    const ws = defer(await connect(url, { receiveHighWaterMark: 256 * 1024 }), (c) => c.terminate());
    let count = 0;
    let maxHeld = 0;
    for await (const _ of ws) {
      count++;
      if (count % 50 === 0) await Bun.sleep(20);
      maxHeld = Math.max(maxHeld, ws.session!.inboundBufferedAmount);
    }
    expect(count).toBe(400);
    expect(maxHeld).toBeLessThan(8 * 1024 * 1024);
  });
});

describe("ping", () => {
  it("ping() resolves with the round-trip time", async () => {
    const ws = defer(await connect(await echo()), (c) => c.terminate());
    const rtt = await ws.ping("x");
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(5000);
  });
});

describe("handshake rejections", () => {
  it("verify false → 403, custom rejection with headers and body, typed on the client", async () => {
    const { url } = await server({
      verify: (info) =>
        info.headers.authorization === "Bearer ok"
          ? info.origin === "https://good.example" || { status: 403 }
          : { status: 401, headers: { "WWW-Authenticate": "Bearer" }, body: "token required" },
    });
    const e1 = (await connect(url).catch((e: unknown) => e)) as HandshakeRejectedError;
    expect(e1).toBeInstanceOf(HandshakeRejectedError);
    expect([e1.status, e1.body, e1.header("www-authenticate")]).toEqual([401, "token required", "Bearer"]);
    const e2 = (await connect(url, { headers: { Authorization: "Bearer ok" } }).catch(
      (e: unknown) => e,
    )) as HandshakeRejectedError;
    expect(e2.status).toBe(403);
    const ok = defer(
      await connect(url, { headers: { Authorization: "Bearer ok" }, origin: "https://good.example" }),
      (c) => c.terminate(),
    );
    expect(ok.readyState).toBe(WebSocket.OPEN);
  });

  it("426 for a wrong version and for plain HTTP; 400 for another path; error then close 1006", async () => {
    const { url, port } = await server({ path: "/ws" });
    const wrong = await rawClient(
      port,
      "/ws",
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    const head = await wrong.head;
    expect(head).toStartWith("HTTP/1.1 426");
    expect(head).toContain("Sec-WebSocket-Version: 13");
    expect((await fetch(`http://127.0.0.1:${port}/ws`)).status).toBe(426);
    const other = (await connect(`${url}/other`).catch((e: unknown) => e)) as HandshakeRejectedError;
    expect(other.status).toBe(400);
    const ws = new WebSocket(`${url}/other`);
    const log: string[] = [];
    ws.onerror = () => log.push("error");
    const event = await nextEvent<CloseEvent>(ws, "close");
    expect([...log, event.code]).toEqual(["error", 1006]);
  });

  it("options Bun cannot honour throw clear errors", () => {
    expect(() => new WebSocket("ws://127.0.0.1:1", { proxy: "http://proxy:3128" })).toThrow(/proxy/);
    expect(() => new WebSocketServer({ server: {} } as never)).toThrow(/node:http/);
  });

  it("unknown and mistyped options throw the shared schema's errors (same as Node and Deno)", () => {
    expect(() => new WebSocketServer({ port: 0, verifyClient: () => false } as never)).toThrow(
      /unknown option verifyClient \(from ws\?\): use verify/,
    );
    expect(() => new WebSocketServer({ port: 0, limits: { maxMesageSize: 1 } } as never)).toThrow(
      /did you mean maxMessageSize/,
    );
    expect(() => new WebSocketServer({ port: 0, closeTimeout: "5s" } as never)).toThrow(TypeError);
    expect(() => new WebSocket("ws://127.0.0.1:1", { maxPayload: 8 } as never)).toThrow(
      /limits: \{ maxMessageSize \}/,
    );
  });
});

describe("graceful shutdown", () => {
  it("close() closes every client with 1001 and waits; then refuses connections", async () => {
    const { wss, url } = await server();
    const clients = await Promise.all([connect(url), connect(url)]);
    const events = clients.map((c) => nextEvent<CloseEvent>(c, "close"));
    await wss.close();
    for (const e of await Promise.all(events)) expect([e.code, e.wasClean]).toEqual([1001, true]);
    expect(wss.clients.size).toBe(0);
    expect(await connect(url).catch((e: unknown) => e)).toBeInstanceOf(Error);
  });
});

const certificate = selfSigned();
describe.skipIf(typeof certificate === "string")(
  `TLS with a self-signed certificate from the openssl CLI${typeof certificate === "string" ? ` (skipped: ${certificate})` : ""}`,
  () => {
    it("wss: echo with the CA given; rejected without it; accepted with rejectUnauthorized false", async () => {
      const { cert, key } = certificate as { cert: string; key: string };
      const e = await startEchoServer({ tls: { cert, key } });
      defer(e, (s) => s.close());
      const url = `wss://localhost:${e.port}/`;
      const ws = defer(await connect(url, { ca: cert }), (c) => c.terminate());
      ws.send("secure");
      expect((await ws[Symbol.asyncIterator]().next()).value).toBe("secure");
      expect(await connect(url).catch((err: unknown) => err)).toBeInstanceOf(Error);
      const insecure = defer(await connect(url, { rejectUnauthorized: false }), (c) => c.terminate());
      expect(insecure.readyState).toBe(WebSocket.OPEN);
    });
  },
);

// Keep the close frame helper referenced for future raw-peer tests.

/** A raw TCP peer: sends `bytes`, then reads what the server answers until it ends the connection. */
async function probe(port: number, bytes: string): Promise<{ closed: Promise<string> }> {
  const { connect: netConnect } = await import("node:net");
  const socket = defer(netConnect({ host: "127.0.0.1", port }), (s) => s.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(Buffer.from(bytes, "latin1"));
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  // Our half-close after a rejection: the peer closes too, as a browser or `ws` does.
  socket.on("end", () => socket.end());
  return { closed: new Promise((resolve) => socket.once("close", () => resolve(text))) };
}

const HALF_HEAD = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";

describe("bounded handshakes", () => {
  it("closes a half-sent head (slowloris) after handshakeTimeout, unanswered", async () => {
    const { port } = await server({ handshakeTimeout: 100 });
    expect(await (await probe(port, HALF_HEAD)).closed).toBe("");
  });

  it("answers bytes that are not HTTP with 400 at once", async () => {
    const { port } = await server();
    const garbage = await probe(port, "\u0016\u0003\u0001\u0002\u0000 not http, no line ending");
    expect(await garbage.closed).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("drops the oldest stalled handshake beyond maxPendingHandshakes; 503 beyond maxConnections", async () => {
    const { port, url } = await server({ maxPendingHandshakes: 1, maxConnections: 1 });
    const slow = await probe(port, HALF_HEAD);
    defer(await connect(url), (c) => c.terminate());
    expect(await slow.closed).toBe("");
    const full = await connect(url).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(HandshakeRejectedError);
    expect([(full as HandshakeRejectedError).status, (full as HandshakeRejectedError).body]).toEqual([
      503,
      "Too many connections",
    ]);
  });
  it("bytes sent while verify runs wait in the kernel, not in our queue, and reach the session in order", async () => {
    let release!: () => void;
    const verified = new Promise<void>((resolve) => (release = resolve));
    const { wss, port } = await server({ verify: () => verified.then(() => true) });
    const COUNT = 256; // 64 KiB each: 16 MiB, more than loopback's socket buffers hold
    const received: number[] = [];
    const done = new Promise<void>((resolve) =>
      wss.on("connection", (ws) => {
        ws.onmessage = (event) => {
          received.push((event.data as Uint8Array)[0]! | ((event.data as Uint8Array)[1]! << 8));
          if (received.length === COUNT) resolve();
        };
      }),
    );
    const payload = big(64 * 1024);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < COUNT; i++) {
      payload[0] = i & 0xff;
      payload[1] = i >> 8;
      frames.push(rawFrame(0x2, payload));
    }
    let unsent = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
    let offset = 0;
    for (const frame of frames) {
      unsent.set(frame, offset);
      offset += frame.length;
    }
    const send = (socket: { write(bytes: Uint8Array): number }): void => {
      unsent = unsent.subarray(Math.max(socket.write(unsent), 0));
    };
    const client = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data() {}, drain: send },
    });
    defer(client, (c) => c.terminate());
    client.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    send(client);
    await Bun.sleep(300);
    // The server stopped reading: what it did not read backs up to the client.
    expect(unsent.length).toBeGreaterThan(0);
    release();
    await done;
    expect(received).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });
});

describe("WebIDL shape", () => {
  it("WebSocket.length is 1 (WebIDL §3.7.1), [object WebSocket] (§3.7.6)", () => {
    expect(WebSocket.length).toBe(1);
    expect(Object.prototype.toString.call(WebSocket.prototype)).toBe("[object WebSocket]");
  });
});

/**
 * A transport on a fake Bun socket whose `write()` takes at most the bytes `allow()` last
 * granted (as Bun takes what the kernel accepts) and records the bytes it took.
 */
function meteredTransport() {
  const taken: number[] = [];
  let allowance = 0;
  const socket = {
    data: undefined as unknown as SocketTransport,
    write(bytes: Uint8Array | string) {
      const data = bytes as Uint8Array;
      const n = Math.min(allowance, data.length);
      for (let i = 0; i < n; i++) taken.push(data[i]!);
      allowance -= n;
      return n;
    },
    end() {},
    terminate() {},
    pause() {},
    resume() {},
    remoteAddress: "127.0.0.1",
  };
  return {
    socket,
    transport: new SocketTransport(socket),
    taken,
    allow: (bytes: number): void => {
      allowance = bytes;
    },
  };
}
