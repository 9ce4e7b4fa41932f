/**
 * The WebSocket server for Node: attaches to an `http`/`https` server's `'upgrade'` event (or
 * listens on its own), checks the opening handshake with `@ws/codec`, lets the application
 * accept or reject it, and hands each connection over as a WHATWG-style `WebSocket`.
 *
 * Node docs relied on:
 * - `http.Server` `'upgrade'` event: https://nodejs.org/api/http.html#event-upgrade_1
 * - `http.IncomingMessage`: https://nodejs.org/api/http.html#class-httpincomingmessage
 * - `net.Socket` `end(data)` / `destroy()`: https://nodejs.org/api/net.html#socketenddata-encoding-callback
 * - `server.listen()` / `server.close()`: https://nodejs.org/api/net.html#serverlisten
 * - `EventEmitter`: https://nodejs.org/api/events.html#class-eventemitter
 *
 * @module
 */
import { EventEmitter } from "node:events";
import { createServer, type Server as HttpServer, type IncomingMessage } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  buildAcceptResponse,
  buildRejectResponse,
  checkUpgradeRequest,
  HandshakeError,
  type HeadersInput,
  type ProtocolSelector,
} from "@ws/codec";
import {
  type BinaryType,
  DEFAULT_CLOSE_TIMEOUT,
  type SessionSettings,
  type WebSocketInit,
} from "@ws/session";
import { type ClientOptions, WebSocket } from "./client.ts";
import { attachSocket } from "./socket-transport.ts";

/** What the `verify` hook learns about an upgrade request. */
export interface UpgradeInfo {
  /** The request (headers, method, socket …). */
  readonly request: IncomingMessage;
  /** The request URL, resolved against the `Host` header. */
  readonly url: URL;
  /** The request's headers (lower-case names). */
  readonly headers: IncomingMessage["headers"];
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The `Origin` header, if any (browsers always send it; check it against CSRF-style attacks). */
  readonly origin: string | undefined;
  /** The subprotocols the client offered, in its order. */
  readonly offeredProtocols: readonly string[];
  /** The subprotocol selected by the `protocols` option, if any. */
  readonly protocol: string | undefined;
}

/** Accept the upgrade, optionally with extra 101 headers or another subprotocol (one offered). */
export interface AcceptVerdict {
  readonly headers?: HeadersInput | undefined;
  readonly protocol?: string | undefined;
}

/** Reject the upgrade with this HTTP response. */
export interface RejectVerdict {
  readonly status: number;
  readonly headers?: HeadersInput | undefined;
  readonly body?: string | undefined;
}

/**
 * What `verify` returns: nothing or `true` to accept, an {@link AcceptVerdict} to accept with
 * extra headers or another subprotocol, `false` to reject with 403, or a {@link RejectVerdict}.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing accepts the upgrade.
export type UpgradeVerdict = undefined | void | boolean | AcceptVerdict | RejectVerdict;

/** Options of a {@link WebSocketServer}. */
export interface WebSocketServerOptions extends SessionSettings {
  /** Listen on this port (0 picks a free one); creates an HTTP server that answers 426 otherwise. */
  readonly port?: number | undefined;
  /** The address to listen on with `port`. Default: Node's (all interfaces). */
  readonly host?: string | undefined;
  /** Attach to this HTTP(S) server's `'upgrade'` event. */
  readonly server?: HttpServer | HttpsServer | undefined;
  /** Handle upgrades for this path only (other paths are left to other servers). */
  readonly path?: string | undefined;
  /** Neither listen nor attach: call {@link WebSocketServer.handleUpgrade} yourself. */
  readonly noServer?: boolean | undefined;
  /** Subprotocols supported, most preferred first, or a function choosing among the offers. */
  readonly protocols?: ProtocolSelector | undefined;
  /** Accept or reject each upgrade (origin check, authentication …), sync or async. */
  readonly verify?: ((info: UpgradeInfo) => UpgradeVerdict | Promise<UpgradeVerdict>) | undefined;
  /** `binaryType` of accepted sockets. Default `"uint8array"`. */
  readonly binaryType?: BinaryType | undefined;
  /** Keep the open sockets in {@link WebSocketServer.clients}. Default true. */
  readonly clientTracking?: boolean | undefined;
}

/** Events of a {@link WebSocketServer}. */
export interface WebSocketServerEvents {
  connection: [socket: WebSocket, request: IncomingMessage];
  listening: [];
  error: [error: Error];
  close: [];
}

/** One `'upgrade'` listener per HTTP server, dispatching to the WebSocket servers by path. */
const routes = new WeakMap<HttpServer | HttpsServer, Set<WebSocketServer>>();
type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
const routeListeners = new WeakMap<HttpServer | HttpsServer, UpgradeListener>();

function attachRoute(server: HttpServer | HttpsServer, wss: WebSocketServer): void {
  let set = routes.get(server);
  if (set === undefined) {
    const servers = new Set<WebSocketServer>();
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
      if (server.listenerCount("upgrade") === 1) {
        socket.end(buildRejectResponse({ status: 400, body: "No WebSocket endpoint at this path" }));
      }
    };
    server.on("upgrade", listener);
    routeListeners.set(server, listener);
  }
  set.add(wss);
}

function detachRoute(server: HttpServer | HttpsServer, wss: WebSocketServer): void {
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

function isReject(verdict: UpgradeVerdict): verdict is RejectVerdict {
  return typeof verdict === "object" && verdict !== null && "status" in verdict;
}

/**
 * A WebSocket server (ws-style API on the shared WHATWG `WebSocket` objects).
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
export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  /** The open sockets (when `clientTracking` is on). */
  readonly clients: Set<WebSocket> = new Set();
  /** The options given. */
  readonly options: WebSocketServerOptions;
  readonly #httpServer: HttpServer | HttpsServer | undefined;
  readonly #ownServer: boolean;
  readonly #settings: SessionSettings;
  #closing = false;

  constructor(options: WebSocketServerOptions = {}) {
    super();
    this.options = options;
    const {
      port,
      host,
      server,
      path: _path,
      noServer,
      protocols: _protocols,
      verify: _verify,
      binaryType: _binaryType,
      clientTracking: _tracking,
      ...settings
    } = options;
    this.#settings = settings;
    const modes = Number(port !== undefined) + Number(server !== undefined) + Number(noServer === true);
    if (modes !== 1) {
      throw new TypeError(
        "Cannot create WebSocketServer: give exactly one of port, server or noServer: true",
      );
    }
    if (port !== undefined) {
      const own = createServer((_request, response) => {
        const body = "Upgrade Required";
        response.writeHead(426, {
          "Content-Type": "text/plain",
          "Content-Length": body.length,
          Upgrade: "websocket",
        });
        response.end(body);
      });
      this.#httpServer = own;
      this.#ownServer = true;
      own.on("listening", () => this.emit("listening"));
      own.on("error", (error) => this.emit("error", error));
      own.listen(port, host);
    } else {
      this.#httpServer = server;
      this.#ownServer = false;
    }
    if (this.#httpServer !== undefined) attachRoute(this.#httpServer, this);
  }

  /** The listening address of the server it listens on or is attached to. */
  address(): AddressInfo | string | null {
    return this.#httpServer?.address() ?? null;
  }

  /** Whether this server handles `request` (its path matches). */
  shouldHandle(request: IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    return (query === -1 ? url : url.slice(0, query)) === path;
  }

  /**
   * Runs the opening handshake on an upgrade request (RFC 6455 §4.2) and calls `callback` with
   * the open socket (else emits `'connection'`). Rejections are answered and the socket closed.
   */
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback?: (socket: WebSocket, request: IncomingMessage) => void,
  ): void {
    this.#upgrade(request, socket as Socket, head, callback).catch((error: unknown) => {
      // A hook threw (or picked a subprotocol not offered): answer 500; report the error to
      // 'error' listeners, if any (a broken hook must not bring the whole server down).
      reject(socket, { status: 500, body: "Internal Server Error" });
      if (this.listenerCount("error") > 0)
        this.emit("error", error instanceof Error ? error : new Error(String(error)));
    });
  }

  async #upgrade(
    request: IncomingMessage,
    socket: Socket,
    head: Buffer,
    callback: ((socket: WebSocket, request: IncomingMessage) => void) | undefined,
  ): Promise<void> {
    const onError = (): void => {
      socket.destroy();
    };
    socket.on("error", onError);
    if (this.#closing) return reject(socket, { status: 503, body: "Server is shutting down" });
    let accepted: ReturnType<typeof checkUpgradeRequest>;
    try {
      accepted = checkUpgradeRequest(
        { method: request.method ?? "", httpVersion: request.httpVersion, headers: request.headers },
        { protocols: this.options.protocols },
      );
    } catch (error) {
      if (error instanceof HandshakeError) return reject(socket, error);
      throw error;
    }
    const hostHeader = request.headers.host ?? "localhost";
    const secure = (socket as { encrypted?: boolean }).encrypted === true;
    let url: URL;
    try {
      url = new URL(request.url ?? "/", `${secure ? "wss" : "ws"}://${hostHeader}`);
    } catch {
      return reject(socket, { status: 400, body: "Bad request target or Host" });
    }
    let protocol = accepted.protocol;
    let headers: HeadersInput | undefined;
    if (this.options.verify !== undefined) {
      const verdict = await this.options.verify({
        request,
        url,
        headers: request.headers,
        remoteAddress: socket.remoteAddress,
        origin: request.headers.origin,
        offeredProtocols: accepted.offeredProtocols,
        protocol,
      });
      if (socket.destroyed) return;
      if (this.#closing) return reject(socket, { status: 503, body: "Server is shutting down" });
      if (verdict === false) return reject(socket, { status: 403 });
      if (isReject(verdict)) return reject(socket, verdict);
      if (typeof verdict === "object" && verdict !== null) {
        if ("protocol" in verdict) {
          if (verdict.protocol !== undefined && !accepted.offeredProtocols.includes(verdict.protocol)) {
            throw new TypeError(`Cannot select subprotocol ${verdict.protocol}: the client did not offer it`);
          }
          protocol = verdict.protocol;
        }
        headers = verdict.headers;
      }
    }
    socket.write(
      buildAcceptResponse({
        accept: accepted.accept,
        protocol,
        extensionsHeader: accepted.extensionsHeader,
        headers,
      }),
    );
    socket.off("error", onError);
    const session = attachSocket(socket, head, {
      ...this.#settings,
      role: "server",
      protocol,
      extensions: accepted.extensions,
      extensionsHeader: accepted.extensionsHeader,
    });
    // The Node WebSocket class wrapping the accepted session (so `instanceof WebSocket` holds).
    const init: WebSocketInit = { session, binaryType: this.options.binaryType ?? "uint8array" };
    const ws = new WebSocket(url.href, undefined, init as ClientOptions);
    if (this.options.clientTracking !== false) {
      this.clients.add(ws);
      session.closed.then(() => this.clients.delete(ws));
    }
    if (callback !== undefined) callback(ws, request);
    else this.emit("connection", ws, request);
    session.start();
  }

  /**
   * Graceful shutdown: stops accepting, closes every socket with 1001 (Going Away, RFC 6455
   * §7.4.1) and waits for them; sockets still open after `timeout` ms (default: the
   * session's close timeout, 5000) are terminated. Closes the HTTP server it created.
   */
  async close(timeout: number = this.#settings.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      if (this.#httpServer !== undefined) detachRoute(this.#httpServer, this);
    }
    const pending = [...this.clients].map((ws) => {
      ws.close(1001);
      return ws.session?.closed;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(pending),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      }),
    ]);
    clearTimeout(timer);
    this.terminate();
    if (this.#ownServer && this.#httpServer?.listening) {
      const server = this.#httpServer;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.emit("close");
  }

  /** Terminates every socket at once (no close handshake). */
  terminate(): void {
    for (const ws of this.clients) ws.terminate();
  }
}

function reject(socket: Duplex, rejection: HandshakeError | RejectVerdict): void {
  if (socket.destroyed) return;
  socket.end(buildRejectResponse(rejection));
}
