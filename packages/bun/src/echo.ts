/**
 * A ready-made echo server (as `@ws/node`'s `startEchoServer`), for tests and interop runs:
 * every message is echoed unchanged, a client's close code and reason are echoed back,
 * subprotocols `chat` and `superchat` are accepted, and `/close?code=C&reason=R` is closed by
 * the server at once with that code and reason.
 *
 * @module
 */
import { WebSocketServer, type WebSocketServerOptions } from "./server.ts";

/** A running echo server. */
export interface EchoServer {
  /** The server. */
  readonly server: WebSocketServer;
  /** The port it listens on. */
  readonly port: number;
  /** `ws://127.0.0.1:<port>` (`wss:` with `tls`). */
  readonly url: string;
  /** Closes every connection (1001) and stops listening. */
  close(): Promise<void>;
}

/** Starts an echo server on 127.0.0.1 (port 0 by default: a free one) once it listens. */
export async function startEchoServer(options: Partial<WebSocketServerOptions> = {}): Promise<EchoServer> {
  const server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    protocols: ["chat", "superchat"],
    echoCloseReason: true,
    // The interop contract: no message-size limit below 16 MiB.
    limits: { maxMessageSize: 64 * 1024 * 1024, maxFrameSize: 64 * 1024 * 1024 },
    ...options,
  } as WebSocketServerOptions);
  server.on("connection", (ws) => {
    const url = new URL(ws.url);
    if (url.pathname === "/close") {
      ws.close(Number(url.searchParams.get("code") ?? 1000), url.searchParams.get("reason") ?? "");
      return;
    }
    const session = ws.session;
    if (session === undefined) return;
    session.handler = {
      ...session.handler,
      message: (data) => {
        if (session.state === "open") session.send(data);
      },
    };
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const port = server.address()?.port ?? 0;
  const scheme = options.tls === undefined ? "ws" : "wss";
  return { server, port, url: `${scheme}://127.0.0.1:${port}`, close: () => server.close() };
}
