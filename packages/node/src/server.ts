/**
 * The WebSocket server for Node: attaches to an `http`/`https` server's `'upgrade'` event, or
 * to an `http2` server's Extended CONNECT streams (RFC 8441, see `http2-server.ts`), or
 * listens on its own; checks the opening handshake with `@ws/codec`, lets the application
 * accept or reject it, and hands each connection over as a WHATWG-style `WebSocket`.
 *
 * Listening on its own (`port`), it is a `node:net` server whose connections go to the shared
 * accept path (`ServerCore.accept`: the codec's `HttpHeadParser` reads the head), as on Deno and
 * Bun: one accept path, one head parser and the same answers and limits on every runtime, with
 * no `node:http` parser, response object or timers per connection. The request given to
 * `verify` and `'connection'` is still an `http.IncomingMessage` (`incoming-message.ts`).
 *
 * Node docs relied on:
 * - `http.Server` `'upgrade'` event: https://nodejs.org/api/http.html#event-upgrade_1
 * - `http.IncomingMessage`: https://nodejs.org/api/http.html#class-httpincomingmessage
 * - `net.createServer({ allowHalfOpen, noDelay })`: https://nodejs.org/api/net.html#netcreateserveroptions-connectionlistener
 * - `net.Socket` `end(data)` / `destroy()`: https://nodejs.org/api/net.html#socketenddata-encoding-callback
 * - `server.listen()` / `server.close()`: https://nodejs.org/api/net.html#serverlisten
 *
 * @module
 */
import "./node-version.ts";
import * as diagnosticsChannel from "node:diagnostics_channel";
import type { Server as HttpServer, IncomingMessage } from "node:http";
import type { IncomingHttpHeaders as Http2Headers, ServerHttp2Stream } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import { type AddressInfo, createServer, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { deflateEngine } from "@ws/deflate/node-zlib";
import {
  type AcceptConnection,
  acceptedSocket,
  type BinaryType,
  bindDiagnosticsChannels,
  type HandshakeRequest,
  NO_ENDPOINT,
  refuse,
  type ServerCoreOptions,
  type ServerEvents,
  type UpgradeInfo as SharedUpgradeInfo,
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
  /**
   * Listen on this port (0 picks a free one), with a `node:net` server that reads request heads
   * with the codec's parser; requests that are not an upgrade get 426.
   */
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

/** Closes `server` (once it listens, if it is still starting); resolves once it has closed. */
function closeWhenListening(server: NetServer): Promise<void> {
  return new Promise<void>((resolve) => {
    if (server.listening) {
      server.close(() => resolve());
      return;
    }
    const onListening = (): void => {
      server.off("error", onError);
      server.close(() => resolve());
    };
    // Listening failed (reported through 'error'): nothing to close.
    const onError = (): void => {
      server.off("listening", onListening);
      resolve();
    };
    server.once("listening", onListening);
    server.once("error", onError);
  });
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
  /** The server given with `server`, whose upgrades this one takes. */
  readonly #httpServer: HttpServer | HttpsServer | AnyHttp2Server | undefined;
  /** The server this one created (`port`). */
  readonly #netServer: NetServer | undefined;
  /** Resolves when {@link WebSocketServer.#netServer} has closed (every connection gone). */
  #netClosed: Promise<void> | undefined;
  /**
   * Sees each HTTP/1.1 upgrade request for this server before the checks run, and takes its
   * socket over by returning true (`@ws/node/ws`'s `wsClientError`, as in `ws`). Unset: none.
   */
  protected screen: ((request: IncomingMessage, socket: Duplex) => boolean) | undefined;

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
      const own = createServer(
        {
          // Keep reading after the client's FIN (TCP half-close), as `node:http` servers do:
          // the session answers a close frame that arrives with it.
          allowHalfOpen: true,
          // Frames are written whole; Nagle would only delay them (`node:http`'s default too).
          noDelay: true,
        },
        this.#accept,
      );
      this.#netServer = own;
      own.on("listening", () => {
        if (!this.core.closing) this.emit("listening");
      });
      own.on("error", (error) => this.emit("error", error));
      own.listen(port, host);
    } else {
      this.#httpServer = server;
      if (server !== undefined) this.#attach(server);
    }
  }

  /**
   * A connection to the server this one created. The head read, the handshake clock (from
   * now), `maxPendingHandshakes`, the answers to plain requests (426, 400 without `Host`) and
   * to bad heads (400, 431) are the shared accept path's, as on Deno and Bun.
   */
  readonly #accept = (socket: Socket): void => {
    void this.core.accept(handshakeConnection(socket, this.screen), this.deliver, this.onError);
  };

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
    return (this.#netServer ?? this.#httpServer)?.address() ?? null;
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
    if (this.screen?.(request, socket) === true) return;
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

  protected stopListening(): void {
    if (this.core.closing) return;
    if (this.#httpServer !== undefined) this.#detach(this.#httpServer);
    const own = this.#netServer;
    // No new connections from now on; the server has closed once the last one is gone. Still
    // looking the host name up (`listen` is not done): closed as soon as it listens, rather
    // than left listening after close().
    if (own !== undefined) this.#netClosed = closeWhenListening(own);
  }

  /** Waits for the server it created to close (once the sockets closed). */
  protected override async closed(): Promise<void> {
    await this.#netClosed;
  }
}
