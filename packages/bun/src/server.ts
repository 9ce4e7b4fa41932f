/**
 * The WebSocket server for Bun: listens with `Bun.listen` (TCP, or TLS with `tls`), reads each
 * request head with the codec's `HttpHeadParser`, and runs the shared handshake, `verify`
 * hook, client tracking and shutdown of `@ws/session`'s `ServerCore`. Same API and defaults as
 * `@ws/node`'s `WebSocketServer`.
 *
 * Bun docs relied on:
 * - `Bun.listen` (hostname, port, tls, socket handlers), `listener.stop()`:
 *   https://bun.com/docs/api/tcp#start-a-server-bun-listen
 *
 * @module
 */
import * as diagnosticsChannel from "node:diagnostics_channel";
import type { HttpRequestHead } from "@ws/codec/handshake";
import { deflateEngine } from "@ws/deflate/node-zlib";
import {
  acceptedSocket,
  type BinaryType,
  bindDiagnosticsChannels,
  checkListenerOptions,
  LISTENER_OPTIONS,
  type PlainRequests,
  type RequestHandler,
  type ServerCoreOptions,
  type ServerEvents,
  type UpgradeInfo as SharedUpgradeInfo,
  WebSocketServerBase,
} from "@ws/session";
import { type BunListener, type BunTlsOptions, bun } from "./bun-api.ts";
import { BUN, type ClientOptions, WebSocket } from "./client.ts";
import { handshakeConnection, type SocketTransport, socketHandlers } from "./socket-transport.ts";

/** The request head as parsed from the socket, and the request headers (lower-case names). */
export type UpgradeInfo = SharedUpgradeInfo<HttpRequestHead, Readonly<Record<string, string>>>;

/** Options of a {@link WebSocketServer}: the shared server options plus where to listen. */
export interface WebSocketServerOptions<B extends BinaryType = "uint8array">
  extends ServerCoreOptions<UpgradeInfo, B> {
  /** Listen on this port (0 picks a free one). Other requests than upgrades get 426. */
  readonly port?: number | undefined;
  /** The address to listen on. Default `"0.0.0.0"` (all interfaces, as Node). */
  readonly host?: string | undefined;
  /** Serve `wss:`: Bun's TLS options (`cert`, `key` as PEM text …). */
  /**
   * Serve HTTP routes on the same port: a request that is not a WebSocket upgrade for this
   * server (no `Upgrade` header, or another path) goes to this fetch-style handler, the
   * function a `Bun.serve({ fetch })` program already has, instead of getting 426. One request per connection,
   * bodies up to `maxRequestBodySize`; see "HTTP routes and WebSockets on one port" in the
   * README. Only with `port`.
   */
  readonly handler?: RequestHandler | undefined;
  /** The largest request body given to `handler`, in bytes (413 beyond). Default 1 MiB. */
  readonly maxRequestBodySize?: number | undefined;
  readonly tls?: BunTlsOptions | undefined;
  /** Not supported on Bun: use `@ws/node`'s `WebSocketServer` with `node:http` (it runs on Bun). */
  readonly server?: undefined;
  /** Neither listen nor attach (only `close()` / `clients` are then useful). */
  readonly noServer?: boolean | undefined;
  /**
   * Set `SO_REUSEPORT` (Linux): several processes listen on one port and the kernel spreads
   * connections across them (with a `broker` carrying pub/sub between them).
   */
  readonly reusePort?: boolean | undefined;
}

/** Events of a {@link WebSocketServer}; `B` is the sockets' `binaryType` type. */
export type WebSocketServerEvents<B extends BinaryType = "uint8array"> = ServerEvents<
  WebSocket<B>,
  HttpRequestHead
>;

/**
 * A WebSocket server on `Bun.listen` (ws-style API on the shared WHATWG `WebSocket` objects).
 * Events, shutdown and pub/sub are `@ws/session`'s `WebSocketServerBase`; this class listens.
 *
 * @example
 * ```ts
 * import { WebSocketServer } from "@ws/bun";
 * const wss = new WebSocketServer({ port: 8080, protocols: ["chat"] });
 * wss.on("connection", (ws) => {
 *   ws.onmessage = (event) => ws.send(event.data);
 * });
 * ```
 */
export class WebSocketServer<B extends BinaryType = "uint8array"> extends WebSocketServerBase<
  WebSocket<B>,
  HttpRequestHead,
  Readonly<Record<string, string>>,
  WebSocketServerOptions<B>
> {
  readonly #http: PlainRequests | undefined;
  #listener: BunListener | undefined;

  constructor(options: WebSocketServerOptions<B> = {}) {
    super(
      options,
      (url, init) => acceptedSocket(() => new WebSocket<B>(url, undefined, init as ClientOptions<B>)),
      LISTENER_OPTIONS,
      deflateEngine,
    );
    // The diagnostics events go to node:diagnostics_channel (see @ws/session's diagnostics.ts).
    bindDiagnosticsChannels(diagnosticsChannel);
    this.#http = checkListenerOptions(options, BUN);
    const { port, host } = options;
    if (port === undefined) return;
    this.listen(() => {
      this.#listener = bun().listen<SocketTransport>({
        hostname: host ?? "0.0.0.0",
        port,
        tls: options.tls,
        // Keep reading after our FIN (TCP half-close), as Node does: closing with unread bytes
        // would reset the connection and could drop our close frame.
        allowHalfOpen: true,
        ...(options.reusePort === true ? { reusePort: true } : {}),
        // The head read, handshake, limits and response are the shared accept path's.
        socket: socketHandlers((transport) => {
          const connection = handshakeConnection(transport, options.tls !== undefined);
          void this.core.accept(connection, this.deliver, this.onError, this.#http);
        }),
      });
    });
  }

  /** The listening address, or null. */
  address(): { address: string; family: string; port: number } | null {
    const listener = this.#listener;
    if (listener === undefined) return null;
    const family = listener.hostname.includes(":") ? "IPv6" : "IPv4";
    return { address: listener.hostname, family, port: listener.port };
  }

  protected stopListening(): void {
    this.#listener?.stop(false);
    this.#listener = undefined;
  }
}
