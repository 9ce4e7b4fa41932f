/**
 * The WebSocket client for Node: the shared WHATWG `WebSocket` class with a connector over
 * `net`/`tls`, the codec's `buildUpgradeRequest` / `HttpHeadParser` / `checkUpgradeResponse`,
 * opt-in redirects, an HTTP CONNECT proxy, a handshake timeout and an `AbortSignal`.
 *
 * Node docs relied on:
 * - `net.connect()`: https://nodejs.org/api/net.html#netconnect
 * - `tls.connect()` (`ca`, `rejectUnauthorized`, `servername`, `socket`):
 *   https://nodejs.org/api/tls.html#tlsconnectoptions-callback
 * - `net.isIP()`: https://nodejs.org/api/net.html#netisipinput
 * - HTTP CONNECT tunnels (RFC 9110 §9.3.6), as Node's own `http` CONNECT example:
 *   https://nodejs.org/api/http.html#event-connect
 *
 * @module
 */
import "./node-version.ts";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import type { WebSocketUrl } from "@ws/codec/handshake";
import { deflateEngine } from "@ws/deflate/node-zlib";
import {
  type BinaryType,
  type ConnectRequest,
  connectWhenOpen,
  type DialConnection,
  type DialOptions,
  dial,
  isAcceptedSocket,
  readResponseHead,
  type Session,
  WebSocket as SharedWebSocket,
  splitClientArguments,
  WebSocketError,
  type WebSocketInit,
} from "@ws/session";
import { dialHttp2, type Http2Option } from "./http2-client.ts";
import { handshakeConnection } from "./socket-transport.ts";

export type { Http2Option };

/** Options of the Node client: the shared {@link WebSocketInit} and {@link DialOptions}, plus Node's network options. */
export interface ClientOptions<B extends BinaryType = BinaryType>
  extends Omit<WebSocketInit<B>, "connector" | "session" | "clients">,
    DialOptions {
  /** An HTTP proxy to tunnel through with CONNECT, e.g. `http://user:pass@proxy:3128`. */
  readonly proxy?: string | URL | undefined;
  /** Trusted CA certificates for `wss:` (default: Node's bundle). */
  readonly ca?: ConnectionOptions["ca"];
  /** Reject servers whose certificate does not verify. Default true. */
  readonly rejectUnauthorized?: boolean | undefined;
  /** The TLS SNI name. Default: the URL's host name (unless it is an IP address). */
  readonly servername?: string | undefined;
  /** Any other `tls.connect()` options (client certificates, ciphers …). */
  readonly tls?: ConnectionOptions | undefined;
  /**
   * WebSockets over HTTP/2 (RFC 8441): `true` opens the socket as a stream of an HTTP/2
   * connection to the origin (TLS with ALPN `h2` for `wss:`, prior knowledge for `ws:`), shared
   * by every socket to that origin with the same TLS options, and fails when the server does not
   * enable the Extended CONNECT protocol. `"auto"` tries that and falls back to HTTP/1.1 when
   * the server does not speak HTTP/2 or does not send SETTINGS_ENABLE_CONNECT_PROTOCOL (the
   * origin is then dialled over HTTP/1.1 for a minute). Default `false` (HTTP/1.1). The
   * socket's {@link WebSocket.httpVersion} tells which one was used. Not with `proxy`; over
   * HTTP/2, redirects are not followed.
   */
  readonly http2?: Http2Option | undefined;
}

/** Options of {@link connect}: {@link ClientOptions} plus the subprotocols to offer. */
export interface ConnectOptions<B extends BinaryType = BinaryType> extends ClientOptions<B> {
  readonly protocols?: string | readonly string[] | undefined;
}

/** Resolves with the socket once connected (and TLS-established), rejects on error or abort. */
function whenConnected(
  socket: Socket,
  event: "connect" | "secureConnect",
  signal: AbortSignal,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      socket.off("error", onError);
      socket.off(event, onReady);
      signal.removeEventListener("abort", onAbort);
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onReady = (): void => {
      done();
      resolve(socket);
    };
    const onAbort = (): void => {
      done();
      socket.destroy();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    socket.once("error", onError);
    socket.once(event, onReady);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Client sockets stay writable after the server's FIN: with Node's default (`allowHalfOpen:
 * false`) the socket ends its own side as soon as the FIN is read, so a close frame followed at
 * once by a FIN left no way to send the close reply (RFC 6455 §5.5.1). The session ends our
 * side itself once the close handshake is done or the peer has gone (as the server's sockets,
 * which `node:http` makes half-open, always did).
 */
const HALF_OPEN = true;

/** Opens a TCP (and TLS for `wss:`) connection to `url`, through `proxy` when given. */
async function openSocket(
  url: WebSocketUrl,
  options: ClientOptions,
  signal: AbortSignal,
): Promise<DialConnection> {
  let socket: Socket;
  if (options.proxy !== undefined) {
    const proxy = new URL(String(options.proxy));
    const tunnel = netConnect({
      host: proxy.hostname.replace(/^\[|\]$/g, ""),
      port: Number(proxy.port || 80),
      allowHalfOpen: HALF_OPEN,
    });
    await whenConnected(tunnel, "connect", signal);
    // RFC 9110 §9.3.6: CONNECT host:port; the authority form needs brackets for IPv6.
    const authority = `${isIP(url.hostname) === 6 ? `[${url.hostname}]` : url.hostname}:${url.port}`;
    let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
    if (proxy.username !== "") {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      request += `Proxy-Authorization: Basic ${Buffer.from(credentials).toString("base64")}\r\n`;
    }
    tunnel.write(`${request}\r\n`);
    const reader = handshakeConnection(tunnel);
    const onAbort = (): void => reader.destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const { head } = await readResponseHead(reader);
      if (head.status < 200 || head.status > 299) {
        tunnel.destroy();
        throw new WebSocketError(
          "CONNECTION_FAILED",
          `Cannot open WebSocket connection: the proxy answered ${head.status} ${head.statusText} to CONNECT`,
        );
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (!url.secure) return reader;
    reader.detach();
    socket = tunnel;
  } else {
    socket = netConnect({ host: url.hostname, port: url.port, allowHalfOpen: HALF_OPEN });
    await whenConnected(socket, "connect", signal);
    if (!url.secure) return handshakeConnection(socket);
  }
  const secure = tlsConnect({
    ...options.tls,
    socket,
    servername: options.servername ?? (isIP(url.hostname) === 0 ? url.hostname : undefined),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    rejectUnauthorized: options.rejectUnauthorized ?? options.tls?.rejectUnauthorized ?? true,
    ALPNProtocols: ["http/1.1"],
  } as ConnectionOptions);
  return handshakeConnection(await whenConnected(secure, "secureConnect", signal));
}

/** Sets a socket's HTTP version (assigned in {@link WebSocket}'s static block: it writes a private field). */
let setHttpVersion: (socket: WebSocket, version: "1.1" | "2") => void;

/** Records the HTTP version a server's socket runs over. */
export function markHttpVersion(socket: WebSocket, version: "1.1" | "2"): void {
  setHttpVersion(socket, version);
}

/**
 * The Node connector: over HTTP/2 when asked ({@link dialHttp2}), else the shared {@link dial}
 * over `net` / `tls` sockets. `opened` learns which HTTP version was used.
 */
async function connectNode(
  request: ConnectRequest,
  options: ClientOptions,
  opened: (version: "1.1" | "2") => void,
): Promise<Session> {
  const http2 = options.http2 ?? false;
  if (http2 !== false) {
    const session = await dialHttp2(request, options, http2 === "auto");
    if (session !== undefined) {
      opened("2");
      return session;
    }
  }
  const session = await dial(
    request,
    options,
    (url, signal) => openSocket(url, options, signal),
    deflateEngine,
  );
  opened("1.1");
  return session;
}

/**
 * The WHATWG `WebSocket` for Node. Also accepts ws-style `new WebSocket(url, options)`.
 *
 * @example
 * ```ts
 * import { WebSocket } from "@ws/node";
 * const ws = new WebSocket("wss://example.com/chat", ["chat"], { handshakeTimeout: 5000 });
 * ws.onmessage = (event) => console.log(event.data);
 * ```
 */
export class WebSocket<B extends BinaryType = BinaryType> extends SharedWebSocket<B> {
  // WebIDL §3.7: the shape of the interface (members on this prototype, constants, `length` 1).
  static {
    SharedWebSocket.defineInterface(WebSocket);
    setHttpVersion = (socket, version) => {
      socket.#httpVersion = version;
    };
  }

  /**
   * A field rather than a module-level `WeakMap` keyed by the socket: a server marks every
   * socket it accepts, and a weak table's entries and backing store (which V8 does not shrink
   * when its keys are collected) cost more than one field per socket and stay in the old
   * generation after the connections are gone.
   */
  #httpVersion: "1.1" | "2" | undefined = undefined;

  constructor(
    url: string | URL,
    protocols?: string | readonly string[] | ClientOptions<B>,
    options?: ClientOptions<B>,
  ) {
    if (isAcceptedSocket()) {
      // A server's accepted connection: the server made the options, nothing to connect.
      super(url, undefined, options as WebSocketInit<B>);
      return;
    }
    const split = splitClientArguments<ClientOptions<B>>(protocols, options);
    const init = split.options;
    const http2 = init.http2;
    if (http2 !== undefined && http2 !== true && http2 !== false && http2 !== "auto") {
      throw new TypeError(
        `Cannot create WebSocket: http2 must be true, false or "auto", not ${String(http2)}`,
      );
    }
    if ((http2 ?? false) !== false && init.proxy !== undefined) {
      throw new TypeError("Cannot create WebSocket: the http2 option cannot be used with proxy");
    }
    // The connector runs before `this` exists: it records the version in this holder.
    const holder: { socket?: WebSocket; version?: "1.1" | "2" } = {};
    super(url, split.protocols, {
      ...(split.shared as Omit<WebSocketInit<B>, "connector" | "session" | "clients">),
      connector: (request) =>
        connectNode(request, init, (version) => {
          holder.version = version;
          if (holder.socket !== undefined) holder.socket.#httpVersion = version;
        }),
    });
    holder.socket = this;
    if (holder.version !== undefined) this.#httpVersion = holder.version;
  }

  /**
   * The HTTP version of the connection the socket runs over: `"2"` for a stream of an HTTP/2
   * connection (RFC 8441), `"1.1"` for an upgraded HTTP/1.1 connection, `undefined` until a
   * client socket's handshake succeeded. See the `http2` option.
   */
  get httpVersion(): "1.1" | "2" | undefined {
    return this.#httpVersion;
  }
}

/**
 * Opens a connection and resolves with the open {@link WebSocket}; rejects with why it could
 * not be opened: `HandshakeRejectedError` (status, headers, body), the codec's
 * `HandshakeError` (an invalid 101), `WebSocketError` (`HANDSHAKE_TIMEOUT`,
 * `TOO_MANY_REDIRECTS`, `CONNECTION_FAILED`), the signal's reason, or a network error.
 *
 * @example
 * ```ts
 * import { connect } from "@ws/node";
 * const ws = await connect("ws://127.0.0.1:8080", { protocols: ["chat"] });
 * for await (const message of ws) console.log(message);
 * ```
 */
export function connect<B extends BinaryType = BinaryType>(
  url: string | URL,
  options: ConnectOptions<B> = {},
): Promise<WebSocket<B>> {
  const { protocols, ...rest } = options;
  return connectWhenOpen(() => new WebSocket<B>(url, protocols, rest));
}
