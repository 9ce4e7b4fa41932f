/**
 * @ws/deno under `deno test`: our client and server against each other, Deno's native
 * `WebSocket` client against our server, our client against `Deno.upgradeWebSocket`, close
 * orderings, limits, backpressure, ping, handshake rejections, TLS (@ws/node on node:http is in
 * handler_test.ts, a shared scenario).
 */
import { expect } from "expect";
import {
  type CloseEvent,
  connect,
  HandshakeRejectedError,
  WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/mod.ts";
import {
  big,
  type Defer,
  nextEvent,
  rawClient,
  rawFrame,
  selfSigned,
  startEchoServer,
  test,
} from "./helpers.ts";

async function server(
  defer: <T>(value: T, close: (value: T) => unknown) => T,
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

async function echo(defer: <T>(value: T, close: (value: T) => unknown) => T): Promise<string> {
  return defer(await startEchoServer(), (s) => s.close()).url;
}

test("echo: our client against our server (text, binary, empty, 1 MiB, 16 MiB), close code echoed", async (defer) => {
  const ws = defer(await connect(await echo(defer), { protocols: ["superchat", "chat"] }), (c) =>
    c.terminate(),
  );
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
    expect((await messages.next()).value).toStrictEqual(data);
  }
  const closed = nextEvent<CloseEvent>(ws, "close");
  ws.close(4001, "bye");
  const event = await closed;
  expect([event.code, event.reason, event.wasClean]).toStrictEqual([4001, "bye", true]);
});

test("echo: large messages sent back to back, around the write-joining bounds, come back intact and in order", async (defer) => {
  // The transport joins a frame header with the head of the payload behind it (Deno has no
  // writev): payloads just under, at and over 64 KiB and 128 KiB, with small frames between
  // them, queued behind each other so that every joining case (whole payload, payload head,
  // several small frames) is written.
  const ws = defer(await connect(await echo(defer)), (c) => c.terminate());
  const messages = ws[Symbol.asyncIterator]();
  const sizes = [65_522, 65_535, 65_536, 65_537, 3, 131_062, 131_063, 131_072, 7, 200_000, 1 << 20, 125, 126];
  const sent = sizes.map((size, i) => {
    const bytes = new Uint8Array(size);
    for (let j = 0; j < size; j++) bytes[j] = (j * 31 + i * 7) & 0xff;
    return bytes;
  });
  for (const bytes of sent) ws.send(bytes);
  for (const bytes of sent) expect((await messages.next()).value).toStrictEqual(bytes);
});

test("echo: a joined write held up by a peer that does not read is not overwritten by another connection's", async (defer) => {
  // The transport joins a header and its payload's head in spare buffers shared by every
  // connection. Peer A sends 6 MB and reads nothing yet, so that the server's write to it
  // stops part-way in such a buffer; meanwhile peer B echoes as fast as it can, its writes
  // taking spare buffers. A's replies, read last, must be intact. (The send-buffer limit is
  // raised: it would close A.)
  const echoServer = defer(await startEchoServer({ limits: { maxBufferedAmount: 64 * 1024 * 1024 } }), (s) =>
    s.close(),
  );
  const port = Number(new URL(echoServer.url).port);
  const count = 60;
  const size = 100_000;
  const payload = (peer: number, i: number) => {
    const bytes = new Uint8Array(size);
    for (let j = 0; j < size; j++) bytes[j] = (j * 13 + i * 7 + peer * 101) & 0xff;
    return bytes;
  };
  const open = async () => {
    const raw = await rawClient(port);
    defer(raw.conn, (c) => c.close());
    expect(await raw.head()).toMatch(/^HTTP\/1.1 101/);
    return raw;
  };
  const sendAll = async (raw: Awaited<ReturnType<typeof open>>, peer: number) => {
    for (let i = 0; i < count; i++) {
      const frame = rawFrame(0x2, payload(peer, i));
      // conn.write() may take part of the bytes.
      for (let at = 0; at < frame.length; ) at += await raw.conn.write(frame.subarray(at));
    }
  };
  const [a, b] = [await open(), await open()];
  const sendingA = sendAll(a, 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const [echoedB] = await Promise.all([b.waitFrames(count), sendAll(b, 1)]);
  const [echoedA] = await Promise.all([a.waitFrames(count), sendingA]);
  for (const [peer, frames] of [echoedA, echoedB].entries()) {
    expect(frames.length).toBe(count);
    for (let i = 0; i < count; i++) expect(frames[i]?.payload).toStrictEqual(payload(peer, i));
  }
});

test("echo: Deno's native WebSocket client against our server", async (defer) => {
  const native = new globalThis.WebSocket(await echo(defer), ["chat"]);
  native.binaryType = "arraybuffer";
  await nextEvent(native, "open");
  expect(native.protocol).toBe("chat");
  native.send("native");
  expect((await nextEvent<MessageEvent>(native, "message")).data).toBe("native");
  native.send(big(70_000));
  expect(new Uint8Array((await nextEvent<MessageEvent>(native, "message")).data)).toStrictEqual(big(70_000));
  const closed = nextEvent<CloseEvent>(native, "close");
  native.close(4000, "done");
  const event = await closed;
  expect([event.code, event.reason]).toStrictEqual([4000, "done"]);
});

test("echo: our client against Deno.serve + Deno.upgradeWebSocket", async (defer) => {
  const native = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  });
  defer(native, (s) => s.shutdown());
  const ws = defer(await connect(`ws://127.0.0.1:${native.addr.port}/`), (c) => c.terminate());
  const messages = ws[Symbol.asyncIterator]();
  ws.send("to deno");
  expect((await messages.next()).value).toBe("to deno");
  ws.send(big(200_000));
  expect((await messages.next()).value).toStrictEqual(big(200_000));
  const closed = nextEvent<CloseEvent>(ws, "close");
  ws.close(1000);
  expect((await closed).code).toBe(1000);
});

async function pair(defer: <T>(value: T, close: (value: T) => unknown) => T) {
  const { wss, url } = await server(defer);
  const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
  const client = defer(await connect(url), (c) => c.terminate());
  return { client, serverSide: await accepted };
}

test("close: client first (server sees code+reason), server first, both at once, no code, terminate", async (defer) => {
  {
    const { client, serverSide } = await pair(defer);
    const [c, s] = await Promise.all([
      nextEvent<CloseEvent>(client, "close"),
      nextEvent<CloseEvent>(serverSide, "close"),
      client.close(1000, "client bye"),
    ]);
    expect([s!.code, s!.reason, s!.wasClean, c!.code, c!.wasClean]).toStrictEqual([
      1000,
      "client bye",
      true,
      1000,
      true,
    ]);
  }
  {
    const { client, serverSide } = await pair(defer);
    const [c, s] = await Promise.all([
      nextEvent<CloseEvent>(client, "close"),
      nextEvent<CloseEvent>(serverSide, "close"),
      serverSide.close(4000, "server bye"),
    ]);
    expect([c!.code, c!.reason, c!.wasClean, s!.code, s!.wasClean]).toStrictEqual([
      4000,
      "server bye",
      true,
      4000,
      true,
    ]);
  }
  {
    const { client, serverSide } = await pair(defer);
    const events = Promise.all([
      nextEvent<CloseEvent>(client, "close"),
      nextEvent<CloseEvent>(serverSide, "close"),
    ]);
    client.close(3001, "c");
    serverSide.close(3002, "s");
    const [c, s] = await events;
    expect([c.code, s.code]).toStrictEqual([3002, 3001]);
  }
  {
    const { client, serverSide } = await pair(defer);
    const events = Promise.all([
      nextEvent<CloseEvent>(client, "close"),
      nextEvent<CloseEvent>(serverSide, "close"),
    ]);
    client.close();
    expect((await events).map((e) => e.code)).toStrictEqual([1005, 1005]);
  }
  {
    const { client, serverSide } = await pair(defer);
    const closed = nextEvent<CloseEvent>(serverSide, "close");
    client.terminate();
    expect((await closed).code).toBe(1006);
  }
});

test("limits: 1009 for an oversized message (native client), 1007 bad UTF-8, 1002 reserved opcode (raw peer)", async (defer) => {
  const { url, port } = await server(defer, { limits: { maxMessageSize: 1000 } });
  const native = new globalThis.WebSocket(url);
  await nextEvent(native, "open");
  const closed = nextEvent<CloseEvent>(native, "close");
  native.send("x".repeat(1001));
  expect((await closed).code).toBe(1009);
  for (const [frame, code] of [
    [rawFrame(0x1, new Uint8Array([0xc3, 0x28])), 1007],
    [rawFrame(0x3), 1002],
  ] as const) {
    const raw = await rawClient(port);
    defer(raw.conn, (c) => c.close());
    expect(await raw.head()).toMatch(/^HTTP\/1.1 101/);
    await raw.conn.write(frame);
    const [close] = await raw.waitFrames(1);
    expect(close!.opcode).toBe(0x8);
    expect(new DataView(close!.payload.buffer).getUint16(0)).toBe(code);
    await raw.ended();
  }
});

test("backpressure: needsDrain is set against a slow reader, then drains", async (defer) => {
  const { wss, port } = await server(defer);
  const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
  const raw = await rawClient(port);
  defer(raw.conn, (c) => c.close());
  await raw.head(); // then read nothing for a while
  const ws = await accepted;
  const chunk = big(1 << 20);
  let sent = 0;
  do ws.send(chunk);
  while (!ws.needsDrain && ++sent < 256);
  expect(sent).toBeLessThan(256); // needsDrain was set before 256 MiB
  expect(ws.bufferedAmount).toBeGreaterThan(0);
  const drained = ws.drained();
  const frames = raw.waitFrames(sent + 1);
  await drained;
  expect(ws.bufferedAmount).toBe(0);
  expect((await frames).length >= sent + 1).toBe(true);
});

test("backpressure: a slow async-iterator consumer pauses the read loop (bounded memory)", async (defer) => {
  const { wss, url } = await server(defer);
  wss.on("connection", async (ws) => {
    const chunk = big(64 * 1024);
    for (let i = 0; i < 400; i++) {
      ws.send(chunk);
      if (ws.needsDrain) await ws.drained();
    }
    ws.close(1000);
  });
  const ws = defer(await connect(url, { receiveHighWaterMark: 256 * 1024 }), (c) => c.terminate());
  let count = 0;
  let maxHeld = 0;
  for await (const _ of ws) {
    count++;
    if (count % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    maxHeld = Math.max(maxHeld, ws.session!.inboundBufferedAmount);
  }
  expect(count).toBe(400);
  expect(maxHeld).toBeLessThan(8 * 1024 * 1024);
});

test("ping() resolves with the round-trip time", async (defer) => {
  const ws = defer(await connect(await echo(defer)), (c) => c.terminate());
  const rtt = await ws.ping("x");
  expect(rtt).toBeGreaterThanOrEqual(0);
  expect(rtt).toBeLessThan(5000);
});

test("handshake: verify rejections are typed on the client; 426 for a bad version / plain HTTP; 400 for another path", async (defer) => {
  const { url, port } = await server(defer, {
    path: "/ws",
    verify: (info) =>
      info.headers.authorization === "Bearer ok"
        ? info.origin === "https://good.example" || { status: 403 }
        : { status: 401, headers: { "WWW-Authenticate": "Bearer" }, body: "token required" },
  });
  const e1 = (await connect(`${url}/ws`).catch((e: unknown) => e)) as HandshakeRejectedError;
  expect(e1).toBeInstanceOf(HandshakeRejectedError);
  expect([e1.status, e1.body, e1.header("www-authenticate")]).toStrictEqual([
    401,
    "token required",
    "Bearer",
  ]);
  const e2 = (await connect(`${url}/ws`, { headers: { Authorization: "Bearer ok" } }).catch(
    (e: unknown) => e,
  )) as HandshakeRejectedError;
  expect(e2.status).toBe(403);
  const ok = defer(
    await connect(`${url}/ws`, { headers: { Authorization: "Bearer ok" }, origin: "https://good.example" }),
    (c) => c.terminate(),
  );
  expect(ok.readyState).toBe(WebSocket.OPEN);
  const wrong = await rawClient(
    port,
    "/ws",
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  );
  defer(wrong.conn, (c) => c.close());
  const head = await wrong.head();
  expect(head).toMatch(/^HTTP\/1.1 426/);
  expect(head).toMatch(/Sec-WebSocket-Version: 13/);
  const plain = await fetch(`http://127.0.0.1:${port}/ws`);
  await plain.body?.cancel();
  expect(plain.status).toBe(426);
  const other = (await connect(`${url}/other`).catch((e: unknown) => e)) as HandshakeRejectedError;
  expect(other.status).toBe(400);
  const ws = new WebSocket(`${url}/other`);
  const log: string[] = [];
  ws.onerror = () => log.push("error");
  const event = await nextEvent<CloseEvent>(ws, "close");
  expect([...log, event.code]).toStrictEqual(["error", 1006]);
});

test("options Deno cannot honour throw clear errors", () => {
  expect(() => new WebSocket("ws://127.0.0.1:1", { proxy: "http://proxy:3128" })).toThrow(/proxy/);
  expect(() => new WebSocket("wss://127.0.0.1:1", { rejectUnauthorized: false })).toThrow(
    /rejectUnauthorized/,
  );
  expect(() => new WebSocket("wss://127.0.0.1:1", { servername: "x" })).toThrow(/servername/);
  expect(() => new WebSocketServer({ server: {} } as never)).toThrow(/node:http/);
  return Promise.resolve();
});

test("graceful shutdown: close() closes every client with 1001, waits, then refuses connections", async (defer) => {
  const { wss, url } = await server(defer);
  const clients = await Promise.all([connect(url), connect(url)]);
  const events = clients.map((c) => nextEvent<CloseEvent>(c, "close"));
  await wss.close();
  for (const e of await Promise.all(events)) expect([e.code, e.wasClean]).toStrictEqual([1001, true]);
  expect(wss.clients.size).toBe(0);
  expect(await connect(url).catch((e: unknown) => e)).toBeInstanceOf(Error);
});

Deno.test("unknown and mistyped options throw the shared schema's errors (same as Node and Bun)", () => {
  expect(() => new WebSocketServer({ port: 0, verifyClient: () => false } as never)).toThrow(
    expect.objectContaining({
      name: "TypeError",
      message: expect.stringMatching(/unknown option verifyClient \(from ws\?\): use verify/),
    }),
  );
  expect(() => new WebSocketServer({ port: 0, limits: { maxMesageSize: 1 } } as never)).toThrow(
    /did you mean maxMessageSize/,
  );
  expect(() => new WebSocketServer({ port: 0, closeTimeout: "5s" } as never)).toThrow(TypeError);
  expect(() => new WebSocket("ws://127.0.0.1:1", { maxPayload: 8 } as never)).toThrow(
    /limits: \{ maxMessageSize \}/,
  );
});

const certificate = await selfSigned();
Deno.test({
  name: `TLS: wss echo with a self-signed certificate (openssl CLI)${typeof certificate === "string" ? ` — skipped: ${certificate}` : ""}`,
  ignore: typeof certificate === "string",
  async fn() {
    const { cert, key } = certificate as { cert: string; key: string };
    const e = await startEchoServer({ tls: { cert, key } });
    try {
      const url = `wss://localhost:${e.port}/`;
      const ws = await connect(url, { ca: cert });
      ws.send("secure");
      expect((await ws[Symbol.asyncIterator]().next()).value).toBe("secure");
      ws.terminate();
      expect(await connect(url).catch((err: unknown) => err)).toBeInstanceOf(Error);
    } finally {
      await e.close();
    }
  },
});

Deno.test({
  name: `TLS: a server that drops the connection without close_notify after the close handshake gives a clean close (WHATWG "closed cleanly")${typeof certificate === "string" ? ` — skipped: ${certificate}` : ""}`,
  ignore: typeof certificate === "string",
  async fn() {
    const { cert, key } = certificate as { cert: string; key: string };
    const dir = await Deno.makeTempDir({ prefix: "ws-deno-tls-eof-" });
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    // The peer is Node's TLS (OpenSSL): Deno's own TLS server sends close_notify on close().
    const peer = new Deno.Command("node", {
      args: [
        new URL("./tls-no-close-notify-server.mjs", import.meta.url).pathname,
        `${dir}/cert.pem`,
        `${dir}/key.pem`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const port = Number((await reader.read()).value);
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, [], { ca: cert });
      const event = await nextEvent<CloseEvent>(ws, "close");
      expect([event.code, event.wasClean]).toStrictEqual([1000, true]);
      await reader.cancel();
      await peer.status;
    } finally {
      try {
        peer.kill();
      } catch {
        // Already exited.
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A raw TCP peer: sends `bytes`, then reads what the server answers until it ends the connection. */
async function probe(defer: Defer, port: number, bytes: string): Promise<{ closed: Promise<string> }> {
  const conn = defer(await Deno.connect({ hostname: "127.0.0.1", port }), (c) => {
    try {
      c.close();
    } catch {
      // Already closed.
    }
  });
  await conn.write(Uint8Array.from(bytes, (c) => c.charCodeAt(0)));
  const read = async (): Promise<string> => {
    let text = "";
    const buffer = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      text += String.fromCharCode(...buffer.subarray(0, n));
    }
    return text;
  };
  return { closed: read() };
}

const HALF_HEAD = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";

test("bounded handshakes: a half-sent head (slowloris) is closed after handshakeTimeout, unanswered", async (defer) => {
  const { port } = await server(defer, { handshakeTimeout: 100 });
  expect(await (await probe(defer, port, HALF_HEAD)).closed).toBe("");
});

test("bounded handshakes: bytes that are not HTTP get 400 at once", async (defer) => {
  const { port } = await server(defer);
  const garbage = await probe(defer, port, "\u0016\u0003\u0001\u0002\u0000 not http, no line ending");
  expect(await garbage.closed).toMatch(/^HTTP\/1\.1 400 /);
});

test("bounded handshakes: the oldest stalled handshake makes room beyond maxPendingHandshakes; 503 beyond maxConnections", async (defer) => {
  const { port, url } = await server(defer, { maxPendingHandshakes: 1, maxConnections: 1 });
  const slow = await probe(defer, port, HALF_HEAD);
  defer(await connect(url), (c) => c.terminate());
  expect(await slow.closed).toBe("");
  const full = (await connect(url).catch((e: unknown) => e)) as HandshakeRejectedError;
  expect(full).toBeInstanceOf(HandshakeRejectedError);
  expect([full.status, full.body]).toStrictEqual([503, "Too many connections"]);
});

test("WebIDL shape: WebSocket.length is 1 (WebIDL §3.7.1), [object WebSocket] (§3.7.6)", async () => {
  expect(WebSocket.length).toBe(1);
  expect(Object.prototype.toString.call(WebSocket.prototype)).toBe("[object WebSocket]");
});
