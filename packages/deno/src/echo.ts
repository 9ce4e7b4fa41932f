/**
 * A ready-made echo server (the interop contract of ARCHITECTURE.md), for tests and interop
 * runs: `@ws/session`'s echo behaviour on this runtime's `WebSocketServer`.
 *
 * @module
 */
import { ECHO_SERVER_OPTIONS, type EchoServer as SessionEchoServer, startEcho } from "@ws/session";
import { WebSocketServer, type WebSocketServerOptions } from "./server.ts";

/** A running echo server of this runtime. */
export type EchoServer = SessionEchoServer<WebSocketServer>;

/**
 * Starts an echo server on 127.0.0.1 (port 0 by default: a free one) and resolves once it
 * listens. Every message is echoed, the client's close code and reason are echoed back,
 * subprotocols `chat` and `superchat` are accepted, `/close?code=C&reason=R` is closed by the
 * server at once.
 */
export function startEchoServer(options: Partial<WebSocketServerOptions> = {}): Promise<EchoServer> {
  const server = new WebSocketServer({ ...ECHO_SERVER_OPTIONS, ...options } as WebSocketServerOptions);
  return startEcho(server, options.tls !== undefined);
}
