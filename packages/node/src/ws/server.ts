/**
 * A `ws`-compatible `WebSocketServer` over our `WebSocketServer`: `ws`'s option names
 * (`verifyClient` with its callback form, `handleProtocols`, `maxPayload`, …), its events
 * (`connection` as `(ws, request)`, `headers`, `listening`, `close`) and callbacks
 * (constructor `callback`, `close(cb)`), with our accept path underneath.
 *
 * `ws` API reference: https://github.com/websockets/ws/blob/master/doc/ws.md#class-websocketserver
 *
 * @module
 */
import { EventEmitter } from "node:events";
import { type Server as HttpServer, type IncomingMessage, STATUS_CODES } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { HandshakeError } from "@ws/codec";
import { checkUpgradeRequest, computeAcceptKey } from "@ws/codec/handshake";
import { reportListenerError, type UpgradeVerdict } from "@ws/session";
import type { WebSocket as NodeWebSocket } from "../client.ts";
import {
  WebSocketServer as NodeWebSocketServer,
  type UpgradeInfo,
  type WebSocketServerOptions,
} from "../server.ts";
import { checkKnown, mapDeflate, mapMaxPayload, refuse, type WsPerMessageDeflateOptions } from "./options.ts";
import { type WebSocket, wrapServerSocket } from "./websocket.ts";

/** What `verifyClient` learns (as in `ws`). */
export interface VerifyClientInfo {
  readonly origin: string;
  readonly secure: boolean;
  readonly req: IncomingMessage;
}

/** `verifyClient`'s callback: accept, or reject with a status, message and headers. */
export type VerifyClientCallback = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Readonly<Record<string, string | number>>,
) => void;

/** Options of the `ws`-compatible server (the `ws` names we support). */
export interface WsServerOptions {
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly server?: HttpServer | HttpsServer | undefined;
  readonly noServer?: boolean | undefined;
  readonly path?: string | undefined;
  readonly clientTracking?: boolean | undefined;
  /**
   * Sync: `(info) => boolean`. Async (`ws` tells them apart by arity, as here): `(info, callback)`,
   * calling `callback(result, code?, message?, headers?)`. A rejection's status defaults to 401.
   * A sync form that returns a promise is awaited (in `ws` a promise is truthy: it accepts).
   */
  readonly verifyClient?: ((info: VerifyClientInfo, callback: VerifyClientCallback) => unknown) | undefined;
  readonly handleProtocols?:
    | ((protocols: Set<string>, request: IncomingMessage) => string | false)
    | undefined;
  readonly maxPayload?: number | undefined;
  readonly perMessageDeflate?: boolean | WsPerMessageDeflateOptions | undefined;
  readonly autoPong?: boolean | undefined;
}

const SERVER_KNOWN = [
  "port",
  "host",
  "server",
  "noServer",
  "path",
  "clientTracking",
  "verifyClient",
  "handleProtocols",
  "maxPayload",
  "perMessageDeflate",
  "autoPong",
];

const SERVER_REFUSED: Readonly<Record<string, string>> = {
  backlog: "create the http.Server yourself and pass it as server",
  skipUTF8Validation: "text is always validated: RFC 6455 §8.1 requires failing on invalid UTF-8",
  WebSocket: "sockets are @ws/node/ws WebSocket objects",
  allowSynchronousEvents: "messages are emitted as they are decoded",
  closeTimeout: "use @ws/node's WebSocketServer and its closeTimeout",
};

/** Events of the `ws`-compatible server, with `ws`'s argument lists. */
export interface WsServerEvents {
  connection: [socket: WebSocket, request: IncomingMessage];
  headers: [headers: string[], request: IncomingMessage];
  /**
   * An upgrade request failed the RFC 6455 §4.2.1 checks (method, `Upgrade`, `Connection`,
   * `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, the subprotocol and extension lists). Only
   * emitted when there is a listener; the listener then answers on `socket` (the error is the
   * codec's `HandshakeError`, with the `status` and `headers` the server would have sent).
   * Without one the server answers itself.
   */
  wsClientError: [error: Error, socket: Duplex, request: IncomingMessage];
  listening: [];
  error: [error: Error];
  close: [];
}

/** "Name: value" lines a `headers` listener pushed, as header pairs. */
function addedHeaders(lines: readonly string[], from: number): [string, string][] {
  const pairs: [string, string][] = [];
  for (const line of lines.slice(from)) {
    const colon = line.indexOf(":");
    if (colon > 0) pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return pairs;
}

/** `ws`'s rejection: status (default 401), body the message or the status text. */
function rejectWith(
  code = 401,
  message?: string,
  headers?: Readonly<Record<string, string | number>>,
): UpgradeVerdict {
  return {
    status: code,
    body: message ?? STATUS_CODES[code] ?? "",
    headers: Object.entries(headers ?? {}).map(([name, value]) => [name, String(value)] as [string, string]),
  };
}

/**
 * Our server with one step in front of the shared accept path: a request that fails the
 * opening-handshake checks goes to its `screen` first (`ws`'s `wsClientError`), which may take
 * it; the server consults it in the three ways requests arrive (`port`, `server`, `noServer`).
 */
class ScreeningServer extends NodeWebSocketServer {
  setScreen(screen: (request: IncomingMessage, socket: Duplex) => boolean): void {
    this.screen = screen;
  }
}

/**
 * The `ws`-compatible WebSocket server.
 *
 * @example
 * ```ts
 * import { WebSocketServer } from "@ws/node/ws";
 * const wss = new WebSocketServer({ port: 0 }, () => console.log("listening"));
 * wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
 * ```
 */
export class WebSocketServer extends EventEmitter<WsServerEvents> {
  /** The open sockets (a `Set`, when `clientTracking` is on, as in `ws`). */
  readonly clients: Set<WebSocket> = new Set();
  readonly options: WsServerOptions;
  readonly #server: NodeWebSocketServer;
  readonly #tracking: boolean;

  constructor(options: WsServerOptions, callback?: () => void) {
    super();
    if (options === null || typeof options !== "object") {
      throw new TypeError("Cannot create WebSocketServer: options must be an object");
    }
    refuse("WebSocketServer", options, SERVER_REFUSED);
    checkKnown("WebSocketServer", options, SERVER_KNOWN);
    this.options = options;
    const { verifyClient, handleProtocols, maxPayload, perMessageDeflate, clientTracking, ...rest } = options;
    this.#tracking = clientTracking !== false;
    const limits = mapMaxPayload(maxPayload);
    const deflate = mapDeflate("WebSocketServer", perMessageDeflate);
    const mapped: WebSocketServerOptions = {
      ...rest,
      binaryType: "uint8array",
      // ws echoes the peer's close reason with its code.
      echoCloseReason: true,
      ...(limits === undefined ? {} : { limits }),
      ...(deflate === undefined ? {} : { perMessageDeflate: deflate }),
      verify: (info) => this.#verify(info, verifyClient, handleProtocols),
    };
    const inner = new ScreeningServer(mapped);
    inner.setScreen((request, socket) => this.#screen(request, socket));
    this.#server = inner;
    // Only HTTP/1.1 servers are accepted here (the `server` option's type), so requests are
    // `IncomingMessage`s as in `ws`.
    this.#server.on("connection", (inner, request) => this.#connect(inner, request as IncomingMessage));
    this.#server.on("listening", () => this.emit("listening"));
    this.#server.on("error", (error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
    });
    if (callback !== undefined) this.once("listening", callback);
  }

  /**
   * With a `wsClientError` listener, a request that fails the opening-handshake checks is
   * handed to it (as `ws` does) instead of being answered; the same checks run again in the
   * shared accept path for the others.
   */
  #screen(request: IncomingMessage, socket: Duplex): boolean {
    if (this.listenerCount("wsClientError") === 0) return false;
    try {
      checkUpgradeRequest({
        method: request.method ?? "",
        httpVersion: request.httpVersion,
        headers: request.headers,
      });
      return false;
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      try {
        this.emit("wsClientError", error, socket, request);
      } catch (thrown) {
        // A broken listener must not bring the server down (nor leave the socket open).
        socket.destroy();
        const reported = thrown instanceof Error ? thrown : new Error(String(thrown));
        if (this.listenerCount("error") > 0) this.emit("error", reported);
        else reportListenerError(reported);
      }
      return true;
    }
  }

  /** `verifyClient` (sync, or async with its callback), then `handleProtocols`, then `headers`. */
  async #verify(
    info: UpgradeInfo,
    verifyClient: WsServerOptions["verifyClient"],
    handleProtocols: WsServerOptions["handleProtocols"],
  ): Promise<UpgradeVerdict> {
    const req = info.request as IncomingMessage;
    if (verifyClient !== undefined) {
      const clientInfo: VerifyClientInfo = {
        origin: info.origin ?? "",
        secure: info.url.protocol === "wss:",
        req,
      };
      if (verifyClient.length === 2) {
        const verdict = await new Promise<UpgradeVerdict>((resolve) => {
          verifyClient(clientInfo, (result, code, message, headers) =>
            resolve(result ? true : rejectWith(code, message, headers)),
          );
        });
        if (verdict !== true) return verdict;
      } else if (!(await verifyClient(clientInfo, () => {}))) {
        return rejectWith();
      }
    }
    // ws selects the first offered subprotocol unless handleProtocols decides.
    const offered = info.offeredProtocols;
    let protocol: string | undefined;
    if (offered.length > 0) {
      const chosen = handleProtocols === undefined ? offered[0] : handleProtocols(new Set(offered), req);
      protocol = chosen === false ? undefined : chosen;
    }
    if (this.listenerCount("headers") === 0) return { protocol };
    const key = req.headers["sec-websocket-key"];
    const lines = [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${typeof key === "string" ? await computeAcceptKey(key) : ""}`,
    ];
    if (protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    const fixed = lines.length;
    this.emit("headers", lines, req);
    return { protocol, headers: addedHeaders(lines, fixed) };
  }

  #connect(
    inner: NodeWebSocket,
    request: IncomingMessage,
    callback?: (ws: WebSocket, req: IncomingMessage) => void,
  ): void {
    const ws = wrapServerSocket(inner);
    if (this.#tracking) {
      this.clients.add(ws);
      ws.once("close", () => this.clients.delete(ws));
    }
    if (callback !== undefined) callback(ws, request);
    else this.emit("connection", ws, request);
  }

  address(): AddressInfo | string | null {
    return this.#server.address();
  }

  shouldHandle(request: IncomingMessage): boolean {
    return this.#server.shouldHandle(request);
  }

  /** `noServer` mode: runs the handshake and calls `callback` with the open socket. */
  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (ws: WebSocket, request: IncomingMessage) => void,
  ): void {
    this.#server.handleUpgrade(request, socket, head, (inner, req) =>
      this.#connect(inner, req as IncomingMessage, callback),
    );
  }

  /**
   * Stops accepting and closes the server it created; `cb` runs once closed (with an error when
   * it already was, as in `ws`). Unlike `ws` 8, open sockets are closed too (1001, Going Away).
   */
  close(cb?: (error?: Error) => void): void {
    if (this.#closed) {
      if (cb !== undefined) process.nextTick(cb, new Error("The server is not running"));
      return;
    }
    this.#closed = true;
    this.#server.close().then(
      () => {
        this.emit("close");
        cb?.();
      },
      (error: unknown) => cb?.(error instanceof Error ? error : new Error(String(error))),
    );
  }
  #closed = false;
}
