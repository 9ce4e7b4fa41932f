/**
 * The WebSocket server for Deno: listens with `Deno.listen` (or `Deno.listenTls` with `tls`),
 * reads each request head with the codec's `HttpHeadParser`, and runs the shared handshake,
 * `verify` hook, client tracking and shutdown of `@ws/session`'s `ServerCore`. Same API and
 * defaults as `@ws/node`'s `WebSocketServer`.
 *
 * Deno docs relied on:
 * - `Deno.listen` / `Deno.Listener` (`accept`, `close`, `addr`):
 *   https://docs.deno.com/api/deno/~/Deno.listen
 * - `Deno.listenTls` (`cert`, `key` as PEM text): https://docs.deno.com/api/deno/~/Deno.listenTls
 *
 * @module
 */
import * as diagnosticsChannel from "node:diagnostics_channel";
import type { HttpRequestHead } from "@ws/codec/handshake";
import { deflateEngine, setTurnTick } from "@ws/deflate/node-zlib";
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
import { loopbackTick } from "./after-io.ts";
import { type ClientOptions, DENO, WebSocket } from "./client.ts";
import { handshakeConnection } from "./socket-transport.ts";

/** The request head as parsed from the socket, and the request headers (lower-case names). */
export type UpgradeInfo = SharedUpgradeInfo<HttpRequestHead, Readonly<Record<string, string>>>;

/** Certificate and key (PEM text) to serve `wss:` with `Deno.listenTls`. */
export interface ServerTlsOptions {
  readonly cert: string;
  readonly key: string;
}

/** Options of a {@link WebSocketServer}: the shared server options plus where to listen. */
export interface WebSocketServerOptions<B extends BinaryType = "uint8array">
  extends ServerCoreOptions<UpgradeInfo, B> {
  /** Listen on this port (0 picks a free one). Other requests than upgrades get 426. */
  readonly port?: number | undefined;
  /** The address to listen on. Default `"0.0.0.0"` (all interfaces, as Node). */
  readonly host?: string | undefined;
  /** Serve `wss:` with `Deno.listenTls`. */
  /**
   * Serve HTTP routes on the same port: a request that is not a WebSocket upgrade for this
   * server (no `Upgrade` header, or another path) goes to this fetch-style handler, the
   * function a `Deno.serve(handler)` program already has, instead of getting 426. One request per connection,
   * bodies up to `maxRequestBodySize`; see "HTTP routes and WebSockets on one port" in the
   * README. Only with `port`.
   */
  readonly handler?: RequestHandler | undefined;
  /** The largest request body given to `handler`, in bytes (413 beyond). Default 1 MiB. */
  readonly maxRequestBodySize?: number | undefined;
  readonly tls?: ServerTlsOptions | undefined;
  /** Not supported: use `@ws/node`'s `WebSocketServer` with `node:http` (it runs on Deno). */
  readonly server?: undefined;
  /** Neither listen nor attach (only `close()` / `clients` are then useful). */
  readonly noServer?: boolean | undefined;
  /**
   * Set `SO_REUSEPORT` (Linux): several processes listen on one port and the kernel spreads
   * connections across them (with a `broker` carrying pub/sub between them). Deno's
   * `Deno.listen({ reusePort })` is unstable: run with `--unstable-net`. Not with `tls`.
   */
  readonly reusePort?: boolean | undefined;
}

/** Events of a {@link WebSocketServer}; `B` is the sockets' `binaryType` type. */
export type WebSocketServerEvents<B extends BinaryType = "uint8array"> = ServerEvents<
  WebSocket<B>,
  HttpRequestHead
>;

/**
 * A WebSocket server on `Deno.listen` (ws-style API on the shared WHATWG `WebSocket` objects).
 * Events, shutdown and pub/sub are `@ws/session`'s `WebSocketServerBase`; this class listens.
 *
 * @example
 * ```ts
 * import { WebSocketServer } from "@ws/deno";
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
  #listener: Deno.Listener | undefined;
  /** This server holds the process's loopback tick (`after-io.ts`) until it has closed. */
  #holdsTick = false;

  constructor(options: WebSocketServerOptions<B> = {}) {
    super(
      options,
      (url, init) => acceptedSocket(() => new WebSocket<B>(url, undefined, init as ClientOptions<B>)),
      LISTENER_OPTIONS,
      deflateEngine,
    );
    // The diagnostics events go to node:diagnostics_channel (see @ws/session's diagnostics.ts).
    bindDiagnosticsChannels(diagnosticsChannel);
    this.#http = checkListenerOptions(options, DENO);
    const { port, host, tls } = options;
    if (port === undefined) return;
    this.listen(() => {
      const hostname = host ?? "0.0.0.0";
      this.#listener =
        tls === undefined
          ? Deno.listen(
              options.reusePort === true
                ? ({ hostname, port, reusePort: true } as Deno.ListenOptions)
                : { hostname, port },
            )
          : Deno.listenTls({ hostname, port, cert: tls.cert, key: tls.key });
      loopbackTick.hold();
      this.#holdsTick = true;
      // The inflate turns of the zlib engine (Deno runs zlib on the calling thread) follow the
      // same tick: a timer's milliseconds would leave the server idle between turns.
      setTurnTick(loopbackTick);
      void this.#acceptLoop(this.#listener);
    });
  }

  /** The listening address, or null. */
  address(): { address: string; family: string; port: number } | null {
    const addr = this.#listener?.addr as Deno.NetAddr | undefined;
    if (addr === undefined) return null;
    return { address: addr.hostname, family: addr.hostname.includes(":") ? "IPv6" : "IPv4", port: addr.port };
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    const secure = this.options.tls !== undefined;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // The listener was closed.
      }
      // The head read, handshake, limits and response are the shared accept path's.
      void this.core.accept(handshakeConnection(conn, secure), this.deliver, this.onError, this.#http);
    }
  }

  protected override closed(): void {
    if (this.#holdsTick) {
      this.#holdsTick = false;
      loopbackTick.release();
    }
  }

  protected stopListening(): void {
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    this.#listener = undefined;
  }
}
