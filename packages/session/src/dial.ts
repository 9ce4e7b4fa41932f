/**
 * The runtime-neutral part of opening a client connection, shared by `@ws/node`, `@ws/deno`
 * and `@ws/bun`: the opening handshake over any byte stream (RFC 6455 §4.1) — build the
 * request, read the response head with the codec's `HttpHeadParser`, check it — plus the
 * redirect policy, the handshake timeout, the `AbortSignal`, and typed rejections.
 *
 * An adapter supplies an {@link Opener} (connect TCP / TLS, return a {@link DialConnection});
 * {@link dial} does the rest and returns the session, not started.
 *
 * @module
 */

import { DEFAULT_LIMITS } from "@ws/codec";
import {
  buildUpgradeRequest,
  checkUpgradeResponse,
  generateKey,
  type HeadersInput,
  type HttpHeadLimits,
  HttpHeadParser,
  type HttpResponseHead,
  headerEntries,
  parseWebSocketUrl,
  type WebSocketUrl,
} from "@ws/codec/handshake";
import { type DeflateEngineSource, deflateExtensions, type PerMessageDeflateOption } from "./deflate.ts";
import { HandshakeRejectedError, WebSocketError } from "./errors.ts";
import { handled, rejected } from "./handled.ts";
import { CLIENT_OPTIONS, checkOptions, SESSION_OPTIONS } from "./options.ts";
import type { Session, SessionOptions } from "./session.ts";
import type { ConnectRequest } from "./websocket.ts";

/** Default handshake timeout in milliseconds (see {@link DialOptions.handshakeTimeout}). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

/** Default redirect bound (see {@link DialOptions.maxRedirects}). */
export const DEFAULT_MAX_REDIRECTS = 10;

/** At most this much of a rejection's body is read (it is for error messages). */
export const MAX_REJECTION_BODY: number = 64 * 1024;

/**
 * At most this long (ms) is spent reading a rejection's body: a server that answers `200 OK`
 * (or anything but 101) and then keeps the connection open without ending the body must not
 * hold the dial until the handshake timeout. What arrived by then is the body.
 */
export const REJECTION_BODY_TIMEOUT: number = 1000;

/**
 * WHATWG WebSockets §3.1 hands the request to Fetch, which sends the URL's `user:password` as
 * `Authorization: Basic` (RFC 7617 §2, UTF-8). Headers the application gave win.
 */
function withUrlCredentials(url: WebSocketUrl, headers: HeadersInput | undefined): HeadersInput | undefined {
  const { username, password } = new URL(url.href);
  if (username === "" && password === "") return headers;
  const entries = headers === undefined ? [] : headerEntries(headers);
  if (entries.some(([name]) => name.toLowerCase() === "authorization")) return headers;
  const bytes = new TextEncoder().encode(`${decodeURIComponent(username)}:${decodeURIComponent(password)}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return [...entries, ["Authorization", `Basic ${btoa(binary)}`]];
}

/** The client options every adapter shares (same names and defaults on every runtime). */
export interface DialOptions {
  /** Extra request headers (cookies, authorization); handshake fields cannot be overridden. */
  readonly headers?: HeadersInput | undefined;
  /** The `Origin` header to send. */
  readonly origin?: string | undefined;
  /** Milliseconds for connecting and the whole opening handshake; 0 for none. Default 30000. */
  readonly handshakeTimeout?: number | undefined;
  /** Follow 301/302/303/307/308 redirects. Default false (as browsers fail on them). */
  readonly followRedirects?: boolean | undefined;
  /** Most redirects followed. Default 10. */
  readonly maxRedirects?: number | undefined;
  /**
   * permessage-deflate (RFC 7692): offer to compress messages. Default true, as browsers and
   * `ws` do: the offer is `permessage-deflate; client_max_window_bits`, and the server decides.
   * `false` offers nothing; {@link DeflateOptions} tunes the offer and the compression (see
   * there). Compressed messages cost CPU and, with context takeover, about 300 KiB of zlib memory
   * per connection; `maxMessageSize` bounds what a message may inflate to.
   */
  readonly perMessageDeflate?: PerMessageDeflateOption | undefined;
  /**
   * Called with the head of a 101 Switching Protocols response as soon as it is read, before it
   * is checked (RFC 6455 §4.1): to read the server's extra header fields (`Set-Cookie` …). An
   * exception thrown here fails the connection with it. (`ws`'s `'upgrade'` event.)
   */
  readonly onUpgrade?: ((response: HttpResponseHead) => void) | undefined;
  /**
   * Called with the URL a redirect leads to, before it is followed (with `followRedirects`). An
   * exception thrown here fails the connection with it. (`ws`'s `'redirect'` event.)
   */
  readonly onRedirect?: ((url: URL) => void) | undefined;
}

/** A connected byte stream during the opening handshake, before a session takes it over. */
export interface DialConnection {
  /** Writes bytes (the request); may resolve once written. */
  write(bytes: Uint8Array): void | Promise<void>;
  /** The next chunk received (owned by the caller), or `null` once the peer has ended. */
  read(): Promise<Uint8Array | null>;
  /** Closes the connection at once. */
  destroy(): void;
  /** Hands the connection to a new session; `rest` holds bytes received after the 101 head. */
  attach(rest: Uint8Array, options: SessionOptions): Session;
}

/**
 * Connects to `url` (TCP, and TLS for `wss:`). Should stop and reject when `signal` aborts
 * (a connection that still resolves afterwards is destroyed).
 */
export type Opener = (url: WebSocketUrl, signal: AbortSignal) => Promise<DialConnection>;

const ascii = new TextEncoder();

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/**
 * Reads one HTTP response head from `connection`; `rest` holds the bytes that followed it.
 *
 * @throws {WebSocketError} `CONNECTION_FAILED` when the peer ends before the head is complete.
 * @throws {HandshakeError} when the head is malformed or too large.
 */
export async function readResponseHead(
  connection: DialConnection,
  limits: HttpHeadLimits = DEFAULT_LIMITS,
): Promise<{ head: HttpResponseHead; rest: Uint8Array }> {
  const parser = new HttpHeadParser("response", limits);
  for (;;) {
    const chunk = await connection.read();
    if (chunk === null) {
      throw new WebSocketError(
        "CONNECTION_FAILED",
        "Cannot open WebSocket connection: the server closed the connection",
      );
    }
    const head = parser.push(chunk);
    if (head !== undefined) return { head, rest: parser.rest };
  }
}

/**
 * Reads (a bounded prefix of) the body of a rejection (RFC 9112 §6.3): none for 1xx, 204 and
 * 304; `Transfer-Encoding: chunked` decoded; else `Content-Length` bytes, or until the end.
 * Bounded in size ({@link MAX_REJECTION_BODY}) and time ({@link REJECTION_BODY_TIMEOUT}).
 */
async function readBody(
  connection: DialConnection,
  head: HttpResponseHead,
  rest: Uint8Array,
): Promise<string> {
  if (head.status < 200 || head.status === 204 || head.status === 304) return "";
  const chunked = /(?:^|,)\s*chunked\s*$/i.test(head.headerMap.get("transfer-encoding") ?? "");
  const declared = chunked ? Number.NaN : Number(head.headerMap.get("content-length") ?? Number.NaN);
  const limit = Number.isFinite(declared) ? Math.min(declared, MAX_REJECTION_BODY) : MAX_REJECTION_BODY;
  // Chunked framing adds a few bytes per chunk: read some more raw bytes than the body limit.
  const rawLimit = chunked ? limit + 8 * 1024 : limit;
  let raw = rest;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), REJECTION_BODY_TIMEOUT);
  });
  try {
    while (raw.length < rawLimit && !(chunked && decodeChunked(raw).complete)) {
      let chunk: Uint8Array | null;
      try {
        chunk = await Promise.race([connection.read(), deadline]);
      } catch {
        break;
      }
      if (chunk === null) break;
      const joined = new Uint8Array(raw.length + chunk.length);
      joined.set(raw);
      joined.set(chunk, raw.length);
      raw = joined;
    }
  } finally {
    clearTimeout(timer);
  }
  const body = chunked ? decodeChunked(raw).body : raw;
  return new TextDecoder().decode(body.subarray(0, limit));
}

/**
 * Decodes as much of a chunked body (RFC 9112 §7.1) as `raw` holds: chunk-size in hex (chunk
 * extensions after `;` ignored), CRLF, data, CRLF, … up to the last chunk of size 0 (trailers
 * are not read). `complete` once the last chunk is seen.
 */
export function decodeChunked(raw: Uint8Array): { body: Uint8Array; complete: boolean } {
  const parts: Uint8Array[] = [];
  let size = 0;
  let at = 0;
  let complete = false;
  for (;;) {
    let lineEnd = -1;
    for (let i = at; i + 1 < raw.length; i++) {
      if (raw[i] === 0x0d && raw[i + 1] === 0x0a) {
        lineEnd = i;
        break;
      }
    }
    if (lineEnd === -1) break;
    const line =
      String.fromCharCode(...raw.subarray(at, lineEnd))
        .split(";")[0]
        ?.trim() ?? "";
    if (!/^[0-9a-f]+$/i.test(line)) break;
    const length = Number.parseInt(line, 16);
    if (length === 0) {
      complete = true;
      break;
    }
    const start = lineEnd + 2;
    const end = Math.min(start + length, raw.length);
    parts.push(raw.subarray(start, end));
    size += end - start;
    if (start + length + 2 > raw.length) break; // the rest of this chunk has not arrived
    at = start + length + 2;
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.length;
  }
  return { body, complete };
}

/**
 * Where a redirect leads, or `undefined` when its `Location` is missing or not a URL we can
 * connect to (a ws:, wss:, http: or https: URL, relative ones resolved against `from`). The
 * server's bytes must not make `dial` reject with a bare `TypeError`: a redirect that cannot be
 * followed is reported like any other non-101 answer, as a `HandshakeRejectedError`.
 */
function redirectTarget(location: string | undefined, from: WebSocketUrl): WebSocketUrl | undefined {
  if (location === undefined) return undefined;
  try {
    return parseWebSocketUrl(new URL(location, from.href.replace(/^ws/, "http")).href);
  } catch {
    return undefined;
  }
}

/** Drops credentials when a redirect leaves the origin (as fetch does, WHATWG Fetch §4.4). */
function headersForRedirect(
  headers: HeadersInput | undefined,
  from: WebSocketUrl,
  to: WebSocketUrl,
): HeadersInput | undefined {
  if (headers === undefined || (from.host === to.host && from.secure === to.secure)) return headers;
  return headerEntries(headers).filter(([name]) => {
    const lower = name.toLowerCase();
    return lower !== "authorization" && lower !== "cookie";
  });
}

/**
 * Opens a client connection: connects with `open`, runs the opening handshake (RFC 6455
 * §4.1), follows redirects when asked, and resolves with the session (not started). Rejects
 * with `HandshakeRejectedError` (a non-101 answer, with status, headers and body), the codec's
 * `HandshakeError` (an invalid 101), `WebSocketError` (`HANDSHAKE_TIMEOUT`,
 * `TOO_MANY_REDIRECTS`, `CONNECTION_FAILED`), the signal's reason, or the runtime's error.
 *
 * `deflateEngine` supplies the adapter's engine for `options.perMessageDeflate` (on by
 * default); without it no compression is offered unless the option asks for it (then it throws).
 */
export async function dial(
  request: ConnectRequest,
  options: DialOptions,
  open: Opener,
  deflateEngine?: DeflateEngineSource,
): Promise<Session> {
  const extensions = deflateExtensions(options.perMessageDeflate, deflateEngine !== undefined, deflateEngine);
  const stop = new AbortController();
  let current: DialConnection | undefined;
  let rejectFailed!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => {});
  const fail = (error: unknown): void => {
    if (stop.signal.aborted) return;
    stop.abort(error);
    rejectFailed(error);
    current?.destroy();
  };
  /** Waits for `step` unless the dial fails first. */
  const race = <T>(step: Promise<T> | T): Promise<T> => Promise.race([step, failed]);
  const { signal } = request;
  const onAbort = (): void => fail(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const timer =
    timeout > 0
      ? setTimeout(
          () =>
            fail(
              new WebSocketError(
                "HANDSHAKE_TIMEOUT",
                `Cannot open WebSocket connection: no handshake within ${timeout} ms`,
              ),
            ),
          timeout,
        )
      : undefined;
  try {
    if (signal.aborted) throw signal.reason;
    let url = request.url;
    let headers = options.headers;
    const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    for (let redirects = 0; ; redirects++) {
      const opening = open(url, stop.signal);
      // A connection that opens after the dial failed is closed at once.
      opening.then(
        (connection) => {
          if (stop.signal.aborted) connection.destroy();
        },
        () => {},
      );
      const connection = await race(opening);
      current = connection;
      const key = generateKey();
      const upgrade = buildUpgradeRequest({
        url,
        key,
        protocols: request.protocols,
        headers: withUrlCredentials(url, headers),
        origin: options.origin,
        extensions,
      });
      await race(connection.write(ascii.encode(upgrade)));
      const { head, rest } = await race(readResponseHead(connection, request.session.limits));
      if (head.status === 101) {
        options.onUpgrade?.(head);
        if (stop.signal.aborted) throw stop.signal.reason;
        const confirmed = checkUpgradeResponse(head, { key, protocols: request.protocols, extensions });
        if (stop.signal.aborted) throw stop.signal.reason;
        return connection.attach(rest, {
          ...request.session,
          role: "client",
          protocol: confirmed.protocol,
          extensions: confirmed.extensions,
          extensionsHeader: confirmed.extensionsHeader,
        });
      }
      const next =
        options.followRedirects === true && isRedirect(head.status)
          ? redirectTarget(head.headerMap.get("location"), url)
          : undefined;
      if (next !== undefined) {
        connection.destroy();
        if (redirects >= maxRedirects) {
          throw new WebSocketError(
            "TOO_MANY_REDIRECTS",
            `Cannot open WebSocket connection: more than ${maxRedirects} redirects`,
          );
        }
        headers = headersForRedirect(headers, url, next);
        url = next;
        options.onRedirect?.(new URL(url.href));
        if (stop.signal.aborted) throw stop.signal.reason;
        continue;
      }
      const body = await race(readBody(connection, head, rest));
      connection.destroy();
      throw new HandshakeRejectedError(head.status, head.statusText, head.headers, body);
    }
  } catch (error) {
    current?.destroy();
    throw stop.signal.aborted ? stop.signal.reason : error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * A pull reader over a push source (a runtime's `data` callback): `push` queues chunks and
 * wakes `read()`; `end` / `error` finish it. `onWait(waiting)` tells the source when a reader
 * is waiting, to resume or pause the runtime's socket.
 */
export class ChunkQueue {
  #chunks: Uint8Array[] = [];
  #waiter: { resolve: (chunk: Uint8Array | null) => void; reject: (error: unknown) => void } | undefined;
  #ended = false;
  #error: unknown;
  readonly #onWait: ((waiting: boolean) => void) | undefined;

  constructor(onWait?: (waiting: boolean) => void) {
    this.#onWait = onWait;
  }

  /** The source delivered a chunk. */
  push(chunk: Uint8Array): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#onWait?.(false);
      waiter.resolve(chunk);
    } else this.#chunks.push(chunk);
  }

  /** The source ended. */
  end(): void {
    this.#ended = true;
    this.#settle();
  }

  /** The source failed. */
  error(error: unknown): void {
    this.#error ??= error;
    this.#settle();
  }

  /** The next chunk, `null` after the end; rejects after an error. */
  read(): Promise<Uint8Array | null> {
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#onWait?.(true);
    });
  }

  /** How many chunks wait unread. */
  get queued(): number {
    return this.#chunks.length;
  }

  /** Takes the chunks queued and not read (to hand them to a session). */
  drain(): Uint8Array[] {
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks;
  }

  #settle(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    if (this.#error !== undefined) waiter.reject(this.#error);
    else waiter.resolve(null);
  }
}

/**
 * Option names that only say how to dial (the handshake and the transport: TLS, proxy), as
 * opposed to the shared `WebSocket` options. Kept in one list so that every adapter's client
 * constructor splits its arguments the same way.
 */
const DIAL_ONLY_OPTIONS: readonly string[] = [
  "headers",
  "origin",
  "handshakeTimeout",
  "followRedirects",
  "maxRedirects",
  "onUpgrade",
  "onRedirect",
  "perMessageDeflate",
  "proxy",
  "ca",
  "rejectUnauthorized",
  "servername",
  "tls",
  "http2",
];

/**
 * Splits a client constructor's `(url, protocols | options, options)` arguments (the WHATWG
 * form, plus an options-only form) into the subprotocols, the adapter's own options and the
 * options for the shared `WebSocket` (without the dial-only ones).
 */
export function splitClientArguments<O extends object>(
  protocols: string | readonly string[] | O | undefined,
  options: O | undefined,
): { protocols: string | readonly string[] | undefined; options: O; shared: Record<string, unknown> } {
  // An object that is not iterable cannot be a WebIDL sequence of protocols: it is ws-style
  // options. `null` is the protocol "null" (WebIDL converts it to a string).
  const optionsOnly = typeof protocols === "object" && protocols !== null && !(Symbol.iterator in protocols);
  const extra: unknown = optionsOnly ? protocols : options;
  // WebIDL ignores arguments past the ones declared: a third argument that is not an options
  // object (`new WebSocket(url, "chat", "stray")`) is ignored, as a browser does.
  const init = (typeof extra === "object" && extra !== null ? extra : {}) as O;
  checkOptions("Cannot create WebSocket", init, [CLIENT_OPTIONS, SESSION_OPTIONS]);
  const shared = { ...init } as Record<string, unknown>;
  for (const name of DIAL_ONLY_OPTIONS) delete shared[name];
  return {
    protocols: optionsOnly ? undefined : (protocols as string | readonly string[] | undefined),
    options: init,
    shared,
  };
}

/**
 * What every adapter's `connect(url, options)` returns: the socket `create` makes, once it is
 * open. A constructor that throws (a bad URL or option) gives a rejected promise, not a throw.
 * Marked handled: an unawaited `connect()` that fails does not end the process.
 */
export function connectWhenOpen<W extends { readonly opened: Promise<unknown> }>(
  create: () => W,
): Promise<W> {
  let ws: W;
  try {
    ws = create();
  } catch (error) {
    return rejected(error);
  }
  return handled(ws.opened.then(() => ws));
}
