import { IncomingMessage } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, connect as netConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient } from "ws";
import {
  type CloseEvent,
  connect,
  HandshakeRejectedError,
  type UpgradeInfo,
  WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import { cleanup, defer, httpServer, nextEvent, parseFrames, rawClient, rawFrame } from "./helpers.ts";

afterEach(cleanup);

async function ownServer(options: WebSocketServerOptions = {}): Promise<{
  server: WebSocketServer;
  url: string;
}> {
  const server = defer(new WebSocketServer({ port: 0, host: "127.0.0.1", ...options }), (s) => s.close(100));
  await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("accept and reject hooks", () => {
  it("rejects with a custom status, headers and body, visible to the client as a typed error", async () => {
    const { url } = await ownServer({
      verify: () => ({
        status: 401,
        headers: { "WWW-Authenticate": 'Bearer realm="chat"' },
        body: "token required",
      }),
    });
    const error = await connect(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    const rejected = error as HandshakeRejectedError;
    expect(rejected.status).toBe(401);
    expect(rejected.header("www-authenticate")).toBe('Bearer realm="chat"');
    expect(rejected.body).toBe("token required");
  });

  it("fires error then close 1006 on the WebSocket when the handshake is rejected", async () => {
    const { url } = await ownServer({ verify: () => false });
    const ws = new WebSocket(url);
    const log: string[] = [];
    ws.onerror = () => log.push("error");
    const closed = nextEvent<CloseEvent>(ws, "close");
    const event = await closed;
    log.push(`close:${event.code}:${event.wasClean}`);
    expect(log).toEqual(["error", "close:1006:false"]);
    expect((ws.error as HandshakeRejectedError).status).toBe(403);
  });

  it("checks the origin and authorization, sees the URL, headers and remote address (async)", async () => {
    const seen: UpgradeInfo[] = [];
    const { url } = await ownServer({
      verify: async (info) => {
        seen.push(info);
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (info.origin !== "https://good.example") return { status: 403, body: "bad origin" };
        if (info.headers.authorization !== "Bearer secret") return { status: 401 };
        return { headers: { "Set-Cookie": "session=1" } };
      },
    });
    const bad = await connect(url, { origin: "https://evil.example" }).catch((e: unknown) => e);
    expect((bad as HandshakeRejectedError).status).toBe(403);
    expect((bad as HandshakeRejectedError).body).toBe("bad origin");
    const noAuth = await connect(url, { origin: "https://good.example" }).catch((e: unknown) => e);
    expect((noAuth as HandshakeRejectedError).status).toBe(401);

    const client = defer(
      new WsClient(`${url}/room?id=7`, {
        origin: "https://good.example",
        headers: { Authorization: "Bearer secret" },
      }),
      (c) => c.terminate(),
    );
    const upgrade = new Promise<Record<string, unknown>>((resolve) =>
      client.once("upgrade", (response) => resolve(response.headers)),
    );
    await new Promise((resolve) => client.once("open", resolve));
    expect((await upgrade)["set-cookie"]).toEqual(["session=1"]);
    const last = seen.at(-1) as UpgradeInfo;
    expect(last.url.pathname).toBe("/room");
    expect(last.url.searchParams.get("id")).toBe("7");
    expect(last.remoteAddress).toBe("127.0.0.1");
  });

  it("selects subprotocols by preference list, by callback, and by the verify hook", async () => {
    const byList = await ownServer({ protocols: ["b", "a"] });
    const ws1 = defer(await connect(byList.url, { protocols: ["a", "b"] }), (c) => c.terminate());
    expect(ws1.protocol).toBe("a"); // the first the client offers that we support
    const byCallback = await ownServer({ protocols: (offered) => offered.at(-1) });
    const ws2 = defer(await connect(byCallback.url, { protocols: ["x", "y"] }), (c) => c.terminate());
    expect(ws2.protocol).toBe("y");
    const byVerify = await ownServer({
      protocols: ["x"],
      verify: (info) => ({ protocol: info.offeredProtocols[1] }),
    });
    const ws3 = defer(await connect(byVerify.url, { protocols: ["x", "y"] }), (c) => c.terminate());
    expect(ws3.protocol).toBe("y");
  });

  it("answers invalid handshakes precisely (426 with Sec-WebSocket-Version for a wrong version)", async () => {
    const { url } = await ownServer();
    const port = new URL(url).port;
    // A plain GET reaches the HTTP server the WebSocket server created: 426.
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(426);
    const raw = await import("node:net").then(({ connect: netConnect }) =>
      netConnect({ host: "127.0.0.1", port: Number(port) }),
    );
    defer(raw, (s) => s.destroy());
    raw.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    const text = await new Promise<string>((resolve) => {
      let data = "";
      raw.on("data", (chunk) => (data += chunk.toString()));
      raw.on("end", () => resolve(data));
    });
    expect(text.startsWith("HTTP/1.1 426 ")).toBe(true);
    expect(text).toMatch(/\r\nSec-WebSocket-Version: 13\r\n/);
  });
});

describe("the request of a server it creates (port)", () => {
  /** What user code reads of a request, as plain data. */
  function shape(request: unknown, socket: unknown) {
    const message = request as IncomingMessage;
    return {
      isIncomingMessage: message instanceof IncomingMessage,
      method: message.method,
      url: message.url,
      httpVersion: message.httpVersion,
      major: message.httpVersionMajor,
      minor: message.httpVersionMinor,
      headers: { ...message.headers },
      rawHeaders: message.rawHeaders,
      complete: message.complete,
      sameSocket: message.socket === socket,
      remoteAddress: message.socket.remoteAddress,
    };
  }

  it("is the IncomingMessage a node:http server gives, in verify and 'connection' (repeated fields as Node joins them)", async () => {
    // Node's rules for repeated fields: Cookie joined with "; ", User-Agent and Host keep the
    // first, other fields joined with ", ".
    const extra =
      "Cookie: a=1\r\nCookie: b=2\r\nUser-Agent: one\r\nUser-Agent: two\r\nX-Tag: 1\r\nx-tag: 2\r\n";
    const seen: Record<string, ReturnType<typeof shape>> = {};
    const observe = (mode: string, server: WebSocketServer) => {
      let verified: unknown;
      server.on("connection", (ws, request) => {
        const socket = (request as IncomingMessage).socket;
        seen[mode] = shape(request, socket);
        expect(verified).toBe(request);
        ws.close();
      });
      return (info: UpgradeInfo) => {
        verified = info.request;
      };
    };
    let ownVerify: (info: UpgradeInfo) => void = () => {};
    const { server: own } = await ownServer({ verify: (info) => ownVerify(info) });
    ownVerify = observe("port", own);
    const { server: http, port: httpPort } = await httpServer();
    let attachedVerify: (info: UpgradeInfo) => void = () => {};
    const attached = defer(
      new WebSocketServer({ server: http, verify: (info) => attachedVerify(info) }),
      (s) => s.close(100),
    );
    attachedVerify = observe("server", attached);
    const ownPort = (own.address() as AddressInfo).port;
    for (const [mode, port] of [
      ["port", ownPort],
      ["server", httpPort],
    ] as const) {
      const client = await rawClient(port, "/chat?room=1", extra);
      expect(client.head).toMatch(/^HTTP\/1.1 101 /);
      await client.waitFrames(1);
      expect(seen[mode]).toBeDefined();
    }
    // The Host field names the port, which differs: compare it apart.
    const portShape = seen.port as ReturnType<typeof shape>;
    const serverShape = seen.server as ReturnType<typeof shape>;
    expect(portShape.headers.host).toBe(`127.0.0.1:${ownPort}`);
    expect(serverShape.headers.host).toBe(`127.0.0.1:${httpPort}`);
    const withoutHost = (s: ReturnType<typeof shape>) => ({
      ...s,
      headers: { ...s.headers, host: "" },
      rawHeaders: s.rawHeaders.map((value) => (value.startsWith("127.0.0.1:") ? "" : value)),
    });
    expect(withoutHost(portShape)).toEqual(withoutHost(serverShape));
    expect(portShape).toMatchObject({
      isIncomingMessage: true,
      method: "GET",
      url: "/chat?room=1",
      httpVersion: "1.1",
      sameSocket: true,
      remoteAddress: "127.0.0.1",
      headers: { cookie: "a=1; b=2", "user-agent": "one", "x-tag": "1, 2" },
    });
  });
});

describe("bytes that follow the head before the upgrade is answered (port)", () => {
  it("keeps frames sent in separate chunks while verify runs, in order, for the session", async () => {
    let release: () => void = () => {};
    const verified = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { server, url } = await ownServer({ verify: () => verified });
    server.on("connection", (ws) => {
      ws.onmessage = (event) => ws.send(event.data);
    });
    const socket = defer(netConnect({ host: "127.0.0.1", port: Number(new URL(url).port) }), (s) =>
      s.destroy(),
    );
    await new Promise((resolve) => socket.once("connect", resolve));
    let received = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.write(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    // Three frames in three chunks while the verify hook has not answered yet.
    for (const text of ["one", "two", "three"]) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      socket.write(rawFrame(0x1, new TextEncoder().encode(text)));
    }
    release();
    const texts = async (): Promise<string[]> => {
      for (;;) {
        const end = received.indexOf("\r\n\r\n");
        if (end !== -1) {
          const frames = parseFrames(received.subarray(end + 4)).frames;
          if (frames.length >= 3) return frames.map((frame) => new TextDecoder().decode(frame.payload));
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    expect(await texts()).toEqual(["one", "two", "three"]);
  });
});

describe("options are checked", () => {
  it("unknown and mistyped options throw the shared schema's errors (same as Deno and Bun)", () => {
    expect(() => new WebSocketServer({ noServer: true, verifyClient: () => false } as never)).toThrow(
      /unknown option verifyClient \(from ws\?\): use verify/,
    );
    expect(() => new WebSocketServer({ noServer: true, maxPayload: 8 } as never)).toThrow(
      /limits: \{ maxMessageSize \}/,
    );
    expect(() => new WebSocketServer({ noServer: true, limits: { maxMesageSize: 1 } } as never)).toThrow(
      /did you mean maxMessageSize/,
    );
    expect(() => new WebSocketServer({ noServer: true, verify: "yes" } as never)).toThrow(TypeError);
    expect(() => new WebSocketServer({ noServer: true, closeTimeout: "5s" } as never)).toThrow(TypeError);
  });
});

describe("attaching to HTTP servers", () => {
  it("serves several WebSocket servers on one HTTP server by path; unmatched paths get 400", async () => {
    const { server, port } = await httpServer((_req, res) => res.end("plain http"));
    const a = defer(new WebSocketServer({ server, path: "/a" }), (s) => s.close(100));
    const b = defer(new WebSocketServer({ server, path: "/b" }), (s) => s.close(100));
    a.on("connection", (ws) => ws.send("from a"));
    b.on("connection", (ws) => ws.send("from b"));
    for (const name of ["a", "b"]) {
      const ws = defer(await connect(`ws://127.0.0.1:${port}/${name}`), (c) => c.terminate());
      expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe(`from ${name}`);
    }
    const error = await connect(`ws://127.0.0.1:${port}/c`).catch((e: unknown) => e);
    expect((error as HandshakeRejectedError).status).toBe(400);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("plain http");
  });

  it("leaves unmatched paths to other 'upgrade' listeners", async () => {
    const { server, port } = await httpServer();
    defer(new WebSocketServer({ server, path: "/ours" }), (s) => s.close(100));
    const other = defer(new WebSocketServer({ noServer: true }), (s) => s.close(100));
    server.on("upgrade", (request, socket, head) => {
      if (request.url === "/theirs") other.handleUpgrade(request, socket, head, (ws) => ws.send("theirs"));
    });
    const ws = defer(await connect(`ws://127.0.0.1:${port}/theirs`), (c) => c.terminate());
    expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe("theirs");
  });

  it("handleUpgrade() lets a framework route upgrades itself (noServer)", async () => {
    const wss = defer(new WebSocketServer({ noServer: true }), (s) => s.close(100));
    const { server, port } = await httpServer();
    server.on("upgrade", (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.onmessage = (event) => ws.send(`echo:${String((event as MessageEvent).data)}`);
      });
    });
    const ws = defer(await connect(`ws://127.0.0.1:${port}/anything`), (c) => c.terminate());
    ws.send("x");
    expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe("echo:x");
    expect(wss.clients.size).toBe(1);
  });

  it("attaches to an https server (see tls.test.ts for certificates)", () => {
    const server = createHttpsServer();
    const wss = new WebSocketServer({ server });
    expect(wss.address()).toBeNull();
    void wss.close(0);
  });
});

// close() with 1001, slowloris, bytes that are not HTTP, maxPendingHandshakes and
// maxConnections are basics-scenarios.ts's (basics.test.ts), shared with Deno and Bun.
describe("shutdown", () => {
  it("close() right after the constructor, while the host name is looked up, does not leave the server listening", async () => {
    const server = new WebSocketServer({ port: 0, host: "localhost" });
    let listening = 0;
    server.on("listening", () => listening++);
    await server.close();
    expect(server.address()).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.address()).toBeNull();
    expect(listening).toBe(0);
  });

  it("close() terminates clients that do not answer within the deadline", async () => {
    const { server, url } = await ownServer({ closeTimeout: 10_000 });
    const raw = await rawClient(Number(new URL(url).port));
    raw.socket.pause(); // never answers the close frame
    expect(server.clients.size).toBe(1);
    await server.close(50);
    expect(server.clients.size).toBe(0);
    raw.socket.resume(); // read up to the end the server sent
    await raw.ended;
  });

  it("terminate() drops every client at once", async () => {
    const { server, url } = await ownServer();
    const ws = defer(await connect(url), (c) => c.terminate());
    const closed = nextEvent<CloseEvent>(ws, "close");
    server.terminate();
    expect((await closed).code).toBe(1006);
  });
});

describe("bounded handshakes", () => {
  it("closes an upgrade whose verify hook outlasts handshakeTimeout (attached server)", async () => {
    const { server, port } = await httpServer();
    defer(
      new WebSocketServer({ server, handshakeTimeout: 100, verify: () => new Promise<boolean>(() => {}) }),
      (s) => s.close(100),
    );
    const error = await connect(`ws://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(HandshakeRejectedError);
  });
});
