/**
 * WebSockets over HTTP/2 on the client (RFC 8441): one HTTP/2 connection per origin, shared by
 * every socket opened to it with the `http2` option, each socket one stream opened with an
 * Extended CONNECT (§4) once the server's SETTINGS carried SETTINGS_ENABLE_CONNECT_PROTOCOL
 * (§3). With `http2: "auto"`, a server that does not speak HTTP/2 or does not send the setting
 * gets the HTTP/1.1 handshake instead.
 *
 * Node docs relied on:
 * - `http2.connect()` (`tls.connect()` options for `https:`, prior knowledge for `http:`) and
 *   `ClientHttp2Session` (`'remoteSettings'`, `remoteSettings`, `request()`, `ref`/`unref`,
 *   `close`, `'close'`, `'goaway'`, `'error'`): https://nodejs.org/api/http2.html#http2connectauthority-options-listener
 * - `ClientHttp2Stream` `'response'`: https://nodejs.org/api/http2.html#event-response
 * - The `:protocol` pseudo-header and `enableConnectProtocol`:
 *   https://nodejs.org/api/http2.html#settings-object
 *
 * @module
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  connect as http2Connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { isIP } from "node:net";
import { checkExtendedConnectResponse, extendedConnectRequestHeaders } from "@ws/codec/handshake";
import { deflateEngine } from "@ws/deflate/node-zlib";
import {
  type ConnectRequest,
  DEFAULT_HANDSHAKE_TIMEOUT,
  deflateExtensions,
  HandshakeRejectedError,
  type Session,
  WebSocketError,
} from "@ws/session";
import type { ClientOptions } from "./client.ts";
import { attachStream } from "./http2-transport.ts";

/** The `http2` option of the client: `true` (HTTP/2 only), `"auto"` (HTTP/2, else 1.1), `false`. */
export type Http2Option = boolean | "auto";

/** A pooled connection closes after this many milliseconds without a WebSocket on it. */
export const HTTP2_IDLE_TIMEOUT = 5_000;

/** At most this much of a rejection's body is read (it is for error messages). */
const MAX_REJECTION_BODY = 64 * 1024;

/** An origin "auto" found without RFC 8441 is dialled over HTTP/1.1 for this long. */
const FALLBACK_MEMORY = 60_000;

interface PooledSession {
  readonly session: ClientHttp2Session;
  /** WebSockets open (or opening) on it. */
  streams: number;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/** Open or opening connections by pool key; `undefined` results mean "no RFC 8441 there". */
const pool = new Map<string, Promise<PooledSession | undefined>>();
/** Pool keys whose server did not offer RFC 8441, until when. */
const withoutH2 = new Map<string, number>();

/** Identities of TLS option objects, so that only sockets with the same ones share a connection. */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;
function objectId(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value !== "object" || value === null) return String(value);
  let id = objectIds.get(value);
  if (id === undefined) {
    id = ++nextObjectId;
    objectIds.set(value, id);
  }
  return `#${id}`;
}

/** One HTTP/2 connection serves sockets to the same origin with the same TLS settings. */
function poolKey(request: ConnectRequest, options: ClientOptions): string {
  const { url } = request;
  const origin = `${url.secure ? "https" : "http"}://${url.host}:${url.port}`;
  if (!url.secure) return origin;
  return [
    origin,
    options.servername ?? "",
    String(options.rejectUnauthorized ?? ""),
    objectId(options.ca),
    objectId(options.tls),
  ].join("|");
}

/** The error of a dial that fails with `reason`. */
function connectionFailed(reason: string, cause?: unknown): WebSocketError {
  return new WebSocketError("CONNECTION_FAILED", `Cannot open WebSocket connection over HTTP/2: ${reason}`, {
    cause,
  });
}

/**
 * Connects and waits for the server's first SETTINGS frame (RFC 9113 §3.4). Resolves
 * `undefined` when the server did not enable RFC 8441; rejects when the connection failed.
 */
function openSession(
  request: ConnectRequest,
  options: ClientOptions,
  forget: () => void,
): Promise<PooledSession | undefined> {
  const { url } = request;
  const host = isIP(url.hostname) === 6 ? `[${url.hostname}]` : url.hostname;
  const authority = `${url.secure ? "https" : "http"}://${host}:${url.port}`;
  const tls: SecureClientSessionOptions = url.secure
    ? {
        ...options.tls,
        servername: options.servername ?? (isIP(url.hostname) === 0 ? url.hostname : undefined),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        rejectUnauthorized: options.rejectUnauthorized ?? options.tls?.rejectUnauthorized ?? true,
      }
    : {};
  return new Promise((resolve, reject) => {
    const session = http2Connect(authority, tls);
    const entry: PooledSession = { session, streams: 0, idle: undefined };
    session.on("close", () => clearTimeout(entry.idle));
    const onEarlyError = (error: Error): void => {
      forget();
      reject(error);
    };
    const onEarlyClose = (): void => {
      forget();
      reject(connectionFailed("the connection closed before the server's SETTINGS"));
    };
    session.once("error", onEarlyError);
    session.once("close", onEarlyClose);
    session.once("remoteSettings", (settings) => {
      session.off("error", onEarlyError);
      session.off("close", onEarlyClose);
      // From now on the session is shared: an error or a GOAWAY takes it out of the pool (its
      // streams see their own errors), and a closed one is forgotten.
      session.on("error", forget);
      session.on("goaway", forget);
      session.on("close", forget);
      if (settings.enableConnectProtocol !== true) {
        session.close();
        resolve(undefined);
        return;
      }
      resolve(entry);
    });
  });
}

/** The pooled connection for `request`, opened if needed. */
function pooledSession(request: ConnectRequest, options: ClientOptions): Promise<PooledSession | undefined> {
  const key = poolKey(request, options);
  let opening = pool.get(key);
  if (opening === undefined) {
    const created = openSession(request, options, () => {
      if (pool.get(key) === created) pool.delete(key);
    });
    opening = created;
    pool.set(key, created);
    created.catch(() => {});
  }
  return opening;
}

/** A socket takes a place on the connection (which then keeps the process alive). */
function hold(entry: PooledSession): void {
  entry.streams++;
  clearTimeout(entry.idle);
  entry.idle = undefined;
  entry.session.ref();
}

/** A socket leaves the connection; an idle one is closed after {@link HTTP2_IDLE_TIMEOUT}. */
function release(entry: PooledSession): void {
  entry.streams--;
  if (entry.streams > 0 || entry.session.closed) return;
  entry.session.unref();
  entry.idle = setTimeout(() => entry.session.close(), HTTP2_IDLE_TIMEOUT);
  entry.idle.unref();
}

/** Reads a bounded prefix of a rejection's body. */
function readBody(stream: ClientHttp2Stream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      stream.off("data", onData);
      resolve(Buffer.concat(chunks).subarray(0, MAX_REJECTION_BODY).toString("utf8"));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_REJECTION_BODY) {
        stream.close(constants.NGHTTP2_CANCEL);
        done();
      }
    };
    stream.on("data", onData);
    stream.once("end", done);
    stream.once("close", done);
  });
}

/** The response's header fields in order (pseudo-header fields left out). */
function headerPairs(headers: IncomingHttpHeaders): [string, string][] {
  const pairs: [string, string][] = [];
  for (const name of Object.keys(headers)) {
    if (name.startsWith(":")) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) pairs.push([name, item]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}

/**
 * Opens a WebSocket on a pooled HTTP/2 connection: the Extended CONNECT (RFC 8441 §4–5), then
 * a session over the stream (not started). Resolves `undefined` when `auto` and the origin has
 * no RFC 8441 (the caller then uses HTTP/1.1). Rejects as the HTTP/1.1 dial does:
 * `HandshakeRejectedError` (a status other than 2xx), the codec's `HandshakeError` (a response
 * with a subprotocol or extension not offered), `WebSocketError` (`HANDSHAKE_TIMEOUT`,
 * `CONNECTION_FAILED`), the signal's reason, or Node's error.
 */
export async function dialHttp2(
  request: ConnectRequest,
  options: ClientOptions,
  auto: boolean,
): Promise<Session | undefined> {
  const key = poolKey(request, options);
  if (auto) {
    const until = withoutH2.get(key);
    if (until !== undefined && until > Date.now()) return undefined;
    withoutH2.delete(key);
  }
  const extensions = deflateExtensions(options.perMessageDeflate, true, deflateEngine);
  const fields = extendedConnectRequestHeaders({
    url: request.url,
    protocols: request.protocols,
    extensions,
    origin: options.origin,
    headers: options.headers,
  });
  const { signal } = request;
  let stream: ClientHttp2Stream | undefined;
  let entry: PooledSession | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const failure = new Promise<never>((_, reject) => {
    const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (timeout > 0) {
      timer = setTimeout(
        () =>
          reject(
            new WebSocketError(
              "HANDSHAKE_TIMEOUT",
              `Cannot open WebSocket connection: no handshake within ${timeout} ms`,
            ),
          ),
        timeout,
      );
    }
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  failure.catch(() => {});
  try {
    if (signal.aborted) throw signal.reason;
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of fields) {
      const previous = headers[name];
      headers[name] =
        previous === undefined
          ? value
          : Array.isArray(previous)
            ? [...previous, value]
            : [String(previous), value];
    }
    let exchange: { opened: ClientHttp2Stream; response: IncomingHttpHeaders } | undefined;
    // RFC 9113 §8.7: a stream the server refused (RST_STREAM with REFUSED_STREAM, or one beyond
    // the last stream of its GOAWAY, which nghttp2 closes with that code) was not processed, so
    // the Extended CONNECT may be sent again: once, on the pooled connection or, when that one
    // is going away, on a new one.
    for (let attempt = 0; exchange === undefined; attempt++) {
      let pooled: PooledSession | undefined;
      try {
        pooled = await Promise.race([pooledSession(request, options), failure]);
        // A pooled connection that is closing (a GOAWAY not processed yet, an idle close) takes
        // no new stream: open a fresh one.
        if (pooled !== undefined && (pooled.session.closed || pooled.session.destroyed)) {
          if (pool.get(key) !== undefined) pool.delete(key);
          pooled = await Promise.race([pooledSession(request, options), failure]);
        }
      } catch (error) {
        // "auto": a server that does not speak HTTP/2 at all (no h2 in ALPN, or an HTTP/1.1
        // server sent the connection preface) ends the connection before any SETTINGS.
        if (
          auto &&
          !(error instanceof WebSocketError && error.code === "HANDSHAKE_TIMEOUT") &&
          !signal.aborted
        ) {
          withoutH2.set(key, Date.now() + FALLBACK_MEMORY);
          return undefined;
        }
        throw error;
      }
      if (pooled === undefined) {
        if (auto) {
          withoutH2.set(key, Date.now() + FALLBACK_MEMORY);
          return undefined;
        }
        throw connectionFailed("the server does not enable the Extended CONNECT protocol (RFC 8441)");
      }
      entry = pooled;
      hold(entry);
      const current = entry.session.request(headers, { endStream: false });
      stream = current;
      const taken = entry;
      current.once("close", () => release(taken));
      const retry = attempt === 0;
      const response = await Promise.race([
        new Promise<IncomingHttpHeaders | undefined>((resolve, reject) => {
          const ended = (error: Error): void => {
            if (retry && current.rstCode === constants.NGHTTP2_REFUSED_STREAM) resolve(undefined);
            else reject(error);
          };
          current.once("response", resolve);
          current.once("error", ended);
          current.once("close", () =>
            ended(connectionFailed(`the stream closed before the response (code ${current.rstCode})`)),
          );
        }),
        failure,
      ]);
      if (response !== undefined) exchange = { opened: current, response };
    }
    const { opened, response } = exchange;
    const status = Number(response[":status"]);
    if (!(status >= 200 && status <= 299)) {
      const body = await Promise.race([readBody(opened), failure]);
      opened.close(constants.NGHTTP2_CANCEL);
      throw new HandshakeRejectedError(status, "", headerPairs(response), body);
    }
    const confirmed = checkExtendedConnectResponse(
      { status, headers: headerPairs(response) },
      { protocols: request.protocols, extensions },
    );
    if (signal.aborted) throw signal.reason;
    return attachStream(opened, {
      ...request.session,
      role: "client",
      protocol: confirmed.protocol,
      extensions: confirmed.extensions,
      extensionsHeader: confirmed.extensionsHeader,
    });
  } catch (error) {
    if (stream !== undefined && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}
