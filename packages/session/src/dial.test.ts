import { Connection, HandshakeError } from "@ws/codec";
import {
  HttpHeadParser,
  type HttpRequestHead,
  parseWebSocketUrl,
  type WebSocketUrl,
} from "@ws/codec/handshake";
import { describe, expect, it } from "vitest";
import { type DialConnection, type DialOptions, dial, type Opener } from "./dial.ts";
import { HandshakeRejectedError, WebSocketError } from "./errors.ts";
import { memoryTransportPair } from "./memory-transport.ts";
import { ServerCore } from "./server-core.ts";
import { Session, type SessionOptions } from "./session.ts";
import { type BinaryType, WebSocket } from "./websocket.ts";

const ascii = new TextEncoder();

/** What a scripted server does with one request: answer with bytes, say nothing, or hang up. */
type Answer = string | Uint8Array | "silence" | "hang-up";

/**
 * A fake connection: the request written to it is parsed and given to `server`, whose answer is
 * what `read()` returns. `attach` puts a client session on an in-memory transport.
 */
class FakeConnection implements DialConnection {
  destroyed = false;
  request: HttpRequestHead | undefined;
  readonly #parser = new HttpHeadParser("request");
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #waiter: ((chunk: Uint8Array | null) => void) | undefined;

  readonly url: WebSocketUrl;
  readonly server: (request: HttpRequestHead, url: WebSocketUrl) => Answer | Promise<Answer>;

  constructor(
    url: WebSocketUrl,
    server: (request: HttpRequestHead, url: WebSocketUrl) => Answer | Promise<Answer>,
  ) {
    this.url = url;
    this.server = server;
  }

  write(bytes: Uint8Array): void {
    const head = this.#parser.push(bytes);
    if (head === undefined) return;
    this.request = head;
    void Promise.resolve(this.server(head, this.url)).then((answer) => {
      if (answer === "silence") return;
      if (answer === "hang-up") this.#push(null);
      else this.#push(typeof answer === "string" ? ascii.encode(answer) : answer);
    });
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  destroy(): void {
    this.destroyed = true;
  }

  attach(rest: Uint8Array, options: SessionOptions): Session {
    const [clientTransport, serverTransport] = memoryTransportPair();
    const client = new Session(clientTransport, options);
    clientTransport.receiver = client;
    serverTransport.receiver = { onData: () => {}, onEnd: () => {}, onDrain: () => {}, onError: () => {} };
    if (rest.length > 0) client.onData(rest);
    return client;
  }

  #push(chunk: Uint8Array | null): void {
    if (chunk === null) this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) waiter(chunk);
    else if (chunk !== null) this.#chunks.push(chunk);
  }
}

/** An opener whose connections are answered by `server`; records every connection. */
function scripted(server: (request: HttpRequestHead, url: WebSocketUrl) => Answer | Promise<Answer>): {
  open: Opener;
  connections: FakeConnection[];
  signals: AbortSignal[];
} {
  const connections: FakeConnection[] = [];
  const signals: AbortSignal[] = [];
  const open: Opener = async (url, signal) => {
    signals.push(signal);
    const connection = new FakeConnection(url, server);
    connections.push(connection);
    return connection;
  };
  return { open, connections, signals };
}

function request(
  url = "ws://example.test/chat",
  signal = new AbortController().signal,
  protocols: string[] = [],
) {
  return { url: parseWebSocketUrl(url), protocols, signal, session: {} };
}

/** A 101 answer built by a real ServerCore (the shared server logic). */
async function accept101(head: HttpRequestHead, protocols: string[] = []): Promise<string> {
  const core = new ServerCore<HttpRequestHead, WebSocket<BinaryType>>(
    { protocols },
    (url, init) => new WebSocket(url, undefined, init),
  );
  const outcome = await core.handshakeHead(head, false, "memory");
  if (outcome === undefined) throw new Error("no outcome");
  return outcome.response;
}

function rejection(status: string, headers: string[], body = ""): string {
  return [`HTTP/1.1 ${status}`, ...headers, `Content-Length: ${ascii.encode(body).length}`, "", body].join(
    "\r\n",
  );
}

async function rejected<T>(promise: Promise<T>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("dial", () => {
  it("completes the opening handshake against ServerCore and returns the client session", async () => {
    const { open, connections } = scripted((head) => accept101(head, ["chat"]));
    const session = await dial(request("ws://example.test/chat", undefined, ["superchat", "chat"]), {}, open);
    expect(session.role).toBe("client");
    expect(session.protocol).toBe("chat");
    const head = connections[0]?.request;
    expect(head?.target).toBe("/chat");
    expect(head?.headerMap.get("host")).toBe("example.test");
    expect(head?.headerMap.get("sec-websocket-protocol")).toBe("superchat, chat");
    expect(connections[0]?.destroyed).toBe(false);
  });

  it("hands bytes that followed the 101 head to the session", async () => {
    const server = new Connection({ role: "server" });
    const frame = await server.send({ type: "text", data: "early" });
    const { open } = scripted(async (head) => {
      const response = ascii.encode(await accept101(head));
      const bytes = new Uint8Array(response.length + frame.reduce((n, c) => n + c.length, 0));
      bytes.set(response);
      let offset = response.length;
      for (const chunk of frame) {
        bytes.set(chunk, offset);
        offset += chunk.length;
      }
      return bytes;
    });
    const session = await dial(request(), {}, open);
    const got: (string | Uint8Array)[] = [];
    session.handler = { message: (data) => got.push(data) };
    session.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(got).toEqual(["early"]);
  });

  it("rejects a non-101 answer with HandshakeRejectedError carrying status, headers and body", async () => {
    const { open, connections } = scripted(() =>
      rejection("401 Unauthorized", ["WWW-Authenticate: Bearer", "X-Reason: token"], "token expired"),
    );
    const error = await rejected(dial(request(), {}, open));
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    const rejectedError = error as HandshakeRejectedError;
    expect(rejectedError.code).toBe("HANDSHAKE_REJECTED");
    expect(rejectedError.status).toBe(401);
    expect(rejectedError.statusText).toBe("Unauthorized");
    expect(rejectedError.headers).toContainEqual(["WWW-Authenticate", "Bearer"]);
    expect(rejectedError.headers).toContainEqual(["X-Reason", "token"]);
    expect(rejectedError.body).toBe("token expired");
    expect(connections[0]?.destroyed).toBe(true);
  });

  it("rejects an invalid 101 (wrong Sec-WebSocket-Accept) with the codec's HandshakeError", async () => {
    const { open } = scripted(() =>
      [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "",
        "",
      ].join("\r\n"),
    );
    expect(await rejected(dial(request(), {}, open))).toBeInstanceOf(HandshakeError);
  });

  it("fails with CONNECTION_FAILED when the server hangs up before the head", async () => {
    const { open } = scripted(() => "hang-up");
    const error = await rejected(dial(request(), {}, open));
    expect(error).toBeInstanceOf(WebSocketError);
    expect((error as WebSocketError).code).toBe("CONNECTION_FAILED");
  });

  describe("redirects", () => {
    const redirectTo = (location: string, status = "302 Found") =>
      rejection(status, [`Location: ${location}`]);

    it("tells onRedirect each URL before following it, and onUpgrade the 101 head before it is checked", async () => {
      const { open } = scripted((head, url) =>
        url.pathname === "/chat" ? redirectTo("/moved?x=1") : accept101(head),
      );
      const seen: unknown[] = [];
      await dial(
        request(),
        {
          followRedirects: true,
          onRedirect: (url) => seen.push(["redirect", url.href]),
          onUpgrade: (head) => seen.push(["upgrade", head.status, head.headerMap.get("upgrade")]),
        },
        open,
      );
      expect(seen).toEqual([
        ["redirect", "ws://example.test/moved?x=1"],
        ["upgrade", 101, "websocket"],
      ]);
    });

    it("fails the connection with what onUpgrade or onRedirect threw", async () => {
      const thrown = new Error("from the hook");
      const upgrade = scripted((head) => accept101(head));
      expect(
        await rejected(
          dial(
            request(),
            {
              onUpgrade: () => {
                throw thrown;
              },
            },
            upgrade.open,
          ),
        ),
      ).toBe(thrown);
      expect(upgrade.connections[0]?.destroyed).toBe(true);
      const redirect = scripted(() => redirectTo("/moved"));
      expect(
        await rejected(
          dial(
            request(),
            {
              followRedirects: true,
              onRedirect: () => {
                throw thrown;
              },
            },
            redirect.open,
          ),
        ),
      ).toBe(thrown);
    });

    it("does not follow redirects by default (as browsers fail on them)", async () => {
      const { open, connections } = scripted(() => redirectTo("/elsewhere"));
      const error = await rejected(dial(request(), {}, open));
      expect((error as HandshakeRejectedError).status).toBe(302);
      expect(connections).toHaveLength(1);
    });

    it("follows a redirect when asked, keeping credentials on the same origin", async () => {
      const { open, connections } = scripted((head, url) =>
        url.pathname === "/chat" ? redirectTo("/moved", "307 Temporary Redirect") : accept101(head),
      );
      const options: DialOptions = {
        followRedirects: true,
        headers: { Authorization: "Bearer secret", Cookie: "sid=1", "X-Trace": "t" },
      };
      await dial(request(), options, open);
      expect(connections.map((c) => c.url.pathname)).toEqual(["/chat", "/moved"]);
      const second = connections[1]?.request?.headerMap;
      expect(second?.get("authorization")).toBe("Bearer secret");
      expect(second?.get("cookie")).toBe("sid=1");
      expect(second?.get("x-trace")).toBe("t");
    });

    it("drops Authorization and Cookie when a redirect leaves the origin (host or scheme)", async () => {
      for (const location of [
        "ws://other.test/chat",
        "wss://example.test/chat",
        "http://example.test:8080/",
      ]) {
        const { open, connections } = scripted((head) =>
          connections.length === 1 ? redirectTo(location, "301 Moved Permanently") : accept101(head),
        );
        await dial(
          request(),
          {
            followRedirects: true,
            headers: { Authorization: "Bearer secret", Cookie: "sid=1", "X-Trace": "t" },
          },
          open,
        );
        expect(connections).toHaveLength(2);
        expect(connections[1]?.url.href).toBe(location.replace(/^http/, "ws"));
        const second = connections[1]?.request?.headerMap;
        expect(second?.has("authorization")).toBe(false);
        expect(second?.has("cookie")).toBe(false);
        expect(second?.get("x-trace")).toBe("t");
      }
    });

    it("stops after maxRedirects with TOO_MANY_REDIRECTS", async () => {
      let n = 0;
      const { open, connections } = scripted(() => redirectTo(`/hop${++n}`));
      const error = await rejected(dial(request(), { followRedirects: true, maxRedirects: 3 }, open));
      expect((error as WebSocketError).code).toBe("TOO_MANY_REDIRECTS");
      expect(connections).toHaveLength(4);
      expect(connections.every((c) => c.destroyed)).toBe(true);
    });
  });

  describe("handshake timeout", () => {
    it("fails with HANDSHAKE_TIMEOUT when the server does not answer, and destroys the connection", async () => {
      const { open, connections, signals } = scripted(() => "silence");
      const started = Date.now();
      const error = await rejected(dial(request(), { handshakeTimeout: 30 }, open));
      expect((error as WebSocketError).code).toBe("HANDSHAKE_TIMEOUT");
      expect(Date.now() - started).toBeLessThan(2000);
      expect(connections[0]?.destroyed).toBe(true);
      expect(signals[0]?.aborted).toBe(true);
    });

    it("covers connecting too: an opener that never resolves is aborted", async () => {
      const signals: AbortSignal[] = [];
      const open: Opener = (_url, signal) => {
        signals.push(signal);
        return new Promise(() => {});
      };
      const error = await rejected(dial(request(), { handshakeTimeout: 20 }, open));
      expect((error as WebSocketError).code).toBe("HANDSHAKE_TIMEOUT");
      expect(signals[0]?.aborted).toBe(true);
    });

    it("destroys a connection that opens after the dial failed", async () => {
      let late: FakeConnection | undefined;
      const open: Opener = (url) =>
        new Promise((resolve) =>
          setTimeout(() => {
            late = new FakeConnection(url, () => "silence");
            resolve(late);
          }, 40),
        );
      await rejected(dial(request(), { handshakeTimeout: 10 }, open));
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(late?.destroyed).toBe(true);
    });
  });

  describe("abort signal", () => {
    it("rejects with the signal's reason during the handshake and destroys the connection", async () => {
      const controller = new AbortController();
      const { open, connections } = scripted(() => {
        controller.abort(new Error("user gave up"));
        return "silence";
      });
      const error = await rejected(dial(request(undefined, controller.signal), {}, open));
      expect((error as Error).message).toBe("user gave up");
      expect(connections[0]?.destroyed).toBe(true);
    });

    it("does not connect at all with an already aborted signal", async () => {
      const { open, connections } = scripted(() => "silence");
      const reason = new Error("too late");
      const error = await rejected(dial(request(undefined, AbortSignal.abort(reason)), {}, open));
      expect(error).toBe(reason);
      expect(connections).toHaveLength(0);
    });
  });
});
