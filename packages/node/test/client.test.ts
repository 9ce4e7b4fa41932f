import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Socket,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import {
  type CloseEvent,
  connect,
  HandshakeRejectedError,
  WebSocket,
  WebSocketError,
  WebSocketServer,
} from "../src/index.ts";
import { cleanup, defer, httpServer, nextEvent, selfSigned, startEchoServer } from "./helpers.ts";

afterEach(cleanup);

/** A TCP server that accepts connections and never answers (a hung handshake). */
async function silentServer(): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.resume(); // read (and ignore) everything, so the end of the connection is seen
  });
  defer(server, (s) => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => s.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, sockets };
}

// ─── TLS ─────────────────────────────────────────────────────────────────────────────────────

const certificate = selfSigned();
const key = typeof certificate === "string" ? "" : certificate.key;
const cert = typeof certificate === "string" ? "" : certificate.cert;

describe.skipIf(typeof certificate === "string")(
  `TLS (wss:) with a self-signed certificate from the openssl CLI${typeof certificate === "string" ? ` (skipped: ${certificate})` : ""}`,
  () => {
    async function secureEcho(): Promise<number> {
      const server = createHttpsServer({ key, cert });
      defer(server, (s) => {
        s.closeAllConnections();
        return new Promise((resolve) => s.close(resolve));
      });
      const wss = defer(new WebSocketServer({ server }), (s) => s.close(100));
      wss.on("connection", (ws) => {
        ws.onmessage = (event) => ws.send((event as MessageEvent).data as string);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return (server.address() as AddressInfo).port;
    }

    it("our client connects with the CA given, by name and by IP", async () => {
      const port = await secureEcho();
      for (const host of ["localhost", "127.0.0.1"]) {
        const ws = defer(await connect(`wss://${host}:${port}/`, { ca: cert }), (c) => c.terminate());
        ws.send("secure");
        expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe("secure");
      }
    });

    it("rejects an untrusted certificate by default, accepts it with rejectUnauthorized: false", async () => {
      const port = await secureEcho();
      const error = await connect(`wss://localhost:${port}/`).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY/) });
      const ws = defer(await connect(`wss://localhost:${port}/`, { rejectUnauthorized: false }), (c) =>
        c.terminate(),
      );
      expect(ws.readyState).toBe(WebSocket.OPEN);
    });

    it("a ws client talks to our server over TLS", async () => {
      const port = await secureEcho();
      const client = defer(new WsClient(`wss://localhost:${port}/`, { ca: cert }), (c) => c.terminate());
      await new Promise((resolve, reject) => {
        client.once("open", resolve);
        client.once("error", reject);
      });
      const got = new Promise<string>((resolve) => client.once("message", (data) => resolve(String(data))));
      client.send("over tls");
      expect(await got).toBe("over tls");
    });
  },
);

// ─── Redirects ───────────────────────────────────────────────────────────────────────────────

describe("redirects", () => {
  /** An HTTP server whose upgrades are answered with a redirect to `location(request)`. */
  async function redirector(location: (request: IncomingMessage) => string, status = 302): Promise<number> {
    const { server, port } = await httpServer();
    server.on("upgrade", (request, socket) => {
      socket.end(`HTTP/1.1 ${status} Found\r\nLocation: ${location(request)}\r\nContent-Length: 0\r\n\r\n`);
    });
    return port;
  }

  it("fails on a redirect by default, with the status visible", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    const port = await redirector(() => `${echo.url}/`);
    const error = await connect(`ws://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    expect((error as HandshakeRejectedError).status).toBe(302);
    expect((error as HandshakeRejectedError).header("location")).toBe(`${echo.url}/`);
  });

  it("follows redirects when asked (relative and absolute, http: schemes mapped to ws:)", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    const second = await redirector(() => `http://127.0.0.1:${echo.port}/final`, 307);
    const first = await redirector(() => `ws://127.0.0.1:${second}/next`, 301);
    const ws = defer(await connect(`ws://127.0.0.1:${first}/start`, { followRedirects: true }), (c) =>
      c.terminate(),
    );
    ws.send("redirected");
    expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe("redirected");
  });

  it("keeps Authorization and Cookie on the same origin, drops them when the origin changes", async () => {
    const seen: string[] = [];
    const { server, port } = await httpServer();
    defer(
      new WebSocketServer({
        server,
        path: "/final",
        verify: (info) => {
          seen.push(`${info.headers.authorization ?? "-"} ${info.headers.cookie ?? "-"}`);
        },
      }),
      (s) => s.close(100),
    );
    server.on("upgrade", (request, socket) => {
      const target =
        request.url === "/same" ? `ws://127.0.0.1:${port}/final` : `ws://localhost:${port}/final`;
      if (request.url !== "/final")
        socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target}\r\nContent-Length: 0\r\n\r\n`);
    });
    const headers = { Authorization: "Bearer t", Cookie: "a=1" };
    defer(await connect(`ws://127.0.0.1:${port}/same`, { followRedirects: true, headers }), (c) =>
      c.terminate(),
    );
    expect(seen).toEqual(["Bearer t a=1"]);
    defer(await connect(`ws://127.0.0.1:${port}/other`, { followRedirects: true, headers }), (c) =>
      c.terminate(),
    );
    expect(seen).toEqual(["Bearer t a=1", "- -"]);
  });

  it("bounds the number of redirects followed (maxRedirects)", async () => {
    const loop = await redirector((request) => `ws://${request.headers.host}/again`);
    const error = await connect(`ws://127.0.0.1:${loop}/`, { followRedirects: true, maxRedirects: 3 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebSocketError);
    expect((error as WebSocketError).code).toBe("TOO_MANY_REDIRECTS");
  });
});

// ─── Proxy ───────────────────────────────────────────────────────────────────────────────────

describe("HTTP CONNECT proxy", () => {
  it("tunnels through a proxy with CONNECT (and Proxy-Authorization from the URL)", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    const requests: { url: string | undefined; auth: string | undefined }[] = [];
    const proxy = createHttpServer();
    defer(proxy, (s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    });
    proxy.on("connect", (request, client, head) => {
      defer(client, (s) => s.destroy());
      requests.push({ url: request.url, auth: request.headers["proxy-authorization"] });
      const [host, port] = (request.url ?? "").split(":");
      const upstream = netConnect({ host: host as string, port: Number(port) }, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      defer(upstream, (s) => s.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyUrl = `http://user:pa%20ss@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const ws = defer(await connect(echo.url, { proxy: proxyUrl }), (c) => c.terminate());
    ws.send("via proxy");
    expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe("via proxy");
    expect(requests).toEqual([
      { url: `127.0.0.1:${echo.port}`, auth: `Basic ${Buffer.from("user:pa ss").toString("base64")}` },
    ]);
  });

  it("reports a proxy refusal as a typed error", async () => {
    const { server, port } = await httpServer();
    server.on("connect", (_request, socket) =>
      socket.end("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"),
    );
    const error = await connect("ws://127.0.0.1:1/", { proxy: `http://127.0.0.1:${port}` }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebSocketError);
    expect(String((error as Error).message)).toMatch(/407/);
  });
});

// ─── Abort and timeouts ──────────────────────────────────────────────────────────────────────

describe("AbortSignal and timeouts", () => {
  it("aborts a hung handshake with the signal's reason and destroys the socket", async () => {
    const silent = await silentServer();
    const controller = new AbortController();
    const pending = connect(`ws://127.0.0.1:${silent.port}/`, { signal: controller.signal });
    while (silent.sockets.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = new Promise((resolve) => silent.sockets[0]?.once("close", resolve));
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "AbortError" });
    await closed;
  });

  it("an already aborted signal fails at once", async () => {
    const error = await connect("ws://127.0.0.1:1/", { signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "AbortError" });
  });

  it("close() while connecting fails the connection: error, then close 1006", async () => {
    const silent = await silentServer();
    const ws = new WebSocket(`ws://127.0.0.1:${silent.port}/`);
    const log: string[] = [];
    ws.onerror = () => log.push("error");
    const closed = nextEvent<CloseEvent>(ws, "close");
    ws.close();
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const event = await closed;
    log.push(`close:${event.code}`);
    expect(log).toEqual(["error", "close:1006"]);
  });

  it("handshakeTimeout fails a handshake that never completes", async () => {
    const silent = await silentServer();
    const error = await connect(`ws://127.0.0.1:${silent.port}/`, { handshakeTimeout: 50 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WebSocketError);
    expect((error as WebSocketError).code).toBe("HANDSHAKE_TIMEOUT");
  });

  it("connection refused is reported as the network error", async () => {
    const silent = await silentServer();
    const port = silent.port;
    await cleanup(); // the port is free again
    const error = await connect(`ws://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ECONNREFUSED" });
  });

  it("accepts ws-style new WebSocket(url, options)", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    const ws = defer(new WebSocket(echo.url, { binaryType: "arraybuffer" }), (c) => c.terminate());
    await ws.opened;
    expect(ws.binaryType).toBe("arraybuffer");
  });
});
