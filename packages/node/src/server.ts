/**
 * The WebSocket server for Node: attaches to an `http`/`https` server's `'upgrade'` event, or
 * to an `http2` server's Extended CONNECT streams (RFC 8441, see `http2-server.ts`), or
 * listens on its own; checks the opening handshake with `@ws/codec`, lets the application
 * accept or reject it, and hands each connection over as a WHATWG-style `WebSocket`.
 *
 * Node docs relied on:
 * - `http.Server` `'upgrade'` event: https://nodejs.org/api/http.html#event-upgrade_1
 * - `http.IncomingMessage`: https://nodejs.org/api/http.html#class-httpincomingmessage
 * - `net.Socket` `end(data)` / `destroy()`: https://nodejs.org/api/net.html#socketenddata-encoding-callback
 * - `server.listen()` / `server.close()`: https://nodejs.org/api/net.html#serverlisten
 *
 * @module
 */
import "./node-version.ts";
import * as diagnosticsChannel from "node:diagnostics_channel";
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ErrorCode, HandshakeError } from "@ws/codec";
import { deflateEngine } from "@ws/deflate/node-zlib";
import {
  type AcceptConnection,
  type Admission,
  acceptedSocket,
  type BinaryType,
  bindDiagnosticsChannels,
  DEFAULT_SESSION_LIMITS,
  type HandshakeRequest,
  MISSING_HOST,
  NO_ENDPOINT,
  REJECTION_LINGER,
  refuse,
  rejection,
  type ServerCoreOptions,
  type ServerEvents,
  type UpgradeInfo as SharedUpgradeInfo,
  UPGRADE_REQUIRED,
  WebSocketServerBase,
} from "@ws/session";
import { type ClientOptions, markHttpVersion, WebSocket } from "./client.ts";
import {
  type AnyHttp2Server,
  acceptStream,
  attachHttp2Route,
  detachHttp2Route,
  type Http2ConnectRequest,
  isHttp2Server,
} from "./http2-server.ts";
import { handshakeConnection } from "./socket-transport.ts";

export type { Http2ConnectRequest };

/**
 * The request of an upgrade: Node's `IncomingMessage` for an HTTP/1.1 upgrade, an
 * {@link Http2ConnectRequest} for an HTTP/2 Extended CONNECT (`httpVersion` tells them apart).
 */
export type UpgradeRequest = IncomingMessage | Http2ConnectRequest;

/** What the `verify` hook learns about an upgrade request (see {@link UpgradeRequest}). */
export type UpgradeInfo = SharedUpgradeInfo<UpgradeRequest, IncomingMessage["headers"]>;

/** Options of a {@link WebSocketServer}: the shared server options plus where to listen. */
export interface WebSocketServerOptions<B extends BinaryType = "uint8array">
  extends ServerCoreOptions<UpgradeInfo, B> {
  /** Listen on this port (0 picks a free one); creates an HTTP server that answers 426 otherwise. */
  readonly port?: number | undefined;
  /** The address to listen on with `port`. Default: Node's (all interfaces). */
  readonly host?: string | undefined;
  /**
   * Attach to this HTTP(S) server's `'upgrade'` event, or to this HTTP/2 server's Extended
   * CONNECT streams (RFC 8441; with `allowHTTP1`, to both).
   */
  readonly server?: HttpServer | HttpsServer | AnyHttp2Server | undefined;
  /** Neither listen nor attach: call {@link WebSocketServer.handleUpgrade} yourself. */
  readonly noServer?: boolean | undefined;
}

/** Events of a {@link WebSocketServer}; `B` is the sockets' `binaryType` type. */
export type WebSocketServerEvents<B extends BinaryType = "uint8array"> = ServerEvents<
  WebSocket<B>,
  UpgradeRequest
>;

/** The handshake admission of a connection to a server a `WebSocketServer` created. */
const kAdmission = Symbol("admission");

interface AdmittedSocket extends Duplex {
  [kAdmission]?: Admission | undefined;
}

/**
 * Frees the place of a connection that closed before its upgrade (one function for every
 * socket, `this` is the socket, rather than a closure per connection).
 */
function admissionDone(this: AdmittedSocket): void {
  this[kAdmission]?.done();
  this[kAdmission] = undefined;
}

/** Takes over the admission of `socket` (its upgrade arrived): the accept path ends it. */
function takeAdmission(socket: Duplex): Admission | undefined {
  const admitted = socket as AdmittedSocket;
  const admission = admitted[kAdmission];
  if (admission === undefined) return undefined;
  admitted[kAdmission] = undefined;
  socket.off("close", admissionDone);
  return admission;
}

/**
 * An HTTP/1.1 upgrade request as the shared accept path reads it. A class with getters so that
 * what is rarely needed (the client's address: a system call) is read only when asked for.
 */
class Http1Upgrade implements HandshakeRequest<IncomingMessage, IncomingMessage["headers"]> {
  readonly request: IncomingMessage;
  readonly #connection: AcceptConnection;

  constructor(request: IncomingMessage, connection: AcceptConnection) {
    this.request = request;
    this.#connection = connection;
  }

  get method(): string {
    return this.request.method ?? "";
  }

  get httpVersion(): string {
    return this.request.httpVersion;
  }

  get target(): string {
    return this.request.url ?? "/";
  }

  get headers(): IncomingMessage["headers"] {
    return this.request.headers;
  }

  get secure(): boolean {
    return this.#connection.secure;
  }

  get remoteAddress(): string | undefined {
    return this.#connection.remoteAddress;
  }

  /** Every field as received (node:http joins repeated ones in `headers`). */
  get headerCount(): number {
    return this.request.rawHeaders.length / 2;
  }
}

/** What the shared `'upgrade'` listener needs of a {@link WebSocketServer} (of any `binaryType`). */
interface Route {
  shouldHandle(request: IncomingMessage): boolean;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** One `'upgrade'` listener per HTTP server, dispatching to the WebSocket servers by path. */
const routes = new WeakMap<HttpServer | HttpsServer, Set<Route>>();
type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
const routeListeners = new WeakMap<HttpServer | HttpsServer, UpgradeListener>();

function attachRoute(server: HttpServer | HttpsServer, wss: Route): void {
  let set = routes.get(server);
  if (set === undefined) {
    const servers = new Set<Route>();
    set = servers;
    routes.set(server, servers);
    const listener: UpgradeListener = (request, socket, head) => {
      for (const candidate of servers) {
        if (candidate.shouldHandle(request)) {
          candidate.handleUpgrade(request, socket, head);
          return;
        }
      }
      // No WebSocket server wants this path: leave it to other 'upgrade' listeners, or
      // reject it when there are none (ws semantics).
      if (server.listenerCount("upgrade") === 1)
        void refuse(handshakeConnection(socket as Socket), NO_ENDPOINT);
    };
    server.on("upgrade", listener);
    routeListeners.set(server, listener);
  }
  set.add(wss);
}

function detachRoute(server: HttpServer | HttpsServer, wss: Route): void {
  const set = routes.get(server);
  if (set === undefined) return;
  set.delete(wss);
  const listener = routeListeners.get(server);
  if (set.size === 0 && listener !== undefined) {
    server.off("upgrade", listener);
    routes.delete(server);
    routeListeners.delete(server);
  }
}

/**
 * A WebSocket server (ws-style API on the shared WHATWG `WebSocket` objects). Events, shutdown
 * and pub/sub are `@ws/session`'s `WebSocketServerBase`; this class attaches and listens.
 *
 * @example
 * ```ts
 * import { WebSocketServer } from "@ws/node";
 * const wss = new WebSocketServer({ port: 8080, protocols: ["chat"] });
 * wss.on("connection", (ws) => {
 *   ws.onmessage = (event) => ws.send(event.data);
 * });
 * ```
 */
export class WebSocketServer<B extends BinaryType = "uint8array"> extends WebSocketServerBase<
  WebSocket<B>,
  UpgradeRequest,
  IncomingMessage["headers"],
  WebSocketServerOptions<B>
> {
  readonly #httpServer: HttpServer | HttpsServer | AnyHttp2Server | undefined;
  readonly #ownServer: boolean;

  constructor(options: WebSocketServerOptions<B> = {}) {
    super(
      options,
      // The Node WebSocket class wrapping the accepted session (so `instanceof WebSocket` holds).
      (url, init) => acceptedSocket(() => new WebSocket<B>(url, undefined, init as ClientOptions<B>)),
      ["port", "host", "server", "noServer"],
      deflateEngine,
    );
    // The diagnostics events go to node:diagnostics_channel (see @ws/session's diagnostics.ts).
    bindDiagnosticsChannels(diagnosticsChannel);
    const { port, host, server, noServer } = options;
    const modes = Number(port !== undefined) + Number(server !== undefined) + Number(noServer === true);
    if (modes !== 1) {
      throw new TypeError(
        "Cannot create WebSocketServer: give exactly one of port, server or noServer: true",
      );
    }
    if (port !== undefined) {
      const maxHeadSize = options.limits?.maxHeadSize ?? DEFAULT_SESSION_LIMITS.maxHeadSize;
      const own = createServer(
        {
          // What the raw-socket runtimes (Deno, Bun) do with the codec's head parser: the same
          // head size limit, and the Host rule answered here (#answerPlain) so that it is
          // published like every other rejection.
          ...(Number.isFinite(maxHeadSize) ? { maxHeaderSize: maxHeadSize } : {}),
          requireHostHeader: false,
        },
        this.#answerPlain,
      );
      own.on("clientError", this.#clientError);
      // The handshake clock starts when the connection opens, so it bounds the head read too.
      own.on("connection", this.#admit);
      this.#httpServer = own;
      this.#ownServer = true;
      own.on("listening", () => this.emit("listening"));
      own.on("error", (error) => this.emit("error", error));
      own.listen(port, host);
    } else {
      this.#httpServer = server;
      this.#ownServer = false;
    }
    if (this.#httpServer !== undefined) this.#attach(this.#httpServer);
  }

  #attach(server: HttpServer | HttpsServer | AnyHttp2Server): void {
    if (!isHttp2Server(server)) {
      attachRoute(server, this);
      return;
    }
    attachHttp2Route(server, this.#http2Route);
    // allowHTTP1: Node hands HTTP/1.1 connections to its http server code, 'upgrade' included.
    attachRoute(server as unknown as HttpServer, this);
  }

  #detach(server: HttpServer | HttpsServer | AnyHttp2Server): void {
    if (isHttp2Server(server)) detachHttp2Route(server, this.#http2Route);
    detachRoute(server as HttpServer, this);
  }

  readonly #http2Route = {
    matches: (target: string): boolean => this.core.matches(target),
    handleStream: (stream: ServerHttp2Stream, headers: Http2Headers): void =>
      this.handleStream(stream, headers),
  };

  /** The listening address of the server it listens on or is attached to. */
  address(): AddressInfo | string | null {
    return this.#httpServer?.address() ?? null;
  }

  /** Whether this server handles `request` (its path matches). */
  shouldHandle(request: IncomingMessage): boolean {
    return this.core.matches(request.url ?? "/");
  }

  /**
   * Runs the opening handshake on an upgrade request (RFC 6455 §4.2) and calls `callback` with
   * the open socket (else emits `'connection'`). Rejections are answered and the socket closed
   * (after the client closes, or 2 s).
   */
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback?: (socket: WebSocket<B>, request: IncomingMessage) => void,
  ): void {
    const admission = takeAdmission(socket);
    const connection = handshakeConnection(socket as Socket);
    // The limits, checks, `verify`, response and attach are the shared accept path's.
    void this.core.acceptRequest(
      new Http1Upgrade(request, connection),
      connection,
      head,
      (ws, upgraded) => {
        markHttpVersion(ws, "1.1");
        if (callback !== undefined) callback(ws, upgraded as IncomingMessage);
        else this.deliver(ws, upgraded);
      },
      this.onError,
      admission,
    );
  }

  /**
   * Runs the opening handshake of an HTTP/2 stream that opened with an Extended CONNECT
   * (RFC 8441 §4–5: `:method CONNECT`, `:protocol websocket`) and calls `callback` with the open
   * socket (else emits `'connection'`). Rejections are answered on the stream, which then ends.
   * For `noServer: true` with an `http2` server of your own: call it from its `'stream'` event,
   * and create that server with `settings: { enableConnectProtocol: true }`.
   */
  handleStream(
    stream: ServerHttp2Stream,
    headers: Http2Headers,
    callback?: (socket: WebSocket<B>, request: Http2ConnectRequest) => void,
  ): void {
    void acceptStream(
      this.core,
      stream,
      headers,
      (ws, request) => {
        markHttpVersion(ws, "2");
        if (callback !== undefined) callback(ws, request as Http2ConnectRequest);
        else this.deliver(ws, request);
      },
      this.onError,
    );
  }

  /**
   * A plain HTTP request to the server this one created: 400 without `Host` (RFC 9112 §3.2),
   * else 426 Upgrade Required, as Deno's and Bun's servers answer; then it closes.
   */
  readonly #answerPlain = (request: IncomingMessage, response: ServerResponse): void => {
    const answer =
      request.httpVersion !== "1.0" && request.headers.host === undefined
        ? rejection(MISSING_HOST)
        : rejection(UPGRADE_REQUIRED, "UPGRADE_REQUIRED");
    const socket = request.socket;
    const admission = (socket as AdmittedSocket)[kAdmission];
    this.core.rejected(answer, request, request.url, socket.remoteAddress, admission);
    // Answered: the handshake clock stops (the response closes the connection).
    admission?.done();
    response.writeHead(answer.status, answer.statusText, answer.headers.flat());
    response.end(answer.body);
  };

  /** Sockets whose bad head was answered (node:http may report a parser error again). */
  readonly #answered = new WeakSet<Duplex>();

  /**
   * A head the server this one created could not parse: answered as the codec's head parser
   * does on Deno and Bun (431 too large, else 400, with the reason), published, then closed
   * after the linger of every rejection. A client that went away gets nothing.
   */
  readonly #clientError = (error: Error & { code?: string }, socket: Duplex): void => {
    if (this.#answered.has(socket)) return;
    this.#answered.add(socket);
    if (error.code === "ECONNRESET" || error.code === "HPE_INVALID_EOF_STATE" || !socket.writable) {
      socket.destroy();
      return;
    }
    const maxHeadSize = this.options.limits?.maxHeadSize ?? DEFAULT_SESSION_LIMITS.maxHeadSize;
    const answer = rejection(
      error.code === "HPE_HEADER_OVERFLOW"
        ? new HandshakeError(
            ErrorCode.HeadTooLarge,
            431,
            `Cannot parse HTTP request head: the head is larger than maxHeadSize (${maxHeadSize} bytes)`,
          )
        : new HandshakeError(
            ErrorCode.MalformedHead,
            400,
            `Cannot parse HTTP request head: ${error.message}`,
          ),
    );
    const admission = (socket as AdmittedSocket)[kAdmission];
    this.core.rejected(answer, undefined, undefined, (socket as Socket).remoteAddress, admission);
    admission?.done();
    socket.end(answer.response);
    setTimeout(() => socket.destroy(), REJECTION_LINGER).unref();
  };

  /** A connection to the server this one created: its handshake clock starts now. */
  readonly #admit = (socket: Socket): void => {
    (socket as AdmittedSocket)[kAdmission] = this.core.admit(
      () => socket.destroy(),
      () => socket.remoteAddress,
    );
    socket.on("close", admissionDone);
  };

  protected stopListening(): void {
    if (!this.core.closing && this.#httpServer !== undefined) this.#detach(this.#httpServer);
  }

  /** Closes the HTTP server it created (once the sockets closed). */
  protected override async closed(): Promise<void> {
    if (this.#ownServer && this.#httpServer?.listening) {
      const server = this.#httpServer;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
