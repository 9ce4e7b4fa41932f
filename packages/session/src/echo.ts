/**
 * The echo server of the interop contract (ARCHITECTURE.md, "Contracts other tools rely on"),
 * written once for every adapter: each adapter's `startEchoServer` only constructs its own
 * `WebSocketServer` with {@link ECHO_SERVER_OPTIONS} and hands it to {@link startEcho}.
 *
 * Every message is echoed unchanged, a client's close code and reason are echoed back (the
 * session's automatic close reply with `echoCloseReason`), subprotocols `chat` and `superchat`
 * are accepted (the first one the client offers), and `/close?code=C&reason=R` is closed by the
 * server at once with that code and reason.
 *
 * @module
 */
import type { Session, SessionHandler } from "./session.ts";
import type { WebSocket } from "./websocket.ts";

/** The server options the echo contract needs, before the caller's own. */
export const ECHO_SERVER_OPTIONS: {
  readonly host: string;
  readonly port: number;
  readonly protocols: readonly string[];
  readonly echoCloseReason: boolean;
  readonly limits: { readonly maxMessageSize: number; readonly maxFrameSize: number };
} = {
  host: "127.0.0.1",
  port: 0,
  protocols: ["chat", "superchat"],
  echoCloseReason: true,
  // The contract: no message-size limit below 16 MiB. Twice that leaves room for 16 MiB
  // messages and keeps the worst case of a compression bomb (output chunks plus their join,
  // about twice the limit) well under what the conformance runner's R.4.1 allows.
  limits: { maxMessageSize: 32 * 1024 * 1024, maxFrameSize: 32 * 1024 * 1024 },
};

/** What {@link startEcho} needs of an adapter's `WebSocketServer` (all three have it). */
export interface EchoCapableServer {
  on(event: "connection", listener: (ws: WebSocket) => void): unknown;
  once(event: "listening" | "error", listener: (error?: unknown) => void): unknown;
  address(): unknown;
  close(code?: number): Promise<void>;
}

/** A running echo server. */
export interface EchoServer<S extends EchoCapableServer> {
  /** The server. */
  readonly server: S;
  /** The port it listens on. */
  readonly port: number;
  /** `ws://127.0.0.1:<port>` (`wss:` when secure). */
  readonly url: string;
  /** Closes every connection (1001) and stops listening. */
  close(): Promise<void>;
}

/** Serves one connection by the echo contract. */
export function serveEcho(ws: WebSocket): void {
  const url = new URL(ws.url);
  if (url.pathname === "/close") {
    ws.close(Number(url.searchParams.get("code") ?? 1000), url.searchParams.get("reason") ?? "");
    return;
  }
  const session = ws.session;
  if (session === undefined) return;
  // The session's handler, not a `message` event: no MessageEvent per echoed message. One
  // shared function (`this` is the handler) rather than a closure per connection.
  const handler: EchoHandler = { ...session.handler, session, message: echoMessage };
  session.handler = handler;
}

interface EchoHandler extends SessionHandler {
  readonly session: Session;
}

function echoMessage(this: EchoHandler, data: string | Uint8Array): void {
  const session = this.session;
  // A message decoded after the close began (an extension was still inflating it) is not
  // echoed: sending then would throw, and must not take the server down.
  if (session.state === "open" && session.connection.canSend) session.send(data);
}

/** Makes `server` an echo server and resolves once it listens. */
export async function startEcho<S extends EchoCapableServer>(
  server: S,
  secure = false,
): Promise<EchoServer<S>> {
  server.on("connection", serveEcho);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  const address = server.address();
  const port =
    typeof address === "object" && address !== null ? Number((address as { port?: number }).port ?? 0) : 0;
  return { server, port, url: `${secure ? "wss" : "ws"}://127.0.0.1:${port}`, close: () => server.close() };
}
