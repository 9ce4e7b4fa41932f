/**
 * The WebSocket client for Deno: the shared WHATWG `WebSocket` class with a connector over
 * `Deno.connect` / `Deno.connectTls`; the handshake, redirects, timeout and abort come from
 * `@ws/session`'s `dial`. Same API and defaults as `@ws/node`'s client, minus what Deno's TLS
 * client cannot do (see the README).
 *
 * Deno docs relied on:
 * - `Deno.connect`: https://docs.deno.com/api/deno/~/Deno.connect
 * - `Deno.connectTls` (`caCerts`, `cert` / `key` for client certificates, `alpnProtocols`):
 *   https://docs.deno.com/api/deno/~/Deno.connectTls
 *
 * @module
 */
import type { WebSocketUrl } from "@ws/codec/handshake";
import { deflateEngine } from "@ws/deflate/node-zlib";
import {
  type AdapterName,
  type BinaryType,
  type ConnectRequest,
  connectWhenOpen,
  type DialConnection,
  type DialOptions,
  dial,
  isAcceptedSocket,
  refuseNodeOnlyClientOptions,
  type Session,
  WebSocket as SharedWebSocket,
  splitClientArguments,
  type WebSocketInit,
} from "@ws/session";
import { handshakeConnection } from "./socket-transport.ts";

/** Extra `Deno.connectTls` options (client certificate). */
export interface ClientTlsOptions {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** This adapter's name in the messages of the shared option checks. */
export const DENO: AdapterName = { adapter: "@ws/deno", runtime: "Deno" };

/** Options of the Deno client: the shared {@link WebSocketInit} and {@link DialOptions}, plus TLS. */
export interface ClientOptions<B extends BinaryType = BinaryType>
  extends Omit<WebSocketInit<B>, "connector" | "session" | "clients">,
    DialOptions {
  /** Not supported on Deno (throws): use `@ws/node` or connect directly. */
  readonly proxy?: string | URL | undefined;
  /**
   * WebSockets over HTTP/2 (RFC 8441): not in `@ws/deno` (throws unless `false`); `@ws/node`'s
   * `WebSocket` with `http2` runs on Deno's `node:http2` (see the README).
   */
  readonly http2?: false | undefined;
  /** Trusted CA certificates (PEM) for `wss:` (default: Deno's root store). */
  readonly ca?: string | string[] | undefined;
  /** Only `true` (the default) is supported on Deno; `false` throws. */
  readonly rejectUnauthorized?: boolean | undefined;
  /** Not supported on Deno (the SNI name is the URL's host); throws when it differs. */
  readonly servername?: string | undefined;
  /** A client certificate for `Deno.connectTls`. */
  readonly tls?: ClientTlsOptions | undefined;
}

/** Options of {@link connect}: {@link ClientOptions} plus the subprotocols to offer. */
export interface ConnectOptions<B extends BinaryType = BinaryType> extends ClientOptions<B> {
  readonly protocols?: string | readonly string[] | undefined;
}

/** Connects with `Deno.connect` / `Deno.connectTls` and exposes the conn as a {@link DialConnection}. */
async function openConn(url: WebSocketUrl, options: ClientOptions): Promise<DialConnection> {
  const conn: Deno.Conn = url.secure
    ? await Deno.connectTls({
        hostname: url.hostname,
        port: url.port,
        alpnProtocols: ["http/1.1"],
        ...(options.ca === undefined
          ? {}
          : { caCerts: typeof options.ca === "string" ? [options.ca] : options.ca }),
        ...(options.tls?.cert === undefined || options.tls.key === undefined
          ? {}
          : { cert: options.tls.cert, key: options.tls.key }),
      })
    : await Deno.connect({ hostname: url.hostname, port: url.port });
  return handshakeConnection(conn, url.secure);
}

/** Throws for the options Deno cannot honour. */
function checkOptions(options: ClientOptions): void {
  refuseNodeOnlyClientOptions(options, DENO);
  if (options.rejectUnauthorized === false) {
    throw new TypeError(
      "Cannot create WebSocket: rejectUnauthorized: false is not supported by Deno.connectTls; pass the server's certificate in ca instead",
    );
  }
  if (options.servername !== undefined) {
    throw new TypeError(
      "Cannot create WebSocket: servername is not supported by Deno.connectTls (SNI is the URL's host)",
    );
  }
}

/**
 * The WHATWG `WebSocket` for Deno (Deno's own global `WebSocket` is untouched). Also accepts
 * ws-style `new WebSocket(url, options)`.
 *
 * @example
 * ```ts
 * import { WebSocket } from "@ws/deno";
 * const ws = new WebSocket("ws://127.0.0.1:8080/chat", ["chat"], { handshakeTimeout: 5000 });
 * ws.onmessage = (event) => console.log(event.data);
 * ```
 */
export class WebSocket<B extends BinaryType = BinaryType> extends SharedWebSocket<B> {
  // WebIDL §3.7: the shape of the interface (members on this prototype, constants, `length` 1).
  static {
    SharedWebSocket.defineInterface(WebSocket);
  }

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
    checkOptions(init);
    super(url, split.protocols, {
      ...(split.shared as Omit<WebSocketInit<B>, "connector" | "session" | "clients">),
      connector: (request: ConnectRequest): Promise<Session> =>
        dial(request, init, (target) => openConn(target, init), deflateEngine),
    });
  }
}

/**
 * Opens a connection and resolves with the open {@link WebSocket}; rejects with why it could
 * not be opened (as `@ws/node`'s `connect`).
 *
 * @example
 * ```ts
 * import { connect } from "@ws/deno";
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
