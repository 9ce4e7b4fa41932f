/**
 * The WebSocket client for Bun: the shared WHATWG `WebSocket` class with a connector over
 * `Bun.connect` (TCP, TLS for `wss:`); the handshake, redirects, timeout and abort come from
 * `@ws/session`'s `dial`. Same API and defaults as `@ws/node`'s client, minus an HTTP proxy.
 *
 * Bun docs relied on:
 * - `Bun.connect` (hostname, port, tls, socket handlers, `connectError`):
 *   https://bun.com/docs/api/tcp#connect-a-client-bun-connect
 * - Client TLS options `ca`, `serverName`, `rejectUnauthorized`: https://bun.com/docs/api/fetch#tls
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
import { type BunTlsOptions, bun } from "./bun-api.ts";
import { handshakeConnection, type SocketTransport, socketHandlers } from "./socket-transport.ts";

/** This adapter's name in the messages of the shared option checks. */
export const BUN: AdapterName = { adapter: "@ws/bun", runtime: "Bun" };

/** Options of the Bun client: the shared {@link WebSocketInit} and {@link DialOptions}, plus TLS. */
export interface ClientOptions<B extends BinaryType = BinaryType>
  extends Omit<WebSocketInit<B>, "connector" | "session" | "clients">,
    DialOptions {
  /** Not supported on Bun (throws): use `@ws/node` or connect directly. */
  readonly proxy?: string | URL | undefined;
  /**
   * WebSockets over HTTP/2 (RFC 8441): not in `@ws/bun` (throws unless `false`); `@ws/node`'s
   * `WebSocket` with `http2` runs on Bun's `node:http2` (see the README).
   */
  readonly http2?: false | undefined;
  /** Trusted CA certificates (PEM) for `wss:` (default: Bun's bundle). */
  readonly ca?: string | string[] | undefined;
  /** Reject servers whose certificate does not verify. Default true. */
  readonly rejectUnauthorized?: boolean | undefined;
  /** The TLS SNI name. Default: the URL's host name. */
  readonly servername?: string | undefined;
  /** Any other Bun TLS options (client certificate …). */
  readonly tls?: BunTlsOptions | undefined;
}

/** Options of {@link connect}: {@link ClientOptions} plus the subprotocols to offer. */
export interface ConnectOptions<B extends BinaryType = BinaryType> extends ClientOptions<B> {
  readonly protocols?: string | readonly string[] | undefined;
}

/** Connects with `Bun.connect` and exposes the socket as a {@link DialConnection}. */
async function openSocket(url: WebSocketUrl, options: ClientOptions): Promise<DialConnection> {
  const tls: BunTlsOptions | undefined = url.secure
    ? {
        ...options.tls,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        serverName: options.servername ?? url.hostname,
        rejectUnauthorized: options.rejectUnauthorized ?? options.tls?.rejectUnauthorized ?? true,
      }
    : undefined;
  let connection: DialConnection | undefined;
  // Made on the socket's first event, so no byte or error escapes it.
  const handlers = socketHandlers((transport) => {
    connection = handshakeConnection(transport, url.secure);
  });
  handlers.transportOf(
    await bun().connect<SocketTransport>({
      hostname: url.hostname,
      port: url.port,
      tls,
      allowHalfOpen: true,
      socket: handlers,
    }),
  );
  return connection as DialConnection;
}

/**
 * The WHATWG `WebSocket` for Bun (Bun's own global `WebSocket` is untouched). Also accepts
 * ws-style `new WebSocket(url, options)`.
 *
 * @example
 * ```ts
 * import { WebSocket } from "@ws/bun";
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
    refuseNodeOnlyClientOptions(init, BUN);
    super(url, split.protocols, {
      ...(split.shared as Omit<WebSocketInit<B>, "connector" | "session" | "clients">),
      connector: (request: ConnectRequest): Promise<Session> =>
        dial(request, init, (target) => openSocket(target, init), deflateEngine),
    });
  }
}

/**
 * Opens a connection and resolves with the open {@link WebSocket}; rejects with why it could
 * not be opened (as `@ws/node`'s `connect`).
 *
 * @example
 * ```ts
 * import { connect } from "@ws/bun";
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
