// The WPT WebSocket server for the runner: a JavaScript reimplementation of the pywebsocket
// handlers in WPT's websockets/handlers/ that the .any.js cases use, on `ws` (the reference
// implementation, so our own server is not what our client is measured against), plus the
// static files idlharness fetches (/interfaces/*.idl). One plain and one TLS listener, as
// wptserve's `ws` and `wss` ports.
import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { join, normalize } from "node:path";
import { WebSocketServer } from "ws";

/** pywebsocket's echo_wsh.py ends the connection after echoing this text message. */
const GOODBYE = "Goodbye";

/**
 * The handlers, by path (pywebsocket maps `/NAME` to `NAME_wsh.py`):
 * - echo: picks "echo" when offered; echoes every message with its type; after echoing
 *   "Goodbye" closes with 1000 (the handler returns); a peer's close code and reason are echoed
 *   (`ws` does this by itself, an empty close for 1005, as web_socket_passive_closing_handshake).
 * - referrer: sends the Referer request header, or "MISSING AS PER FETCH".
 * - basic_auth: 401 unless `Authorization: Basic Zm9vOmJhcg==` (foo:bar).
 */
const HANDLERS = {
  "/echo": (socket) => {
    socket.on("message", (data, isBinary) => {
      socket.send(data, { binary: isBinary });
      if (!isBinary && data.toString() === GOODBYE) socket.close(1000);
    });
  },
  "/referrer": (socket, request) => {
    socket.send(request.headers.referer ?? "MISSING AS PER FETCH");
  },
  "/basic_auth": () => {},
};

function verify(path, request) {
  if (path === "/basic_auth") return request.headers.authorization === "Basic Zm9vOmJhcg==";
  return true;
}

/**
 * Starts the two listeners on 127.0.0.1 (free ports).
 * @param {{ wpt: string, cert: Buffer, key: Buffer, tlsClose: "abrupt" | "notify" }} options
 *   tlsClose "abrupt" (default) ends a TLS connection without close_notify after the close
 *   handshake, as pywebsocket (Python's ssl without unwrap) does; "notify" sends it.
 */
export async function startServer({ wpt, cert, key, tlsClose = "abrupt" }) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false, // echo_wsh.py turns permessage-deflate off
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has("echo") ? "echo" : false),
  });

  async function serveStatic(request, response) {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    if (!/^\/(interfaces|resources|websockets)\//.test(path) || path.includes("..")) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(wpt, path));
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  }

  function onUpgrade(secure) {
    return (request, socket, head) => {
      const path = new URL(request.url, "http://x").pathname;
      const handler = HANDLERS[path];
      if (handler === undefined || !verify(path, request)) {
        const status = handler === undefined ? "404 Not Found" : "401 Unauthorized";
        socket.end(
          `HTTP/1.1 ${status}\r\nContent-Length: 0\r\nWWW-Authenticate: Basic realm="camelot"\r\n\r\n`,
        );
        return;
      }
      if (secure && tlsClose === "abrupt") {
        // After the close handshake `ws` ends the socket; drop the connection instead, with no
        // TLS close_notify (what the WPT server does).
        socket.end = function endWithoutCloseNotify() {
          this.destroy();
          return this;
        };
      }
      wss.handleUpgrade(request, socket, head, (ws) => handler(ws, request));
    };
  }

  const plain = http.createServer(serveStatic);
  const tls = https.createServer({ cert, key }, serveStatic);
  plain.on("upgrade", onUpgrade(false));
  tls.on("upgrade", onUpgrade(true));
  await Promise.all(
    [plain, tls].map((server) => new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))),
  );
  return {
    wsPort: plain.address().port,
    wssPort: tls.address().port,
    async close() {
      for (const client of wss.clients) client.terminate();
      plain.closeAllConnections();
      tls.closeAllConnections();
      await Promise.all([plain, tls].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
