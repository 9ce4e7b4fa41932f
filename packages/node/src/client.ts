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
import { isIP, connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import {
  buildUpgradeRequest,
  checkUpgradeResponse,
  DEFAULT_LIMITS,
  generateKey,
  type HeadersInput,
  type HttpHeadLimits,
  HttpHeadParser,
  type HttpResponseHead,
  headerEntries,
  parseWebSocketUrl,
  type WebSocketUrl,
} from "@ws/codec";
import {
  type ConnectRequest,
  HandshakeRejectedError,
  type Session,
  WebSocket as SharedWebSocket,
  WebSocketError,
  type WebSocketInit,
} from "@ws/session";
import { attachSocket } from "./socket-transport.ts";

/** Default handshake timeout in milliseconds (see {@link ClientOptions.handshakeTimeout}). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

/** Default redirect bound (see {@link ClientOptions.maxRedirects}). */
export const DEFAULT_MAX_REDIRECTS = 10;

/** At most this much of a rejection's body is read (it is for error messages). */
const MAX_REJECTION_BODY = 64 * 1024;

/** Options of the Node client: the shared {@link WebSocketInit} plus Node's network options. */
export interface ClientOptions extends Omit<WebSocketInit, "connector" | "session"> {
  /** Extra request headers (cookies, authorization); handshake fields cannot be overridden. */
  readonly headers?: HeadersInput | undefined;
  /** The `Origin` header to send. */
  readonly origin?: string | undefined;
  /** Milliseconds for connecting and the whole opening handshake; 0 for none. Default 30000. */
  readonly handshakeTimeout?: number | undefined;
  /** Follow 301/302/303/307/308 redirects. Default false (as browsers fail on them). */
  readonly followRedirects?: boolean | undefined;
  /** Most redirects followed. Default 10. */
  readonly maxRedirects?: number | undefined;
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
}

/** Options of {@link connect}: {@link ClientOptions} plus the subprotocols to offer. */
export interface ConnectOptions extends ClientOptions {
  readonly protocols?: string | readonly string[] | undefined;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Resolves with the socket once connected (and TLS-established), rejects on error. */
function whenConnected(socket: Socket, event: "connect" | "secureConnect"): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.off(event, onReady);
      reject(error);
    };
    const onReady = (): void => {
      socket.off("error", onError);
      resolve(socket);
    };
    socket.once("error", onError);
    socket.once(event, onReady);
  });
}

/** Reads one HTTP response head; the socket is left paused, `rest` holds what followed. */
function readResponseHead(
  socket: Socket,
  limits: HttpHeadLimits = DEFAULT_LIMITS,
): Promise<{ head: HttpResponseHead; rest: Uint8Array }> {
  const parser = new HttpHeadParser("response", limits);
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      try {
        const head = parser.push(chunk);
        if (head === undefined) return;
        cleanup();
        socket.pause();
        resolve({ head, rest: parser.rest });
      } catch (error) {
        cleanup();
        reject(error);
      }
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(
        new WebSocketError(
          "CONNECTION_FAILED",
          "Cannot open WebSocket connection: the server closed the connection",
        ),
      );
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.resume();
  });
}

/** Reads (a bounded prefix of) the body of a rejection, by Content-Length or until the end. */
function readBody(socket: Socket, head: HttpResponseHead, rest: Uint8Array): Promise<string> {
  const declared = Number(head.headerMap.get("content-length") ?? Number.NaN);
  const limit = Math.min(Number.isFinite(declared) ? declared : MAX_REJECTION_BODY, MAX_REJECTION_BODY);
  const chunks: Uint8Array[] = [rest];
  let size = rest.length;
  const text = (): string => new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
  if (size >= limit) return Promise.resolve(text());
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off("data", onData);
      socket.off("end", done);
      socket.off("close", done);
      socket.off("error", done);
      resolve(text());
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) done();
    };
    socket.on("data", onData);
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", done);
    socket.resume();
  });
}

/** Opens a TCP (and TLS for `wss:`) connection to `url`, through `proxy` when given. */
async function openSocket(
  url: WebSocketUrl,
  options: ClientOptions,
  track: (socket: Socket) => void,
): Promise<Socket> {
  let socket: Socket;
  if (options.proxy !== undefined) {
    const proxy = new URL(String(options.proxy));
    const tunnel = netConnect({
      host: proxy.hostname.replace(/^\[|\]$/g, ""),
      port: Number(proxy.port || 80),
    });
    track(tunnel);
    await whenConnected(tunnel, "connect");
    // RFC 9110 §9.3.6: CONNECT host:port; the authority form needs brackets for IPv6.
    const authority = `${isIP(url.hostname) === 6 ? `[${url.hostname}]` : url.hostname}:${url.port}`;
    let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
    if (proxy.username !== "") {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      request += `Proxy-Authorization: Basic ${Buffer.from(credentials).toString("base64")}\r\n`;
    }
    tunnel.write(`${request}\r\n`);
    const { head } = await readResponseHead(tunnel);
    if (head.status < 200 || head.status > 299) {
      tunnel.destroy();
      throw new WebSocketError(
        "CONNECTION_FAILED",
        `Cannot open WebSocket connection: the proxy answered ${head.status} ${head.statusText} to CONNECT`,
      );
    }
    socket = tunnel;
  } else {
    socket = netConnect({ host: url.hostname, port: url.port });
    track(socket);
    await whenConnected(socket, "connect");
  }
  if (!url.secure) return socket;
  const secure = tlsConnect({
    ...options.tls,
    socket,
    servername: options.servername ?? (isIP(url.hostname) === 0 ? url.hostname : undefined),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    rejectUnauthorized: options.rejectUnauthorized ?? options.tls?.rejectUnauthorized ?? true,
    ALPNProtocols: ["http/1.1"],
  } as ConnectionOptions);
  track(secure);
  return whenConnected(secure, "secureConnect");
}

/** Drops credentials when a redirect leaves the origin (as fetch does, WHATWG Fetch §4.4). */
function headersForRedirect(
  headers: HeadersInput | undefined,
  from: WebSocketUrl,
  to: WebSocketUrl,
): HeadersInput | undefined {
  if (headers === undefined || (from.host === to.host && from.secure === to.secure)) return headers;
  return headerEntries(headers).filter(([name]) => {
    const lower = name.toLowerCase();
    return lower !== "authorization" && lower !== "cookie";
  });
}

/** The Node connector: connects, runs the opening handshake, follows redirects if asked. */
async function connectNode(request: ConnectRequest, options: ClientOptions): Promise<Session> {
  const { signal } = request;
  let current: Socket | undefined;
  let failure: unknown;
  const fail = (error: unknown): void => {
    failure ??= error;
    current?.destroy(error instanceof Error ? error : undefined);
  };
  const track = (socket: Socket): void => {
    current = socket;
    if (failure !== undefined) socket.destroy();
  };
  const onAbort = (): void => fail(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  // 0 disables the timeout.
  const timer =
    timeout > 0
      ? setTimeout(
          () =>
            fail(
              new WebSocketError(
                "HANDSHAKE_TIMEOUT",
                `Cannot open WebSocket connection: no handshake within ${timeout} ms`,
              ),
            ),
          timeout,
        )
      : undefined;
  try {
    if (signal.aborted) throw signal.reason;
    let url = request.url;
    let headers = options.headers;
    for (let redirects = 0; ; redirects++) {
      const socket = await openSocket(url, options, track);
      const key = generateKey();
      socket.write(
        buildUpgradeRequest({ url, key, protocols: request.protocols, headers, origin: options.origin }),
      );
      const { head, rest } = await readResponseHead(socket, request.session.limits);
      if (head.status === 101) {
        const confirmed = checkUpgradeResponse(head, { key, protocols: request.protocols });
        if (failure !== undefined) throw failure;
        return attachSocket(socket, rest, {
          ...request.session,
          role: "client",
          protocol: confirmed.protocol,
          extensions: confirmed.extensions,
          extensionsHeader: confirmed.extensionsHeader,
        });
      }
      const location = head.headerMap.get("location");
      if (options.followRedirects === true && isRedirect(head.status) && location !== undefined) {
        socket.destroy();
        if (redirects >= (options.maxRedirects ?? DEFAULT_MAX_REDIRECTS)) {
          throw new WebSocketError(
            "TOO_MANY_REDIRECTS",
            `Cannot open WebSocket connection: more than ${options.maxRedirects ?? DEFAULT_MAX_REDIRECTS} redirects`,
          );
        }
        const next = parseWebSocketUrl(new URL(location, url.href.replace(/^ws/, "http")).href);
        headers = headersForRedirect(headers, url, next);
        url = next;
        continue;
      }
      const body = await readBody(socket, head, rest);
      socket.destroy();
      throw new HandshakeRejectedError(head.status, head.statusText, head.headers, body);
    }
  } catch (error) {
    current?.destroy();
    throw failure ?? error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
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
export class WebSocket extends SharedWebSocket {
  constructor(
    url: string | URL,
    protocols?: string | readonly string[] | ClientOptions,
    options?: ClientOptions,
  ) {
    const optionsOnly = typeof protocols === "object" && !Array.isArray(protocols);
    const init: ClientOptions = (optionsOnly ? (protocols as ClientOptions) : options) ?? {};
    const {
      headers: _headers,
      origin: _origin,
      handshakeTimeout: _timeout,
      followRedirects: _follow,
      maxRedirects: _max,
      proxy: _proxy,
      ca: _ca,
      rejectUnauthorized: _reject,
      servername: _servername,
      tls: _tls,
      ...shared
    } = init;
    super(url, optionsOnly ? undefined : (protocols as string | readonly string[] | undefined), {
      ...shared,
      connector: (request) => connectNode(request, init),
    });
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
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<WebSocket> {
  const { protocols, ...rest } = options;
  const ws = new WebSocket(url, protocols, rest);
  await ws.opened;
  return ws;
}
