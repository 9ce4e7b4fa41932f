/**
 * WebSockets over HTTP/2 (RFC 8441) with real Node HTTP/2 servers and clients on loopback:
 * cleartext (prior knowledge) and TLS (ALPN h2), `allowHTTP1`, the `auto` fallback, the shared
 * handshake (verify, subprotocols, permessage-deflate, rejections), the close mapping onto the
 * stream (END_STREAM / RST_STREAM CANCEL), limits, and flow-control backpressure per stream.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  connect as http2Connect,
  type SecureServerOptions,
  type ServerOptions,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  connect,
  HandshakeRejectedError,
  type Http2ConnectRequest,
  type UpgradeRequest,
  WebSocket,
  WebSocketServer,
} from "../src/index.ts";
import { cleanup, defer, sleep } from "./helpers.ts";

const tlsDir = fileURLToPath(new URL("../../../apps/echo/tls/", import.meta.url));
const cert = readFileSync(`${tlsDir}cert.pem`);
const key = readFileSync(`${tlsDir}key.pem`);

afterEach(cleanup);

async function listen<S extends Http2Server | Http2SecureServer>(server: S): Promise<number> {
  // server.close() waits for the HTTP/2 sessions, which clients keep open a while (pooled):
  // close them (GOAWAY) too.
  const sessions = new Set<import("node:http2").ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  defer(server, (s) => {
    const closed = new Promise((resolve) => s.close(resolve));
    for (const session of sessions) session.close();
    return closed;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** An h2c server (prior knowledge) with a WebSocket echo server attached. */
async function h2cEcho(
  options: Omit<ConstructorParameters<typeof WebSocketServer>[0] & object, "server"> = {},
  serverOptions: ServerOptions = {},
) {
  const server = createServer({ settings: { enableConnectProtocol: true }, ...serverOptions });
  const wss = defer(new WebSocketServer({ ...options, server }), (s) => s.close(100));
  const requests: UpgradeRequest[] = [];
  wss.on("connection", (ws, request) => {
    requests.push(request);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => ws.send((event as MessageEvent).data as string | ArrayBuffer);
  });
  const port = await listen(server);
  return { server, wss, port, requests, url: `ws://127.0.0.1:${port}` };
}

/** A TLS HTTP/2 server (ALPN h2, optionally HTTP/1.1 too) with a WebSocket echo server attached. */
async function h2Echo(serverOptions: SecureServerOptions = {}) {
  const server = createSecureServer({
    cert,
    key,
    settings: { enableConnectProtocol: true },
    ...serverOptions,
  });
  const wss = defer(new WebSocketServer({ server, protocols: ["chat"] }), (s) => s.close(100));
  const requests: UpgradeRequest[] = [];
  wss.on("connection", (ws, request) => {
    requests.push(request);
    ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
  });
  const port = await listen(server);
  return { server, wss, port, requests, url: `wss://localhost:${port}` };
}

function echoOnce(ws: WebSocket, data: string): Promise<unknown> {
  const reply = new Promise((resolve) =>
    ws.addEventListener("message", (event) => resolve((event as MessageEvent).data), { once: true }),
  );
  ws.send(data);
  return reply;
}

describe("WebSocketServer on an HTTP/2 server", () => {
  it("accepts an Extended CONNECT over h2c and echoes; both sides report HTTP/2", async () => {
    const { url, requests, wss } = await h2cEcho();
    const ws = defer(await connect(`${url}/chat?room=1`, { http2: true }), (c) => c.terminate());
    expect(ws.httpVersion).toBe("2");
    expect(await echoOnce(ws, "hello over h2")).toBe("hello over h2");
    const request = requests[0] as Http2ConnectRequest;
    expect(request.httpVersion).toBe("2.0");
    expect(request.method).toBe("CONNECT");
    expect(request.url).toBe("/chat?room=1");
    expect(request.headers[":protocol"]).toBe("websocket");
    expect(request.headers[":scheme"]).toBe("http");
    expect([...wss.clients][0]?.httpVersion).toBe("2");
    expect([...wss.clients][0]?.url).toBe(`${url}/chat?room=1`);
  });

  it("serves many sockets over one TLS connection (ALPN h2)", async () => {
    const { url, requests } = await h2Echo();
    const sockets = await Promise.all(
      [1, 2, 3, 4, 5].map(() => connect(url, { http2: true, ca: cert, protocols: ["chat"] })),
    );
    for (const ws of sockets) defer(ws, (c) => c.terminate());
    expect(sockets.map((ws) => ws.httpVersion)).toEqual(["2", "2", "2", "2", "2"]);
    expect(sockets.map((ws) => ws.protocol)).toEqual(["chat", "chat", "chat", "chat", "chat"]);
    const replies = await Promise.all(sockets.map((ws, i) => echoOnce(ws, `socket ${i}`)));
    expect(replies).toEqual(["socket 0", "socket 1", "socket 2", "socket 3", "socket 4"]);
    const sessions = new Set(requests.map((request) => (request as Http2ConnectRequest).stream.session));
    expect(sessions.size).toBe(1);
    expect([...sessions][0]?.encrypted).toBe(true);
    expect((requests[0] as Http2ConnectRequest).headers[":scheme"]).toBe("https");
  });

  it("takes HTTP/1.1 upgrades and Extended CONNECT on the same allowHTTP1 port", async () => {
    const { url, requests } = await h2Echo({ allowHTTP1: true });
    const h1 = defer(await connect(url, { ca: cert }), (c) => c.terminate());
    const h2 = defer(await connect(url, { ca: cert, http2: true }), (c) => c.terminate());
    expect([h1.httpVersion, h2.httpVersion]).toEqual(["1.1", "2"]);
    expect(await echoOnce(h1, "one")).toBe("one");
    expect(await echoOnce(h2, "two")).toBe("two");
    expect(requests.map((request) => request.httpVersion)).toEqual(["1.1", "2.0"]);
  });

  it("lives beside the Compatibility API: pages on 'request', WebSockets on CONNECT", async () => {
    const server = createSecureServer(
      { cert, key, settings: { enableConnectProtocol: true } },
      (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("page");
      },
    );
    const wss = defer(new WebSocketServer({ server }), (s) => s.close(100));
    wss.on("connection", (ws) => {
      ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
    });
    const port = await listen(server);
    const ws = defer(await connect(`wss://localhost:${port}`, { ca: cert, http2: true }), (c) =>
      c.terminate(),
    );
    expect(await echoOnce(ws, "beside a page")).toBe("beside a page");
    const session = defer(http2Connect(`https://localhost:${port}`, { ca: cert }), (s) => s.close());
    const page = session.request({ ":path": "/" });
    let body = "";
    page.setEncoding("utf8");
    page.on("data", (chunk: string) => {
      body += chunk;
    });
    await new Promise((resolve) => page.on("end", resolve));
    expect(body).toBe("page");
    // A plain CONNECT still gets Node's 405.
    const plain = session.request({ ":method": "CONNECT", ":authority": "example.com:443" });
    const status = await new Promise((resolve) =>
      plain.on("response", (headers) => resolve(headers[":status"])),
    );
    expect(status).toBe(405);
  });

  it("hands the request headers to verify and sends its rejection on the stream", async () => {
    const seen: Record<string, unknown>[] = [];
    const { url } = await h2cEcho({
      verify: (info) => {
        seen.push({ origin: info.origin, url: info.url.href, auth: info.headers.authorization });
        return info.headers.authorization === "Bearer ok"
          ? { headers: { "x-welcome": "yes" } }
          : { status: 401, headers: { "WWW-Authenticate": "Bearer" }, body: "who?" };
      },
    });
    const error = await connect(url, { http2: true, origin: "http://app.example" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    expect((error as HandshakeRejectedError).status).toBe(401);
    expect((error as HandshakeRejectedError).header("www-authenticate")).toBe("Bearer");
    expect((error as HandshakeRejectedError).body).toBe("who?");
    const ws = defer(await connect(url, { http2: true, headers: { Authorization: "Bearer ok" } }), (c) =>
      c.terminate(),
    );
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(seen).toEqual([
      { origin: "http://app.example", url: `${url}/`, auth: undefined },
      { origin: undefined, url: `${url}/`, auth: "Bearer ok" },
    ]);
  });

  it("applies the server's limits to HTTP/2 streams too (maxConnections: 503)", async () => {
    const { url } = await h2cEcho({ maxConnections: 1 });
    const first = defer(await connect(url, { http2: true }), (c) => c.terminate());
    const error = await connect(url, { http2: true }).catch((e: unknown) => e);
    expect((error as HandshakeRejectedError).status).toBe(503);
    expect(await echoOnce(first, "the first one lives")).toBe("the first one lives");
  });

  it("answers 400 for a path no WebSocket server handles", async () => {
    const { url } = await h2cEcho({ path: "/ws" });
    const error = await connect(`${url}/other`, { http2: true }).catch((e: unknown) => e);
    expect((error as HandshakeRejectedError).status).toBe(400);
    const ws = defer(await connect(`${url}/ws`, { http2: true }), (c) => c.terminate());
    expect(ws.httpVersion).toBe("2");
  });

  it("negotiates subprotocols and permessage-deflate as over HTTP/1.1", async () => {
    const { url } = await h2cEcho({ protocols: ["superchat", "chat"], perMessageDeflate: true });
    const ws = defer(await connect(url, { http2: true, protocols: ["chat", "superchat"] }), (c) =>
      c.terminate(),
    );
    // The first offer the server supports (as over HTTP/1.1).
    expect(ws.protocol).toBe("chat");
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    const big = "compressible ".repeat(20_000);
    expect(await echoOnce(ws, big)).toBe(big);
  });

  it("closes with the close handshake, then END_STREAM both ways (RFC 8441 §6)", async () => {
    const server = createServer({ settings: { enableConnectProtocol: true } });
    const wss = defer(new WebSocketServer({ server }), (s) => s.close(100));
    const serverSide = new Promise<{ ws: WebSocket; request: Http2ConnectRequest }>((resolve) =>
      wss.on("connection", (ws, request) => resolve({ ws, request: request as Http2ConnectRequest })),
    );
    const port = await listen(server);
    const ws = defer(await connect(`ws://127.0.0.1:${port}`, { http2: true }), (c) => c.terminate());
    const { ws: peer, request } = await serverSide;
    const serverClosed = new Promise<CloseEvent>((resolve) =>
      peer.addEventListener("close", (e) => resolve(e as CloseEvent)),
    );
    const clientClosed = new Promise<CloseEvent>((resolve) =>
      ws.addEventListener("close", (e) => resolve(e as CloseEvent)),
    );
    const streamClosed = new Promise((resolve) => request.stream.on("close", resolve));
    const connection = request.stream.session;
    ws.close(4000, "bye");
    const [atServer, atClient] = await Promise.all([serverClosed, clientClosed]);
    expect([atServer.code, atServer.reason, atServer.wasClean]).toEqual([4000, "bye", true]);
    expect([atClient.code, atClient.wasClean]).toEqual([4000, true]);
    await streamClosed;
    expect(request.stream.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    expect(connection?.closed).toBe(false);
  });

  it("maps terminate() to RST_STREAM CANCEL: the peer sees 1006, the connection lives on", async () => {
    const { url, wss } = await h2cEcho();
    const ws = defer(await connect(url, { http2: true }), (c) => c.terminate());
    const other = defer(await connect(url, { http2: true }), (c) => c.terminate());
    const closed = new Promise<CloseEvent>((resolve) =>
      ws.addEventListener("close", (e) => resolve(e as CloseEvent)),
    );
    const [first] = [...wss.clients];
    first?.terminate();
    const event = await closed;
    expect([event.code, event.wasClean]).toEqual([1006, false]);
    expect(await echoOnce(other, "still here")).toBe("still here");
  });

  it("fails a message over the size limit with 1009 on that stream only", async () => {
    const { url } = await h2cEcho({ limits: { maxMessageSize: 1024 } });
    const ws = defer(await connect(url, { http2: true }), (c) => c.terminate());
    const other = defer(await connect(url, { http2: true }), (c) => c.terminate());
    const closed = new Promise<CloseEvent>((resolve) =>
      ws.addEventListener("close", (e) => resolve(e as CloseEvent)),
    );
    ws.send("x".repeat(2048));
    expect((await closed).code).toBe(1009);
    expect(await echoOnce(other, "fine")).toBe("fine");
  });

  it("closes every HTTP/2 socket with 1001 on shutdown", async () => {
    const { url, wss } = await h2cEcho();
    const ws = defer(await connect(url, { http2: true }), (c) => c.terminate());
    const closed = new Promise<CloseEvent>((resolve) =>
      ws.addEventListener("close", (e) => resolve(e as CloseEvent)),
    );
    await wss.close();
    expect((await closed).code).toBe(1001);
  });
});

describe("backpressure through HTTP/2 flow control", () => {
  it("a stream whose reader is stalled neither stalls the others nor makes the server buffer without bound", async () => {
    const server = createServer({ settings: { enableConnectProtocol: true } });
    const wss = defer(new WebSocketServer({ server, limits: { maxMessageSize: 64 * 1024 * 1024 } }), (s) =>
      s.close(100),
    );
    const accepted: { ws: WebSocket; request: Http2ConnectRequest }[] = [];
    wss.on("connection", (ws, request) => {
      accepted.push({ ws, request: request as Http2ConnectRequest });
      ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
    });
    const port = await listen(server);
    const url = `ws://127.0.0.1:${port}`;
    // The client keeps all 32 MiB it sends without waiting (above the default 4 MiB
    // maxBufferedAmount): this test is about what the server holds.
    const slow = defer(
      await connect(`${url}/slow`, {
        http2: true,
        perMessageDeflate: false,
        limits: { maxBufferedAmount: 64 * 1024 * 1024 },
      }),
      (c) => c.terminate(),
    );
    const fast = defer(await connect(`${url}/fast`, { http2: true, perMessageDeflate: false }), (c) =>
      c.terminate(),
    );
    const stalled = accepted.find((entry) => entry.request.url === "/slow") as (typeof accepted)[number];
    // The stalled reader: an iterator nobody pulls from, so the session pauses the stream.
    stalled.ws.onmessage = null;
    const iterator = stalled.ws[Symbol.asyncIterator]();
    const chunk = new Uint8Array(256 * 1024);
    const total = 32 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += chunk.length) slow.send(chunk);
    // Meanwhile the other stream of the same connection keeps echoing.
    for (let i = 0; i < 20; i++) expect(await echoOnce(fast, `ping ${i}`)).toBe(`ping ${i}`);
    await sleep(300);
    // The server holds at most its receive high-water mark plus the stream's flow-control
    // window; the rest waits in the client (its bufferedAmount).
    const buffered = stalled.request.stream.readableLength;
    expect(buffered).toBeLessThan(4 * 1024 * 1024);
    expect(slow.bufferedAmount).toBeGreaterThan(total - 8 * 1024 * 1024);
    // Reading again drains it all.
    let received = 0;
    while (received < total) {
      const next = await iterator.next();
      if (next.done === true) break;
      received += (next.value as Uint8Array).byteLength;
    }
    expect(received).toBe(total);
  });
});

describe("client option http2", () => {
  it('"auto" falls back to HTTP/1.1 when the server does not speak HTTP/2 (ws: and wss:)', async () => {
    const plain = defer(createHttpServer(), (s) => new Promise((resolve) => s.close(resolve)));
    const wss = defer(new WebSocketServer({ server: plain }), (s) => s.close(100));
    wss.on("connection", (ws) => {
      ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const port = (plain.address() as AddressInfo).port;
    const ws = defer(await connect(`ws://127.0.0.1:${port}`, { http2: "auto" }), (c) => c.terminate());
    expect(ws.httpVersion).toBe("1.1");
    expect(await echoOnce(ws, "fell back")).toBe("fell back");
    const error = await connect(`ws://127.0.0.1:${port}`, { http2: true, handshakeTimeout: 5000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
  });

  it('"auto" falls back when an HTTP/2 server does not send SETTINGS_ENABLE_CONNECT_PROTOCOL', async () => {
    // An allowHTTP1 server whose WebSocket server only takes HTTP/1.1 upgrades (noServer).
    const server = createSecureServer({ cert, key, allowHTTP1: true });
    const wss = defer(new WebSocketServer({ noServer: true }), (s) => s.close(100));
    (server as unknown as import("node:http").Server).on("upgrade", (request, socket, head) =>
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
      }),
    );
    const port = await listen(server);
    const ws = defer(await connect(`wss://localhost:${port}`, { http2: "auto", ca: cert }), (c) =>
      c.terminate(),
    );
    expect(ws.httpVersion).toBe("1.1");
    expect(await echoOnce(ws, "no setting")).toBe("no setting");
    const error = await connect(`wss://localhost:${port}`, { http2: true, ca: cert }).catch(
      (e: unknown) => e,
    );
    expect((error as { code?: string }).code).toBe("CONNECTION_FAILED");
  });

  it("reuses the pooled connection for later sockets, and opens a new one after a GOAWAY", async () => {
    const server = createServer({ settings: { enableConnectProtocol: true } });
    const wss = defer(new WebSocketServer({ server }), (s) => s.close(100));
    const connections: import("node:http2").Http2Session[] = [];
    wss.on("connection", (ws, request) => {
      connections.push((request as Http2ConnectRequest).stream.session as import("node:http2").Http2Session);
      ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
    });
    const port = await listen(server);
    const url = `ws://127.0.0.1:${port}/pool`;
    const first = await connect(url, { http2: true });
    first.close();
    await new Promise((resolve) => first.addEventListener("close", resolve));
    const second = defer(await connect(url, { http2: true }), (c) => c.terminate());
    expect(connections[1]).toBe(connections[0]);
    // The server closes the connection gracefully (GOAWAY): the open socket finishes, the next
    // one gets a new connection.
    connections[0]?.close();
    await sleep(50);
    const third = defer(await connect(url, { http2: true }), (c) => c.terminate());
    expect(connections[2]).not.toBe(connections[0]);
    expect(await echoOnce(third, "fresh")).toBe("fresh");
    expect(await echoOnce(second, "still open")).toBe("still open");
  });

  /**
   * An h2c server that refuses its first `refusals` Extended CONNECT streams with RST_STREAM
   * REFUSED_STREAM (RFC 9113 §8.7: not processed), then serves. (A GOAWAY cannot stand in here:
   * Node's `goaway()` with last stream 0 announces the last stream it processed instead.)
   */
  async function refusingServer(refusals: number) {
    const server = createServer({ settings: { enableConnectProtocol: true } });
    const wss = defer(new WebSocketServer({ noServer: true }), (s) => s.close(100));
    wss.on("connection", (ws) => {
      ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
    });
    const sessions = new Set<unknown>();
    let streams = 0;
    server.on("stream", (stream, headers) => {
      streams++;
      sessions.add(stream.session);
      if (streams > refusals) {
        wss.handleStream(stream, headers);
        return;
      }
      // Closing with an error code makes the stream emit that error here too.
      stream.on("error", () => {});
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
    });
    const port = await listen(server);
    return { url: `ws://127.0.0.1:${port}`, streams: () => streams, sessions: () => sessions.size };
  }

  it("sends the Extended CONNECT again, once, when the server refused the stream (REFUSED_STREAM)", async () => {
    const { url, streams, sessions } = await refusingServer(1);
    const ws = defer(await connect(url, { http2: true }), (c) => c.terminate());
    expect(await echoOnce(ws, "second try")).toBe("second try");
    expect([streams(), sessions()]).toEqual([2, 1]);
  });

  it("fails when the stream is refused a second time", async () => {
    const { url, streams } = await refusingServer(2);
    const error = await connect(url, { http2: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/REFUSED_STREAM/);
    expect(streams()).toBe(2);
  });

  it('"auto" uses HTTP/2 when the server enables it', async () => {
    const { url } = await h2Echo({ allowHTTP1: true });
    const ws = defer(await connect(url, { http2: "auto", ca: cert }), (c) => c.terminate());
    expect(ws.httpVersion).toBe("2");
  });

  it("rejects a mistyped http2 value and http2 with a proxy", () => {
    expect(() => new WebSocket("ws://127.0.0.1:1", { http2: "yes" as unknown as boolean })).toThrow(
      TypeError,
    );
    expect(() => new WebSocket("ws://127.0.0.1:1", { http2: true, proxy: "http://127.0.0.1:1" })).toThrow(
      TypeError,
    );
  });

  it("verifies the server certificate over HTTP/2 too", async () => {
    const { url } = await h2Echo();
    const error = await connect(url, { http2: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const ws = defer(await connect(url, { http2: true, rejectUnauthorized: false }), (c) => c.terminate());
    expect(ws.httpVersion).toBe("2");
  });
});
