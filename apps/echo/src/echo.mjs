// @ts-self-types="./echo.d.mts"
// The echo server of the interop contract (ARCHITECTURE.md, "Contracts other tools rely on"),
// written once for every adapter and kept out of the published packages (it is a test and
// interop fixture, not library code). Plain JavaScript so that Node runs it without a build;
// its types are in echo.d.mts.
//
// Every message is echoed unchanged, a client's close code and reason are echoed back (the
// session's automatic close reply with `echoCloseReason`), subprotocols `chat` and `superchat`
// are accepted (the first one the client offers), and `/close?code=C&reason=R` is closed by the
// server at once with that code and reason. `/gc` is the memory benchmark's control path
// (collect-garbage.mjs).

import { garbageReport } from "./collect-garbage.mjs";

/** The server options the echo contract needs, before the caller's own. */
export const ECHO_SERVER_OPTIONS = {
  host: "127.0.0.1",
  port: 0,
  protocols: ["chat", "superchat"],
  echoCloseReason: true,
  // The contract: no message-size limit below 16 MiB. Twice that leaves room for 16 MiB
  // messages and keeps the worst case of a compression bomb (output chunks plus their join,
  // about twice the limit) well under what the conformance runner's R.4.1 allows.
  limits: { maxMessageSize: 32 * 1024 * 1024, maxFrameSize: 32 * 1024 * 1024 },
};

/** Serves one connection by the echo contract. @param {import("./echo.d.mts").EchoSocket} ws */
export function serveEcho(ws) {
  const url = new URL(ws.url);
  if (url.pathname === "/close") {
    ws.close(Number(url.searchParams.get("code") ?? 1000), url.searchParams.get("reason") ?? "");
    return;
  }
  if (url.pathname === "/gc") {
    ws.send(garbageReport());
    ws.close(1000);
    return;
  }
  const session = ws.session;
  if (session === undefined) return;
  // The session's handler, not a `message` event: no MessageEvent per echoed message. One
  // shared function (`this` is the handler) rather than a closure per connection. The socket's
  // own handler object is changed in place: a spread copy (`{ ...handler, message }`) gets a
  // hidden class of its own for every connection on Node 20's V8.
  Object.assign(session.handler, { session, message: echoMessage });
}

/** @this {{ session: import("./echo.d.mts").EchoSession }} @param {string | Uint8Array} data */
function echoMessage(data) {
  const session = this.session;
  // A message decoded after the close began (an extension was still inflating it) is not
  // echoed: sending then would throw, and must not take the server down.
  if (session.state === "open" && session.connection.canSend) session.send(data);
}

/**
 * Starts an echo server with the adapter's `WebSocketServer` class on 127.0.0.1 (port 0 by
 * default: a free one) and resolves once it listens.
 */
export async function startEchoServer(WebSocketServer, options = {}) {
  const server = new WebSocketServer({ ...ECHO_SERVER_OPTIONS, ...options });
  server.on("connection", serveEcho);
  await new Promise((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? Number(address.port ?? 0) : 0;
  const secure = options.tls !== undefined;
  return { server, port, url: `${secure ? "wss" : "ws"}://127.0.0.1:${port}`, close: () => server.close() };
}
