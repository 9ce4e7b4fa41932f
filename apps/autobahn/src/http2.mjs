// HTTP/2 mode (RFC 8441): the same frame-level cases over one HTTP/2 stream per connection
// instead of one TCP connection. Written from RFC 8441 §3–§6 and RFC 9113 on node:http2.
//
// - Server mode: the runner opens one HTTP/2 connection to the target (h2c with prior knowledge,
//   or TLS with ALPN h2), checks that its SETTINGS enable the Extended CONNECT protocol (§3),
//   and opens each case's WebSocket as a stream with `:method CONNECT`, `:protocol websocket`
//   (§4), expecting `:status 200` (§5).
// - Client mode: the runner is an h2c server that advertises the setting; each Extended CONNECT
//   stream is checked (§4–§5) and answered 200.
// The stream stands for the TCP connection (§5): END_STREAM is its FIN, RST_STREAM its RST (§6),
// so "the server closes TCP after the closing handshake" becomes "the server ends its stream".
//
// Which targets speak HTTP/2: the contract files hold only commands, so the target's name says
// it: `*-h2` is h2c (prior knowledge), `*-h2-tls` is TLS.

import http2 from "node:http2";

/** @typedef {"h2c" | "h2-tls"} Http2Transport */

/**
 * The HTTP/2 transport a target is served over, from its name; `null` for HTTP/1.1.
 * @param {string} name
 * @returns {Http2Transport | null}
 */
export function http2TransportOf(name) {
  if (name.endsWith("-h2-tls")) return "h2-tls";
  if (name.endsWith("-h2")) return "h2c";
  return null;
}

/** @type {Map<string, Promise<http2.ClientHttp2Session>>} one connection per target port */
const sessions = new Map();

/**
 * The HTTP/2 connection to the target on `port`, opened once and shared by the cases, as a
 * browser shares one connection per origin.
 * @param {number} port @param {Http2Transport} transport @param {number} timeoutMs
 * @returns {Promise<http2.ClientHttp2Session>}
 */
function connection(port, transport, timeoutMs) {
  const key = `${transport}:${port}`;
  let opening = sessions.get(key);
  if (opening === undefined) {
    opening = new Promise((resolve, reject) => {
      const authority = `${transport === "h2-tls" ? "https" : "http"}://127.0.0.1:${port}`;
      // The test certificate is self-signed (apps/echo/tls): not verified here.
      const session = http2.connect(authority, { rejectUnauthorized: false });
      const timer = setTimeout(() => {
        session.destroy();
        reject(new Error("no HTTP/2 SETTINGS in time"));
      }, timeoutMs);
      session.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      session.once("remoteSettings", (settings) => {
        clearTimeout(timer);
        if (settings.enableConnectProtocol !== true) {
          session.close();
          reject(
            new Error("the server's SETTINGS do not enable the Extended CONNECT protocol (RFC 8441 §3)"),
          );
          return;
        }
        session.on("error", () => {});
        resolve(session);
      });
      session.on("close", () => {
        if (sessions.get(key) === opening) sessions.delete(key);
      });
    });
    opening.catch(() => sessions.delete(key));
    sessions.set(key, opening);
  }
  return opening;
}

/**
 * Closes the connection {@link openStream} opened to the target on `port`, and only that one:
 * runs against other targets may share this module (the conformance test runs its targets side
 * by side in one process), and closing their connection mid-run would refuse the stream a case
 * of theirs has just requested (RFC 9113 §6.8: after GOAWAY no new stream is started; nghttp2
 * closes a queued request with REFUSED_STREAM).
 * @param {number} port
 */
export async function closeConnections(port) {
  const closing = [];
  for (const [key, opening] of sessions) {
    if (!key.endsWith(`:${port}`)) continue;
    sessions.delete(key);
    closing.push(opening);
  }
  await Promise.all(
    closing.map((opening) =>
      opening.then(
        (session) => new Promise((resolve) => session.close(() => resolve(undefined))),
        () => {},
      ),
    ),
  );
}

/**
 * A stream made to look like the socket `Peer` drives: same events and methods.
 * @param {http2.Http2Stream} stream
 */
export function streamAsSocket(stream) {
  return /** @type {import("node:net").Socket} */ (/** @type {unknown} */ (stream));
}

/**
 * Opens one WebSocket as an Extended CONNECT stream (RFC 8441 §4–§5).
 * @param {number} port
 * @param {{ transport: Http2Transport, path?: string, offer?: string, timeoutMs?: number }} options
 * @returns {Promise<{ stream: http2.ClientHttp2Stream, extensions: string | undefined } | { error: string }>}
 */
export async function openStream(port, options) {
  const timeoutMs = options.timeoutMs ?? 5000;
  let session;
  try {
    session = await connection(port, options.transport, timeoutMs);
  } catch (err) {
    return {
      error: `cannot open the HTTP/2 connection: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  /** @type {http2.OutgoingHttpHeaders} */
  const headers = {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": options.transport === "h2-tls" ? "https" : "http",
    ":path": options.path ?? "/",
    ":authority": `127.0.0.1:${port}`,
    "sec-websocket-version": "13",
  };
  if (options.offer !== undefined) headers["sec-websocket-extensions"] = options.offer;
  let stream;
  try {
    stream = session.request(headers, { endStream: false });
  } catch (err) {
    return { error: `cannot open a stream: ${err instanceof Error ? err.message : String(err)}` };
  }
  const opened = stream;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      opened.close(http2.constants.NGHTTP2_CANCEL);
      resolve({ error: "no response to the Extended CONNECT in time" });
    }, timeoutMs);
    opened.once("error", (err) => {
      clearTimeout(timer);
      resolve({ error: `stream error: ${err.message}` });
    });
    opened.once("close", () => {
      clearTimeout(timer);
      resolve({ error: `stream closed before the response (code ${opened.rstCode})` });
    });
    opened.once("response", (response) => {
      clearTimeout(timer);
      const status = Number(response[":status"]);
      if (status !== 200) {
        opened.close(http2.constants.NGHTTP2_CANCEL);
        resolve({ error: `the server answered ${status} instead of 200 (RFC 8441 §5)` });
        return;
      }
      const problems = [];
      if (response["sec-websocket-accept"] !== undefined)
        problems.push("sec-websocket-accept in an HTTP/2 response (RFC 8441 §5: not used)");
      if (problems.length > 0) {
        opened.close(http2.constants.NGHTTP2_CANCEL);
        resolve({ error: problems.join("; ") });
        return;
      }
      opened.pause();
      const ext = response["sec-websocket-extensions"];
      resolve({ stream: opened, extensions: Array.isArray(ext) ? ext.join(", ") : ext });
    });
  });
}

/**
 * Problems in a client's Extended CONNECT (RFC 8441 §4–§5, and RFC 6455 §4.1 as it still
 * applies over HTTP/2).
 * @param {http2.IncomingHttpHeaders} headers
 * @returns {string[]}
 */
export function checkClientConnect(headers) {
  /** @type {string[]} */
  const problems = [];
  if (headers[":method"] !== "CONNECT")
    problems.push(`:method ${headers[":method"]}, expected CONNECT (RFC 8441 §4)`);
  if (headers[":protocol"] !== "websocket")
    problems.push(`:protocol ${headers[":protocol"]}, expected websocket (RFC 8441 §4)`);
  if (headers[":scheme"] !== "http" && headers[":scheme"] !== "https")
    problems.push("no :scheme http or https (RFC 8441 §4–§5)");
  if (typeof headers[":path"] !== "string" || !headers[":path"].startsWith("/"))
    problems.push("no :path (RFC 8441 §4)");
  if (headers[":authority"] === undefined) problems.push("no :authority (RFC 8441 §4, RFC 9113 §8.3.1)");
  if (headers["sec-websocket-version"] !== "13")
    problems.push("sec-websocket-version is not 13 (RFC 8441 §5, RFC 6455 §4.1 point 9)");
  return problems;
}

/**
 * An h2c server for client mode: advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and hands each
 * Extended CONNECT stream to `onStream` (other requests get 404, other CONNECTs 400).
 * @param {(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void} onStream
 */
export function createConnectServer(onStream) {
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    if (headers[":method"] !== "CONNECT") {
      stream.respond({ ":status": 404 });
      stream.end();
      return;
    }
    onStream(stream, headers);
  });
  return server;
}
