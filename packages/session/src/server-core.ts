/**
 * The runtime-neutral part of a WebSocket server, shared by `@ws/node`, `@ws/deno` and
 * `@ws/bun`: checking the opening handshake (RFC 6455 §4.2) with `@ws/codec`, the `verify`
 * hook, subprotocol selection, the 101 or rejection response as data, the server's limits on
 * handshakes and connections, path matching, client tracking and graceful shutdown (close 1001
 * for all, wait with a deadline, then terminate).
 *
 * An adapter hands each new connection to {@link ServerCore.accept} (a raw byte stream: Deno,
 * Bun, Node's own `port` server) or {@link ServerCore.acceptRequest} (a request its HTTP server
 * already parsed: Node's `'upgrade'`, an HTTP/2 stream); `accept.ts` runs the rest. {@link ServerCore.handshake} alone is the
 * decision, for adapters that answer in their own way.
 *
 * @module
 */

import { CloseCode, ErrorCode, HandshakeError } from "@ws/codec";
import type { ExtensionFactory } from "@ws/codec/extensions";
import {
  type AcceptedUpgrade,
  acceptResponseHeaders,
  buildAcceptResponse,
  buildRejectResponse,
  type CheckUpgradeRequestOptions,
  checkUpgradeRequest,
  type HeadersInput,
  type HttpRequestHead,
  type ProtocolSelector,
  rejectResponseParts,
  type UpgradeRequest,
} from "@ws/codec/handshake";
import {
  type AcceptConnection,
  type Admission,
  acceptConnection,
  acceptRequest,
  admit,
  type Deliver,
  PendingHandshakes,
  type PlainRequests,
  published,
} from "./accept.ts";
import { type DeflateEngineSource, deflateExtensions, type PerMessageDeflateOption } from "./deflate.ts";
import { channels, type HandshakeRejectionCode } from "./diagnostics.ts";
import { DEFAULT_MEMORY_BUDGET, MemoryBudget } from "./memory-budget.ts";
import { Meter, now, type ServerStats } from "./meter.ts";
import { checkOptions, SERVER_OPTIONS, SESSION_OPTIONS } from "./options.ts";
import type { Broker } from "./pubsub/broker.ts";
import type { PreparedDeflate } from "./pubsub/prepared-message.ts";
import { PubSub } from "./pubsub/pubsub.ts";
import type { Session, SessionOptions } from "./session.ts";
import { DEFAULT_CLOSE_TIMEOUT } from "./session.ts";
import type { BinaryType, SessionSettings, WebSocket, WebSocketInit } from "./websocket.ts";

/** Request headers as a record of lower-case names (Node's `IncomingHttpHeaders` shape). */
export type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What the `verify` hook learns about an upgrade request. */
export interface UpgradeInfo<Request = unknown, Headers = IncomingHeaders> {
  /** The runtime's request (Node: `IncomingMessage`; Deno and Bun: the parsed HTTP head). */
  readonly request: Request;
  /** The request URL, resolved against the `Host` header. */
  readonly url: URL;
  /** The request's headers (lower-case names). */
  readonly headers: Headers;
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The `Origin` header, if any (browsers always send it; check it against CSRF-style attacks). */
  readonly origin: string | undefined;
  /** The subprotocols the client offered, in its order. */
  readonly offeredProtocols: readonly string[];
  /** The subprotocol selected by the `protocols` option, if any. */
  readonly protocol: string | undefined;
}

/** Accept the upgrade, optionally with extra 101 headers or another subprotocol (one offered). */
export interface AcceptVerdict {
  readonly headers?: HeadersInput | undefined;
  readonly protocol?: string | undefined;
}

/** Reject the upgrade with this HTTP response. */
export interface RejectVerdict {
  readonly status: number;
  readonly headers?: HeadersInput | undefined;
  readonly body?: string | undefined;
}

/**
 * What `verify` returns: nothing or `true` to accept, an {@link AcceptVerdict} to accept with
 * extra headers or another subprotocol, `false` to reject with 403, or a {@link RejectVerdict}.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing accepts the upgrade.
export type UpgradeVerdict = undefined | void | boolean | AcceptVerdict | RejectVerdict;

/**
 * The server options every adapter shares (same names and defaults on every runtime). `B` is
 * the type of `binaryType`, which types the accepted sockets' `message` events.
 */
export interface ServerCoreOptions<Info = UpgradeInfo, B extends BinaryType = BinaryType>
  extends SessionSettings {
  /** Handle upgrades for this path only (other paths are left to other servers). */
  readonly path?: string | undefined;
  /** Subprotocols supported, most preferred first, or a function choosing among the offers. */
  readonly protocols?: ProtocolSelector | undefined;
  /** Accept or reject each upgrade (origin check, authentication …), sync or async. */
  readonly verify?: ((info: Info) => UpgradeVerdict | Promise<UpgradeVerdict>) | undefined;
  /** `binaryType` of accepted sockets. Default `"uint8array"`. */
  readonly binaryType?: B | undefined;
  /** Keep the open sockets in `clients`. Default true. */
  readonly clientTracking?: boolean | undefined;
  /**
   * permessage-deflate (RFC 7692): accept clients' offers to compress messages. Default false,
   * as in `ws`: with context takeover a connection holds about 300 KiB of zlib memory for its
   * lifetime (see the codec README). `true` accepts any valid offer as the client asks;
   * {@link DeflateOptions} sets the threshold, level, memLevel and the four parameters
   * (`serverNoContextTakeover` and `clientNoContextTakeover` let idle connections hold no zlib
   * memory). What a message inflates to counts against `limits.maxMessageSize` (1009 beyond).
   */
  readonly perMessageDeflate?: PerMessageDeflateOption | undefined;
  /**
   * Milliseconds a new connection has to complete its opening handshake (request head read,
   * `verify` run, 101 written); it is closed when the time is up. 0 for none. Default 10000.
   * On Node this covers the head read only on a server the `WebSocketServer` creates (`port`);
   * an attached `node:http` server reads heads under its own `headersTimeout`.
   */
  readonly handshakeTimeout?: number | undefined;
  /**
   * Most handshakes in progress at once; when a new connection arrives with all of them taken,
   * the oldest one is closed (unanswered) to make room, so a flood of stalled handshakes
   * (slowloris) cannot lock fresh clients out. Default 1024.
   */
  readonly maxPendingHandshakes?: number | undefined;
  /**
   * Most open WebSocket connections; an upgrade beyond it is answered 503 (Service Unavailable).
   * Default: no limit (the process's file descriptor limit is the bound).
   */
  readonly maxConnections?: number | undefined;
  /**
   * Most bytes all connections together may buffer, in both directions: sent and not yet
   * flushed, received and not yet handed over (undecoded bytes, a message until it is whole,
   * what it inflates to, messages a consumer has not read). Over 3/4 of it, connections that
   * receive data stop reading from their peers until the total is under 1/2 (when the total
   * stops falling for a second, the connection holding the most is dropped); over it, the
   * connections holding the most are dropped (a 1008 close frame when their socket can take it,
   * error `MEMORY_BUDGET`) until the total is within it; an inflating message that would go
   * past it fails with 1009. Default 256 MiB; `Infinity` for none. See `memory-budget.ts`.
   */
  readonly memoryBudget?: number | undefined;
  /**
   * The pub/sub backplane to other servers and processes (`@ws/redis`'s `RedisBroker`, or an
   * {@link InProcessBroker} shared by servers of this process). Default: an in-process broker
   * of this server's own.
   */
  readonly broker?: Broker | undefined;
}

/** Default server-side handshake timeout in milliseconds ({@link ServerCoreOptions.handshakeTimeout}). */
export const DEFAULT_SERVER_HANDSHAKE_TIMEOUT = 10_000;

/** Default cap on handshakes in progress ({@link ServerCoreOptions.maxPendingHandshakes}). */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 1024;

/** An upgrade request as an adapter sees it. */
export interface HandshakeRequest<Request, Headers extends IncomingHeaders = IncomingHeaders> {
  /** The runtime's request object, passed through to `verify` and `'connection'`. */
  readonly request: Request;
  /** The method, e.g. `GET`. */
  readonly method: string;
  /** `major.minor`, e.g. `1.1`. */
  readonly httpVersion: string;
  /** The request target as sent, e.g. `/chat?room=1`. */
  readonly target: string;
  /** The headers, lower-case names. */
  readonly headers: Headers;
  /** Whether the connection is TLS (the URL gets `wss:`). */
  readonly secure: boolean;
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /**
   * How many header fields the request had, each repeated field counted (Node's
   * `rawHeaders.length / 2`), checked against `limits.maxHeaderCount`; default: the names in
   * `headers`, pseudo-header fields left out.
   */
  readonly headerCount?: number | undefined;
  /**
   * How the request is checked; default the RFC 6455 §4.2.1 upgrade (`checkUpgradeRequest`).
   * An HTTP/2 adapter passes its RFC 8441 §4–5 check of an Extended CONNECT (no key: it
   * returns an empty `accept`).
   */
  readonly check?:
    | ((request: UpgradeRequest, options: CheckUpgradeRequestOptions) => AcceptedUpgrade)
    | undefined;
}

/**
 * An accepted handshake, as data: what was agreed and the 101 response's header fields. An
 * HTTP/1.1 adapter writes {@link HandshakeAccepted.response}; an HTTP/2 one answers the stream
 * with `:status 200` and the `protocol`, `extensionsHeader` and `extraHeaders` (RFC 8441 §5).
 */
export class HandshakeAccepted {
  readonly accepted = true as const;
  /** 101 Switching Protocols (HTTP/1.1). */
  readonly status = 101 as const;
  /** The request URL (`ws:`/`wss:`). */
  readonly url: URL;
  /** Options for the server-side session. */
  readonly session: SessionOptions;
  /** The selected subprotocol (`Sec-WebSocket-Protocol`), if any. */
  readonly protocol: string | undefined;
  /** The negotiated extensions (`Sec-WebSocket-Extensions`), if any. */
  readonly extensionsHeader: string | undefined;
  /** Header fields the `verify` hook added. */
  readonly extraHeaders: HeadersInput | undefined;
  /** The `Sec-WebSocket-Accept` value (empty for an HTTP/2 request, which has no key). */
  readonly accept: string;
  #headers: readonly (readonly [string, string])[] | undefined;

  constructor(
    accepted: AcceptedUpgrade,
    protocol: string | undefined,
    extra: HeadersInput | undefined,
    url: URL,
    session: SessionOptions,
  ) {
    this.url = url;
    this.session = session;
    this.protocol = protocol;
    this.extensionsHeader = accepted.extensionsHeader;
    this.extraHeaders = extra;
    this.accept = accepted.accept;
    // With extra fields, built (and checked: a reserved name throws) while `verify`'s errors
    // still become a 500; without, on first use (an HTTP/1.1 adapter writes `response` only).
    if (extra !== undefined) this.#headers = this.headers;
  }

  /** The 101 response's header fields, in order (HTTP/1.1). */
  get headers(): readonly (readonly [string, string])[] {
    this.#headers ??= acceptResponseHeaders({
      accept: this.accept,
      protocol: this.protocol,
      extensionsHeader: this.extensionsHeader,
      headers: this.extraHeaders,
    });
    return this.#headers;
  }

  /** The 101 response head to write (HTTP/1.1, ASCII). */
  get response(): string {
    return buildAcceptResponse({
      accept: this.accept,
      protocol: this.protocol,
      extensionsHeader: this.extensionsHeader,
      headers: this.extraHeaders,
    });
  }
}

/** A rejected handshake, as data: the response to send before closing. */
export class HandshakeRejected {
  readonly accepted = false as const;
  /** The HTTP status (400, 403, 426, 431, 500, 503 …). */
  readonly status: number;
  /** The status line's reason phrase. */
  readonly statusText: string;
  /** The response's header fields, `Content-Length` and `Connection: close` included. */
  readonly headers: readonly (readonly [string, string])[];
  /** The response body (text). */
  readonly body: string;
  /** Why, stable across releases (published on `ws:handshake:rejected`). */
  readonly code: HandshakeRejectionCode;
  readonly #rejection: HandshakeError | RejectVerdict;

  /**
   * @param code the stable reason; default the `HandshakeError`'s code, else `VERIFY_REJECTED`
   * (a verdict of the `verify` hook).
   */
  constructor(rejection: HandshakeError | RejectVerdict, code?: HandshakeRejectionCode) {
    const parts = rejectResponseParts(rejection);
    this.code =
      code ??
      (rejection instanceof HandshakeError ? (rejection.code as HandshakeRejectionCode) : "VERIFY_REJECTED");
    this.status = parts.status;
    this.statusText = parts.statusText;
    this.headers = parts.headers;
    this.body = parts.body;
    this.#rejection = rejection;
  }

  /** The whole HTTP/1.1 response (head and body) to write, then close. */
  get response(): string {
    return buildRejectResponse(this.#rejection);
  }
}

/** The outcome of {@link ServerCore.handshake}. */
export type HandshakeOutcome = HandshakeAccepted | HandshakeRejected;

function isReject(verdict: UpgradeVerdict): verdict is RejectVerdict {
  return typeof verdict === "object" && verdict !== null && "status" in verdict;
}

/** The rejection response for `verdict` (`code`: see {@link HandshakeRejected}). */
export function rejection(
  verdict: HandshakeError | RejectVerdict,
  code?: HandshakeRejectionCode,
): HandshakeRejected {
  return new HandshakeRejected(verdict, code);
}

const SHUTTING_DOWN: RejectVerdict = { status: 503, body: "Server is shutting down" };
/** The answer to a request for a path no WebSocket server handles. */
export const NO_ENDPOINT: RejectVerdict = { status: 400, body: "No WebSocket endpoint at this path" };
/** The answer to a plain HTTP request (no `Upgrade`) on a WebSocket-only server (RFC 9110 §15.5.22). */
export const UPGRADE_REQUIRED: RejectVerdict = {
  status: 426,
  headers: { Upgrade: "websocket" },
  body: "Upgrade Required",
};
const TOO_MANY_CONNECTIONS: RejectVerdict = { status: 503, body: "Too many connections" };
/**
 * The answer to an HTTP/1.1 request without `Host` (RFC 9112 §3.2); the codec's check gives
 * the same for an upgrade (RFC 6455 §4.2.1 item 2).
 */
export const MISSING_HOST: HandshakeError = new HandshakeError(
  ErrorCode.MissingHost,
  400,
  "the Host header is missing",
);

/** Whether the request target's path (before any `?`) is `path`; any path when undefined. */
export function matchesPath(path: string | undefined, target: string): boolean {
  if (path === undefined) return true;
  const query = target.indexOf("?");
  return (query === -1 ? target : target.slice(0, query)) === path;
}

/**
 * The shared server logic. `WS` is the adapter's `WebSocket` subclass (so `instanceof` holds
 * for the sockets its server hands out), built by `createSocket`.
 *
 * @example
 * ```ts
 * const core = new ServerCore(options, (url, init) => new WebSocket(url, undefined, init));
 * // A raw-socket runtime: each new connection, as an AcceptConnection.
 * void core.accept(handshakeConnection(socket), (ws, head) => emit("connection", ws, head), reportError);
 * ```
 */
export class ServerCore<
  Request,
  // biome-ignore lint/suspicious/noExplicitAny: the adapter's socket type, whatever its binaryType.
  WS extends WebSocket<any>,
  Headers extends IncomingHeaders = IncomingHeaders,
> {
  /** The open sockets (when `clientTracking` is on). */
  readonly clients: Set<WS> = new Set();
  /** The options given. */
  readonly options: ServerCoreOptions<UpgradeInfo<Request, Headers>>;
  /** The session settings (limits, timeouts …) of accepted sockets. */
  readonly settings: SessionSettings;
  /** Milliseconds a connection has to complete its handshake (0: no limit). */
  readonly handshakeTimeout: number;
  /** Most handshakes in progress at once. */
  readonly maxPendingHandshakes: number;
  /** Most open connections. */
  readonly maxConnections: number;
  /** The memory budget all connections share (undefined when `memoryBudget` is `Infinity`). */
  readonly memoryBudget: MemoryBudget | undefined;
  readonly #createSocket: (url: string, init: WebSocketInit) => WS;
  readonly #extensions: readonly ExtensionFactory[];
  #closing = false;
  /** The handshakes in progress (see `accept.ts`); closed by {@link ServerCore.close}. */
  readonly pendingHandshakes: PendingHandshakes;
  /** Connections accepted and not closed yet. */
  #connections = 0;
  /** The options of every session without a subprotocol or extensions (made for the first). */
  #plainSession: SessionOptions | undefined;
  /**
   * The URL string of the last socket opened: a server's sockets mostly have the same URL, and
   * each keeps its string for as long as it is open, so equal ones share the first's rather than
   * each holding a copy made by its handshake.
   */
  #lastUrl = "";
  /** Called when a connection accepted under `maxConnections` closes. */
  readonly #release = (): void => this.release();
  /** Topics, `publish` and `broadcast` of this server's sockets. */
  readonly pubsub: PubSub<WS>;
  /** Where the server reports errors that belong to no request (broker failures). */
  reportError: (error: Error) => void = () => {};
  /** The counters of this server's connections ({@link ServerCore.stats}); given to each session. */
  readonly meter: Meter = new Meter(() => this.pendingHandshakes.size);

  /**
   * @param options the shared options; other keys are passed to each session.
   * @param createSocket builds the adapter's `WebSocket` around an accepted session.
   * @param runtimeKeys adapter-only option names, kept out of the session settings.
   * @param deflateEngine the adapter's deflate engine, needed for `perMessageDeflate`.
   * @throws {TypeError} `perMessageDeflate` without `deflateEngine`, a limit that is not a number.
   * @throws {RangeError} a `perMessageDeflate` setting or a limit out of range.
   */
  constructor(
    options: ServerCoreOptions<UpgradeInfo<Request, Headers>>,
    createSocket: (url: string, init: WebSocketInit) => WS,
    runtimeKeys: readonly string[] = [],
    deflateEngine?: DeflateEngineSource,
  ) {
    checkOptions("Cannot create WebSocketServer", options, [SERVER_OPTIONS, SESSION_OPTIONS], runtimeKeys);
    this.options = options;
    this.#createSocket = createSocket;
    this.#extensions = deflateExtensions(options.perMessageDeflate, false, deflateEngine);
    this.handshakeTimeout = limit(
      "handshakeTimeout",
      options.handshakeTimeout,
      DEFAULT_SERVER_HANDSHAKE_TIMEOUT,
    );
    this.pendingHandshakes = new PendingHandshakes(this.handshakeTimeout);
    this.maxPendingHandshakes = limit(
      "maxPendingHandshakes",
      options.maxPendingHandshakes,
      DEFAULT_MAX_PENDING_HANDSHAKES,
    );
    this.maxConnections = limit("maxConnections", options.maxConnections, Number.POSITIVE_INFINITY);
    if (options.clientTracking !== false) this.meter.countClients(this.clients);
    const budget = options.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
    this.memoryBudget = budget === Number.POSITIVE_INFINITY ? undefined : new MemoryBudget(budget);
    const settings: Record<string, unknown> = { ...options };
    for (const key of [
      "path",
      "protocols",
      "verify",
      "binaryType",
      "clientTracking",
      "perMessageDeflate",
      "handshakeTimeout",
      "maxPendingHandshakes",
      "maxConnections",
      "memoryBudget",
      "broker",
      ...runtimeKeys,
    ]) {
      delete settings[key];
    }
    this.settings = settings as SessionSettings;
    const deflate = options.perMessageDeflate;
    let prepared: PreparedDeflate | undefined;
    this.pubsub = new PubSub<WS>(
      this.clients,
      options.broker,
      deflate === undefined || deflate === false || deflateEngine === undefined
        ? undefined
        : () => {
            const settings = deflate === true ? {} : deflate;
            prepared ??= { ...settings, engine: deflateEngine() };
            return prepared;
          },
      (error) => this.reportError(error),
    );
  }

  /**
   * The server's counters now: open connections, handshakes in progress, bytes buffered in
   * each direction (summed over the open connections as this is called), messages and bytes
   * received and sent. Cheap to call; nothing is counted unless a server made the session.
   */
  stats(): ServerStats {
    return this.meter.stats();
  }

  /**
   * Publishes (`ws:handshake:rejected`) and counts a rejection the adapter's HTTP server
   * answered in its own way: a plain request or a head it could not parse (Node's own server).
   */
  rejected(
    outcome: HandshakeRejected,
    request: unknown,
    target: string | undefined,
    remoteAddress: string | undefined,
    admission?: Admission,
  ): void {
    published(this, admission ?? { remoteAddress, since: now() }, outcome, request, target);
  }

  /** Whether shutdown has started (new upgrades are answered 503). */
  get closing(): boolean {
    return this.#closing;
  }

  /** Whether this server handles a request for `target` (its path matches). */
  matches(target: string): boolean {
    return matchesPath(this.options.path, target);
  }

  /**
   * Takes a place among `maxConnections` for an accepted handshake, before its response is
   * sent; false when the server is full (answer 503 instead). {@link ServerCore.open} gives the
   * place back when the session closes; call {@link ServerCore.release} if it never opens.
   */
  reserve(): boolean {
    if (this.maxConnections === Number.POSITIVE_INFINITY) return true;
    if (this.#connections >= this.maxConnections) return false;
    this.#connections++;
    return true;
  }

  /** Gives back a place taken by {@link ServerCore.reserve} for a session that never opened. */
  release(): void {
    if (this.maxConnections !== Number.POSITIVE_INFINITY) this.#connections--;
  }

  /**
   * Serves a new connection of a raw-socket listener (Deno and Bun TCP, Node's `node:net`
   * server of the `port` mode): reads the request head
   * with the codec's `HttpHeadParser`, answers it, and on success attaches a session, hands the
   * socket to `deliver` and starts it. Bounded by `handshakeTimeout`, `maxPendingHandshakes`
   * and `maxConnections`;
   * bytes that are not HTTP get 400 at once. Never rejects; errors of the `verify` hook go to
   * `onError`. See `accept.ts` for what happens after a rejection. With `http`, requests that
   * are not an upgrade for this server go to its handler (`http-handler.ts`) instead of 426/400.
   */
  accept(
    connection: AcceptConnection,
    deliver: Deliver<WS, Request>,
    onError?: (error: Error) => void,
    http?: PlainRequests,
  ): Promise<void> {
    return acceptConnection(this, connection, deliver, onError, http);
  }

  /**
   * Serves a request its runtime's HTTP server already parsed (Node's `'upgrade'`; an HTTP/2
   * stream's Extended CONNECT): `rest` holds the bytes that followed the head. Same limits and
   * rejection behaviour as {@link ServerCore.accept}, without the head read; `admission` is the
   * one taken when the connection opened, if any ({@link ServerCore.admit}).
   */
  acceptRequest(
    request: HandshakeRequest<Request, Headers>,
    connection: AcceptConnection,
    rest: Uint8Array,
    deliver: Deliver<WS, Request>,
    onError?: (error: Error) => void,
    admission?: Admission,
  ): Promise<void> {
    return acceptRequest(this, request, connection, rest, deliver, onError, admission);
  }

  /**
   * Starts a handshake's clock and takes its place among `maxPendingHandshakes`, dropping the
   * oldest handshake in progress when they are all taken (`destroy` closes the connection when
   * its time runs out or its place is needed). For an adapter whose HTTP server reads the
   * head: admit when the connection opens, then pass the admission to
   * {@link ServerCore.acceptRequest}.
   */
  admit(destroy: () => void, remoteAddress?: string | (() => string | undefined)): Admission {
    return admit(this, destroy, remoteAddress);
  }

  /**
   * Runs the opening handshake (RFC 6455 §4.2.1–§4.2.2) and the `verify` hook. Never throws:
   * a hook that throws (or picks a subprotocol the client did not offer) gets a 500 response
   * and `onError` is called. Resolves `undefined` when `gone()` says the connection dropped
   * while `verify` ran (nothing to write).
   */
  async handshake(
    request: HandshakeRequest<Request, Headers>,
    gone: () => boolean = () => false,
    onError?: (error: Error) => void,
  ): Promise<HandshakeOutcome | undefined> {
    try {
      return await this.#handshake(request, gone);
    } catch (error) {
      onError?.(error instanceof Error ? error : new Error(String(error)));
      return rejection({ status: 500, body: "Internal Server Error" }, "VERIFY_FAILED");
    }
  }

  async #handshake(
    request: HandshakeRequest<Request, Headers>,
    gone: () => boolean,
  ): Promise<HandshakeOutcome | undefined> {
    if (this.#closing) return rejection(SHUTTING_DOWN, "SHUTTING_DOWN");
    if (this.#connections >= this.maxConnections)
      return rejection(TOO_MANY_CONNECTIONS, "TOO_MANY_CONNECTIONS");
    let accepted: AcceptedUpgrade;
    try {
      accepted = (request.check ?? checkUpgradeRequest)(
        { method: request.method, httpVersion: request.httpVersion, headers: request.headers },
        { protocols: this.options.protocols, extensions: this.#extensions },
      );
    } catch (error) {
      if (error instanceof HandshakeError) return rejection(error);
      throw error;
    }
    // HTTP/2 has :authority in place of Host (RFC 9113 §8.3.1).
    const hostHeader = request.headers.host ?? request.headers[":authority"];
    let url: URL;
    try {
      url = new URL(
        request.target,
        `${request.secure ? "wss" : "ws"}://${typeof hostHeader === "string" ? hostHeader : "localhost"}`,
      );
    } catch {
      return rejection({ status: 400, body: "Bad request target or Host" }, "BAD_TARGET");
    }
    let protocol = accepted.protocol;
    let headers: HeadersInput | undefined;
    const verify = this.options.verify;
    if (verify !== undefined) {
      const origin = request.headers.origin;
      const verdict = await verify({
        request: request.request,
        url,
        headers: request.headers,
        remoteAddress: request.remoteAddress,
        origin: typeof origin === "string" ? origin : origin?.[0],
        offeredProtocols: accepted.offeredProtocols,
        protocol,
      });
      if (gone()) return undefined;
      if (this.#closing) return rejection(SHUTTING_DOWN, "SHUTTING_DOWN");
      if (this.#connections >= this.maxConnections)
        return rejection(TOO_MANY_CONNECTIONS, "TOO_MANY_CONNECTIONS");
      if (verdict === false) return rejection({ status: 403 });
      if (isReject(verdict)) return rejection(verdict);
      if (typeof verdict === "object" && verdict !== null) {
        if ("protocol" in verdict) {
          if (verdict.protocol !== undefined && !accepted.offeredProtocols.includes(verdict.protocol)) {
            throw new TypeError(`Cannot select subprotocol ${verdict.protocol}: the client did not offer it`);
          }
          protocol = verdict.protocol;
        }
        headers = verdict.headers;
      }
    }
    return new HandshakeAccepted(accepted, protocol, headers, url, this.#sessionOptions(accepted, protocol));
  }

  /**
   * The options of an accepted connection's session: one object shared by every connection
   * without a subprotocol or extensions (a session only reads them), else one of its own.
   */
  #sessionOptions(accepted: AcceptedUpgrade, protocol: string | undefined): SessionOptions {
    if (
      protocol === undefined &&
      accepted.extensions.length === 0 &&
      accepted.extensionsHeader === undefined
    ) {
      // Frozen: its sessions then share one resolved config (`session/config.ts`).
      this.#plainSession ??= Object.freeze({
        ...this.settings,
        role: "server",
        extensions: [],
        budget: this.memoryBudget,
        meter: this.meter,
      });
      return this.#plainSession;
    }
    return {
      ...this.settings,
      role: "server",
      protocol,
      extensions: accepted.extensions,
      extensionsHeader: accepted.extensionsHeader,
      budget: this.memoryBudget,
      meter: this.meter,
    };
  }

  /**
   * {@link ServerCore.handshake} for a head read from a raw socket (Deno and Bun TCP listeners,
   * parsed by the codec's `HttpHeadParser`), with what Node's HTTP server does first: an
   * HTTP/1.1 request without `Host` gets 400 (RFC 9112 §3.2, whatever else it asks), a request
   * without `Upgrade` gets 426 Upgrade Required, a path this server does not serve gets 400.
   * `remoteAddress` may be a function, called only if the address is asked for (reading it can
   * be a system call, and most servers never ask). `request` is what `verify` and `'connection'`
   * get (the connection's `request(head)`: Node's `IncomingMessage`), by default the head.
   */
  handshakeHead(
    head: HttpRequestHead,
    secure: boolean,
    remoteAddress: string | undefined | (() => string | undefined),
    gone?: () => boolean,
    onError?: (error: Error) => void,
    request: Request = head as unknown as Request,
  ): Promise<HandshakeOutcome | undefined> {
    const headers = headerRecord(head.headerMap) as unknown as Headers;
    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
    // HTTP/1.1 request message that lacks a Host header field", before anything else (an
    // HTTP/1.0 request may lack it; an upgrade then fails on its version).
    if (head.httpVersion !== "1.0" && head.headerMap.get("host") === undefined)
      return Promise.resolve(rejection(MISSING_HOST));
    if (head.headerMap.get("upgrade") === undefined)
      return Promise.resolve(rejection(UPGRADE_REQUIRED, "UPGRADE_REQUIRED"));
    if (!this.matches(head.target)) return Promise.resolve(rejection(NO_ENDPOINT, "NO_ENDPOINT"));
    const handshakeRequest = {
      request,
      method: head.method,
      httpVersion: head.httpVersion,
      target: head.target,
      headers,
      secure,
      get remoteAddress(): string | undefined {
        return typeof remoteAddress === "function" ? remoteAddress() : remoteAddress;
      },
    };
    return this.handshake(handshakeRequest, gone, onError);
  }

  /**
   * Wraps an accepted session in the adapter's `WebSocket`, tracks it, hands it to `deliver`
   * (the `callback` of `handleUpgrade`, or an emitter of `'connection'`), then starts it. The
   * place among `maxConnections` must have been taken with {@link ServerCore.reserve}; it is
   * given back when the session closes.
   *
   * @throws what `deliver` throws (the session is started all the same).
   */
  open(
    session: Session,
    url: URL,
    request: Request,
    deliver: Deliver<WS, Request>,
    onError?: (error: Error) => void,
    admission?: Admission,
  ): WS {
    // The place was taken by `reserve()`; counted only under a limit (a reaction to
    // `session.closed` per connection otherwise).
    if (this.maxConnections !== Number.POSITIVE_INFINITY) session.closed.then(this.#release, this.#release);
    const tracked = this.options.clientTracking !== false;
    // A tracked socket leaves `clients` by itself once closed, rather than by a reaction to
    // `session.closed` (a promise and a closure per connection).
    const href = url.href;
    if (href !== this.#lastUrl) this.#lastUrl = href;
    const ws = this.#createSocket(this.#lastUrl, {
      session,
      binaryType: this.options.binaryType ?? "uint8array",
      clients: tracked ? (this.clients as Set<WebSocket>) : undefined,
      // biome-ignore lint/suspicious/noExplicitAny: a server's topics hold sockets of any binaryType.
      pubsub: this.pubsub as unknown as PubSub<WebSocket<any>>,
      // Exceptions of the socket's listeners go where the server's hooks' go.
      reportError: onError,
    });
    if (tracked) {
      this.clients.add(ws);
      // Closed before its socket existed (no close to report to it): leave at once.
      if (session.state === "closed") queueMicrotask(() => this.clients.delete(ws));
    }
    session.socket = ws;
    this.meter.handshakesAccepted++;
    // The client's address only for subscribers: reading it can be a system call, and a runtime
    // may keep the string it made (Bun caches it on the socket) for as long as the connection.
    const accepted = channels["ws:handshake:accepted"];
    const opened = channels["ws:connection:opened"];
    const remoteAddress =
      accepted.hasSubscribers || opened.hasSubscribers ? admission?.remoteAddress : undefined;
    if (accepted.hasSubscribers)
      accepted.publish({
        socket: ws,
        request,
        url: url.href,
        remoteAddress,
        protocol: session.protocol,
        extensions: session.extensions,
        duration: admission === undefined ? 0 : now() - admission.since,
      });
    if (opened.hasSubscribers)
      opened.publish({
        socket: ws,
        url: url.href,
        remoteAddress,
        protocol: session.protocol,
        extensions: session.extensions,
      });
    try {
      deliver(ws, request);
    } finally {
      // Started even when a listener threw (the error is the caller's to report).
      session.start();
    }
    return ws;
  }

  /**
   * Graceful shutdown: handshakes in progress are dropped, new upgrades get 503, every socket
   * is closed with 1001 (Going Away,
   * RFC 6455 §7.4.1) and awaited; those still open after `timeout` ms (default: the session's
   * close timeout, 5000) are terminated.
   */
  async close(timeout: number = this.settings.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT): Promise<void> {
    this.#closing = true;
    // Handshakes still in progress are dropped (those past `verify` get 503 anyway).
    this.pendingHandshakes.abortAll();
    const pending = [...this.clients].map((ws) => {
      ws.close(CloseCode.GoingAway);
      return ws.session?.closed;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(pending),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      }),
    ]);
    clearTimeout(timer);
    this.terminate();
    this.memoryBudget?.stop();
    await this.pubsub.detach();
  }

  /** Terminates every socket at once (no close handshake). */
  terminate(): void {
    for (const ws of this.clients) ws.terminate();
  }
}

/**
 * A limit option, `fallback` when undefined: milliseconds ≥ 0 for the timeout (0: none), else
 * a count ≥ 1 (`Infinity`: none).
 */
function limit(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const timeout = name === "handshakeTimeout";
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(
      `Cannot create WebSocketServer: ${name} must be a number of ${timeout ? "milliseconds" : "connections"}, got ${typeof value}`,
    );
  }
  if (value < (timeout ? 0 : 1)) {
    throw new RangeError(
      `Cannot create WebSocketServer: ${name} must be at least ${timeout ? 0 : 1}, got ${value}`,
    );
  }
  return value;
}

/** Lower-case header record from a parsed head's `headerMap` (repeated fields joined by ", "). */
export function headerRecord(headerMap: ReadonlyMap<string, string>): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of headerMap) record[name] = value;
  return record;
}
