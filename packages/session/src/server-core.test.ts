import {
  computeAcceptKey,
  HttpHeadParser,
  type HttpRequestHead,
  type HttpResponseHead,
} from "@ws/codec/handshake";
import { describe, expect, it } from "vitest";
import { memoryTransportPair } from "./memory-transport.ts";
import {
  type HandshakeOutcome,
  type HandshakeRequest,
  type IncomingHeaders,
  matchesPath,
  ServerCore,
  type ServerCoreOptions,
  type UpgradeInfo,
} from "./server-core.ts";
import { Session } from "./session.ts";
import { type BinaryType, WebSocket } from "./websocket.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ascii = new TextEncoder();

type Options = ServerCoreOptions<UpgradeInfo<string, IncomingHeaders>>;

function core(options: Options = {}): ServerCore<string, WebSocket<BinaryType>> {
  return new ServerCore<string, WebSocket<BinaryType>>(
    options,
    (url, init) => new WebSocket(url, undefined, init),
  );
}

/** A valid upgrade request (RFC 6455 §4.1), with `headers` added or replaced (undefined removes). */
function upgrade(
  headers: Record<string, string | undefined> = {},
  rest: Partial<HandshakeRequest<string>> = {},
): HandshakeRequest<string> {
  const all: Record<string, string | undefined> = {
    host: "example.test",
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": KEY,
    "sec-websocket-version": "13",
    ...headers,
  };
  for (const [name, value] of Object.entries(all)) if (value === undefined) delete all[name];
  return {
    request: "the runtime's request",
    method: "GET",
    httpVersion: "1.1",
    target: "/chat?room=1",
    headers: all,
    secure: false,
    remoteAddress: "192.0.2.1",
    ...rest,
  };
}

/** A raw HTTP/1.1 request head as a Deno or Bun listener reads it. */
function rawHead(lines: string[], target = "/chat"): HttpRequestHead {
  const text = [`GET ${target} HTTP/1.1`, ...lines, "", ""].join("\r\n");
  const head = new HttpHeadParser("request").push(ascii.encode(text));
  if (head === undefined) throw new Error("incomplete head");
  return head;
}

const VALID_LINES = [
  "Host: example.test",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Key: ${KEY}`,
  "Sec-WebSocket-Version: 13",
];

/** Parses the response an outcome carries. */
function response(outcome: HandshakeOutcome | undefined): { head: HttpResponseHead; body: string } {
  if (outcome === undefined) throw new Error("no outcome");
  const parser = new HttpHeadParser("response");
  const head = parser.push(ascii.encode(outcome.response));
  if (head === undefined) throw new Error(`incomplete response: ${outcome.response}`);
  return { head, body: new TextDecoder().decode(parser.rest) };
}

describe("ServerCore.handshake", () => {
  it("accepts a valid upgrade with 101 and the Sec-WebSocket-Accept of the key (RFC 6455 §4.2.2)", async () => {
    const outcome = await core().handshake(upgrade());
    expect(outcome?.accepted).toBe(true);
    const { head } = response(outcome);
    expect(head.status).toBe(101);
    expect(head.headerMap.get("sec-websocket-accept")).toBe(computeAcceptKey(KEY));
    expect(head.headerMap.get("sec-websocket-accept")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect(head.headerMap.get("upgrade")?.toLowerCase()).toBe("websocket");
    expect(head.headerMap.has("sec-websocket-protocol")).toBe(false);
    if (!outcome?.accepted) throw new Error("rejected");
    expect(outcome.url.href).toBe("ws://example.test/chat?room=1");
    expect(outcome.session.role).toBe("server");
  });

  it("builds a wss: URL for a secure connection", async () => {
    const outcome = await core().handshake(upgrade({}, { secure: true }));
    if (!outcome?.accepted) throw new Error("rejected");
    expect(outcome.url.protocol).toBe("wss:");
  });

  it("rejects bad requests with the codec's precise status", async () => {
    const noKey = response(await core().handshake(upgrade({ "sec-websocket-key": undefined })));
    expect(noKey.head.status).toBe(400);
    const version = response(await core().handshake(upgrade({ "sec-websocket-version": "8" })));
    expect(version.head.status).toBe(426);
    expect(version.head.headerMap.get("sec-websocket-version")).toBe("13");
    const post = response(await core().handshake(upgrade({}, { method: "POST" })));
    expect(post.head.status).toBe(405);
  });

  describe("subprotocols", () => {
    it("selects the first offered protocol the server supports", async () => {
      const outcome = await core({ protocols: ["superchat", "chat"] }).handshake(
        upgrade({ "sec-websocket-protocol": "chat, superchat" }),
      );
      expect(response(outcome).head.headerMap.get("sec-websocket-protocol")).toBe("chat");
      if (!outcome?.accepted) throw new Error("rejected");
      expect(outcome.session.protocol).toBe("chat");
    });

    it("accepts without a protocol when none of the offers is supported", async () => {
      const outcome = await core({ protocols: ["chat"] }).handshake(
        upgrade({ "sec-websocket-protocol": "mqtt" }),
      );
      expect(outcome?.accepted).toBe(true);
      expect(response(outcome).head.headerMap.has("sec-websocket-protocol")).toBe(false);
    });

    it("lets a function choose among the offers", async () => {
      const seen: (readonly string[])[] = [];
      const outcome = await core({
        protocols: (offered) => {
          seen.push(offered);
          return offered.at(-1);
        },
      }).handshake(upgrade({ "sec-websocket-protocol": "a, b, c" }));
      expect(seen).toEqual([["a", "b", "c"]]);
      expect(response(outcome).head.headerMap.get("sec-websocket-protocol")).toBe("c");
    });
  });

  describe("verify", () => {
    it("tells the hook about the request", async () => {
      const infos: UpgradeInfo<string, IncomingHeaders>[] = [];
      await core({
        protocols: ["chat"],
        verify: (info) => {
          infos.push(info);
        },
      }).handshake(upgrade({ origin: "https://app.example", "sec-websocket-protocol": "x, chat" }));
      const info = infos[0];
      expect(info?.request).toBe("the runtime's request");
      expect(info?.url.href).toBe("ws://example.test/chat?room=1");
      expect(info?.origin).toBe("https://app.example");
      expect(info?.remoteAddress).toBe("192.0.2.1");
      expect(info?.offeredProtocols).toEqual(["x", "chat"]);
      expect(info?.protocol).toBe("chat");
      expect(info?.headers.host).toBe("example.test");
    });

    for (const [name, verdict] of [
      ["undefined", undefined],
      ["true", true],
    ] as const) {
      it(`accepts when the hook returns ${name}`, async () => {
        expect((await core({ verify: () => verdict }).handshake(upgrade()))?.accepted).toBe(true);
      });
    }

    it("rejects with 403 when the hook returns false (sync)", async () => {
      const outcome = await core({ verify: () => false }).handshake(upgrade());
      expect(outcome?.accepted).toBe(false);
      expect(response(outcome).head.status).toBe(403);
    });

    it("rejects with the status, headers and body an async hook returns", async () => {
      const outcome = await core({
        verify: async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return { status: 401, headers: { "WWW-Authenticate": 'Basic realm="chat"' }, body: "who are you?" };
        },
      }).handshake(upgrade());
      expect(outcome?.accepted).toBe(false);
      const { head, body } = response(outcome);
      expect(head.status).toBe(401);
      expect(head.headerMap.get("www-authenticate")).toBe('Basic realm="chat"');
      expect(body).toBe("who are you?");
    });

    it("accepts with the extra headers and the other offered protocol the hook returns", async () => {
      const outcome = await core({
        protocols: ["chat", "superchat"],
        verify: async () => ({ headers: { "X-Session": "42" }, protocol: "superchat" }),
      }).handshake(upgrade({ "sec-websocket-protocol": "chat, superchat" }));
      const { head } = response(outcome);
      expect(head.status).toBe(101);
      expect(head.headerMap.get("x-session")).toBe("42");
      expect(head.headerMap.get("sec-websocket-protocol")).toBe("superchat");
      if (!outcome?.accepted) throw new Error("rejected");
      expect(outcome.session.protocol).toBe("superchat");
    });

    it("answers 500 and reports the error when the hook throws (sync or async)", async () => {
      for (const verify of [
        () => {
          throw new Error("sync boom");
        },
        async () => {
          throw new Error("async boom");
        },
      ]) {
        const errors: Error[] = [];
        const outcome = await core({ verify }).handshake(upgrade(), undefined, (error) => errors.push(error));
        expect(outcome?.accepted).toBe(false);
        expect(response(outcome).head.status).toBe(500);
        expect(errors).toHaveLength(1);
        expect(errors[0]?.message).toMatch(/boom/);
      }
    });

    it("answers 500 when the hook picks a protocol the client did not offer", async () => {
      const errors: Error[] = [];
      const outcome = await core({ verify: () => ({ protocol: "mqtt" }) }).handshake(
        upgrade({ "sec-websocket-protocol": "chat" }),
        undefined,
        (error) => errors.push(error),
      );
      expect(response(outcome).head.status).toBe(500);
      expect(errors[0]).toBeInstanceOf(TypeError);
    });

    it("resolves undefined (nothing to write) when the connection went away while the hook ran", async () => {
      let gone = false;
      const outcome = await core({
        verify: async () => {
          gone = true;
        },
      }).handshake(upgrade(), () => gone);
      expect(outcome).toBeUndefined();
    });
  });

  it("answers 503 once shutdown has started", async () => {
    const server = core();
    await server.close(0);
    expect(server.closing).toBe(true);
    expect(response(await server.handshake(upgrade())).head.status).toBe(503);
  });

  it("keeps its own options out of the session settings", () => {
    const server = core({ path: "/chat", protocols: ["chat"], verify: () => true, closeTimeout: 1234 });
    expect(server.settings).toEqual({ closeTimeout: 1234 });
  });
});

describe("ServerCore.handshakeHead (raw-socket runtimes)", () => {
  it("accepts a valid head", async () => {
    const outcome = await core().handshakeHead(rawHead(VALID_LINES), false, "192.0.2.1");
    expect(response(outcome).head.status).toBe(101);
  });

  it("answers 426 Upgrade Required to a request without Upgrade", async () => {
    const outcome = await core().handshakeHead(rawHead(["Host: example.test"]), false, undefined);
    const { head, body } = response(outcome);
    expect(head.status).toBe(426);
    expect(head.headerMap.get("upgrade")).toBe("websocket");
    expect(body).toBe("Upgrade Required");
  });

  it("answers 400 to a path the server does not serve, and serves its path with any query", async () => {
    const server = core({ path: "/chat" });
    const other = await server.handshakeHead(rawHead(VALID_LINES, "/other"), false, undefined);
    expect(response(other).head.status).toBe(400);
    const ours = await server.handshakeHead(rawHead(VALID_LINES, "/chat?room=2"), false, undefined);
    expect(response(ours).head.status).toBe(101);
  });

  it("answers 400 to a malformed upgrade (no key)", async () => {
    const lines = VALID_LINES.filter((line) => !line.startsWith("Sec-WebSocket-Key"));
    expect(response(await core().handshakeHead(rawHead(lines), false, undefined)).head.status).toBe(400);
  });
});

describe("matchesPath", () => {
  it("compares the path before the query", () => {
    expect(matchesPath(undefined, "/anything")).toBe(true);
    expect(matchesPath("/chat", "/chat")).toBe(true);
    expect(matchesPath("/chat", "/chat?x=1")).toBe(true);
    expect(matchesPath("/chat", "/chat/")).toBe(false);
    expect(matchesPath("/chat", "/chatroom")).toBe(false);
  });
});

describe("ServerCore.open and close", () => {
  /** Accepts an upgrade and opens it against a client session over memory transports. */
  async function connected(server: ServerCore<string, WebSocket<BinaryType>>, answer = true) {
    const outcome = await server.handshake(upgrade());
    if (!outcome?.accepted) throw new Error("rejected");
    const [serverTransport, clientTransport] = memoryTransportPair();
    const client = new Session(clientTransport, { role: "client" });
    const serverSession = new Session(serverTransport, outcome.session);
    serverTransport.receiver = serverSession;
    // A peer that never answers: bytes go nowhere.
    clientTransport.receiver = answer
      ? client
      : { onData: () => {}, onEnd: () => {}, onDrain: () => {}, onError: () => {} };
    const delivered: [WebSocket<BinaryType>, string][] = [];
    const ws = server.open(serverSession, outcome.url, "req", (socket, request) =>
      delivered.push([socket, request]),
    );
    if (answer) client.start();
    return { ws, delivered, client, serverSession };
  }

  it("hands the socket to deliver, tracks it, and forgets it once closed", async () => {
    const server = core();
    const { ws, delivered, serverSession } = await connected(server);
    expect(delivered).toEqual([[ws, "req"]]);
    expect(ws.url).toBe("ws://example.test/chat?room=1");
    expect(server.clients.has(ws)).toBe(true);
    ws.close(1000);
    await serverSession.closed;
    await Promise.resolve();
    expect(server.clients.size).toBe(0);
  });

  it("does not track sockets with clientTracking: false", async () => {
    const server = core({ clientTracking: false });
    const { ws, serverSession } = await connected(server);
    expect(server.clients.size).toBe(0);
    // Its open sessions are counted all the same.
    expect(server.stats().connections).toBe(1);
    ws.close(1000);
    await serverSession.closed;
    expect(server.stats().connections).toBe(0);
  });

  it("counts the open sessions of tracked sockets, not those closed and still in clients", async () => {
    const server = core();
    const { ws, serverSession } = await connected(server);
    expect(server.stats().connections).toBe(1);
    ws.close(1000);
    await serverSession.closed;
    // The socket leaves `clients` a microtask after its close event; it is not counted before.
    expect(server.clients.has(ws)).toBe(true);
    expect(server.stats().connections).toBe(0);
    await Promise.resolve();
    expect(server.clients.size).toBe(0);
  });

  it("close() closes every socket with 1001 and waits for the handshake", async () => {
    const server = core();
    const { client, serverSession } = await connected(server);
    await server.close(1000);
    const info = await client.closed;
    expect(info.code).toBe(1001);
    expect((await serverSession.closed).wasClean).toBe(true);
  });

  it("close(timeout) terminates a socket whose peer never answers", async () => {
    const server = core();
    const { serverSession } = await connected(server, false);
    const started = Date.now();
    await server.close(20);
    const info = await serverSession.closed;
    expect(info.code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
