/**
 * The runtime-neutral part of a WebSocket server, shared by `@ws/node`, `@ws/deno` and
 * `@ws/bun`: checking the opening handshake (RFC 6455 §4.2) with `@ws/codec`, the `verify`
 * hook, subprotocol selection, the 101 or rejection response, path matching, client tracking
 * and graceful shutdown (close 1001 for all, wait with a deadline, then terminate).
 *
 * An adapter turns its runtime's request into a {@link HandshakeRequest}, calls
 * {@link ServerCore.handshake}, writes the response it gets, and for an accepted upgrade wraps
 * the socket in a `Session` and hands it to {@link ServerCore.open}.
 *
 * @module
 */
import {
  type AcceptedUpgrade,
  buildAcceptResponse,
  buildRejectResponse,
  checkUpgradeRequest,
  type ExtensionFactory,
  HandshakeError,
  type HeadersInput,
  type HttpRequestHead,
  type ProtocolSelector,
} from "@ws/codec";
import { type DeflateEngineSource, deflateExtensions, type PerMessageDeflateOption } from "./deflate.ts";
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

/** The server options every adapter shares (same names and defaults on every runtime). */
export interface ServerCoreOptions<Info = UpgradeInfo> extends SessionSettings {
  /** Handle upgrades for this path only (other paths are left to other servers). */
  readonly path?: string | undefined;
  /** Subprotocols supported, most preferred first, or a function choosing among the offers. */
  readonly protocols?: ProtocolSelector | undefined;
  /** Accept or reject each upgrade (origin check, authentication …), sync or async. */
  readonly verify?: ((info: Info) => UpgradeVerdict | Promise<UpgradeVerdict>) | undefined;
  /** `binaryType` of accepted sockets. Default `"uint8array"`. */
  readonly binaryType?: BinaryType | undefined;
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
}

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
}

/** The outcome of {@link ServerCore.handshake}: the bytes to write, and what was agreed. */
export type HandshakeOutcome =
  | {
      readonly accepted: true;
      /** The 101 response head. */
      readonly response: string;
      /** The request URL (`ws:`/`wss:`). */
      readonly url: URL;
      /** Options for the server-side session. */
      readonly session: SessionOptions;
    }
  | {
      readonly accepted: false;
      /** The rejection response (head and body); close the connection after it. */
      readonly response: string;
    };

function isReject(verdict: UpgradeVerdict): verdict is RejectVerdict {
  return typeof verdict === "object" && verdict !== null && "status" in verdict;
}

function rejection(verdict: HandshakeError | RejectVerdict): HandshakeOutcome {
  return { accepted: false, response: buildRejectResponse(verdict) };
}

const SHUTTING_DOWN: RejectVerdict = { status: 503, body: "Server is shutting down" };

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
 * const outcome = await core.handshake(request, () => socketIsGone);
 * write(outcome.response);
 * if (outcome.accepted) core.open(new Session(transport, outcome.session), outcome.url, request.request, emit);
 * ```
 */
export class ServerCore<Request, WS extends WebSocket, Headers extends IncomingHeaders = IncomingHeaders> {
  /** The open sockets (when `clientTracking` is on). */
  readonly clients: Set<WS> = new Set();
  /** The options given. */
  readonly options: ServerCoreOptions<UpgradeInfo<Request, Headers>>;
  /** The session settings (limits, timeouts …) of accepted sockets. */
  readonly settings: SessionSettings;
  readonly #createSocket: (url: string, init: WebSocketInit) => WS;
  readonly #extensions: readonly ExtensionFactory[];
  #closing = false;

  /**
   * @param options the shared options; other keys are passed to each session.
   * @param createSocket builds the adapter's `WebSocket` around an accepted session.
   * @param runtimeKeys adapter-only option names, kept out of the session settings.
   * @param deflateEngine the adapter's deflate engine, needed for `perMessageDeflate`.
   * @throws {TypeError} `perMessageDeflate` without `deflateEngine`.
   * @throws {RangeError} a `perMessageDeflate` setting out of range.
   */
  constructor(
    options: ServerCoreOptions<UpgradeInfo<Request, Headers>>,
    createSocket: (url: string, init: WebSocketInit) => WS,
    runtimeKeys: readonly string[] = [],
    deflateEngine?: DeflateEngineSource,
  ) {
    this.options = options;
    this.#createSocket = createSocket;
    this.#extensions = deflateExtensions(options.perMessageDeflate, false, deflateEngine);
    const settings: Record<string, unknown> = { ...options };
    for (const key of [
      "path",
      "protocols",
      "verify",
      "binaryType",
      "clientTracking",
      "perMessageDeflate",
      ...runtimeKeys,
    ]) {
      delete settings[key];
    }
    this.settings = settings as SessionSettings;
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
      return rejection({ status: 500, body: "Internal Server Error" });
    }
  }

  async #handshake(
    request: HandshakeRequest<Request, Headers>,
    gone: () => boolean,
  ): Promise<HandshakeOutcome | undefined> {
    if (this.#closing) return rejection(SHUTTING_DOWN);
    let accepted: AcceptedUpgrade;
    try {
      accepted = checkUpgradeRequest(
        { method: request.method, httpVersion: request.httpVersion, headers: request.headers },
        { protocols: this.options.protocols, extensions: this.#extensions },
      );
    } catch (error) {
      if (error instanceof HandshakeError) return rejection(error);
      throw error;
    }
    const hostHeader = request.headers.host;
    let url: URL;
    try {
      url = new URL(
        request.target,
        `${request.secure ? "wss" : "ws"}://${typeof hostHeader === "string" ? hostHeader : "localhost"}`,
      );
    } catch {
      return rejection({ status: 400, body: "Bad request target or Host" });
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
      if (this.#closing) return rejection(SHUTTING_DOWN);
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
    return {
      accepted: true,
      response: buildAcceptResponse({
        accept: accepted.accept,
        protocol,
        extensionsHeader: accepted.extensionsHeader,
        headers,
      }),
      url,
      session: {
        ...this.settings,
        role: "server",
        protocol,
        extensions: accepted.extensions,
        extensionsHeader: accepted.extensionsHeader,
      },
    };
  }

  /**
   * {@link ServerCore.handshake} for a head read from a raw socket (Deno and Bun TCP listeners,
   * parsed by the codec's `HttpHeadParser`), with what Node's HTTP server would do first: a
   * request without `Upgrade` gets 426 Upgrade Required, a path this server does not serve
   * gets 400.
   */
  handshakeHead(
    head: HttpRequestHead,
    secure: boolean,
    remoteAddress: string | undefined,
    gone?: () => boolean,
    onError?: (error: Error) => void,
  ): Promise<HandshakeOutcome | undefined> {
    const headers = headerRecord(head.headerMap) as unknown as Headers;
    if (head.headerMap.get("upgrade") === undefined) {
      return Promise.resolve(
        rejection({ status: 426, headers: { Upgrade: "websocket" }, body: "Upgrade Required" }),
      );
    }
    if (!this.matches(head.target)) {
      return Promise.resolve(rejection({ status: 400, body: "No WebSocket endpoint at this path" }));
    }
    const request = {
      request: head as unknown as Request,
      method: head.method,
      httpVersion: head.httpVersion,
      target: head.target,
      headers,
      secure,
      remoteAddress,
    };
    return this.handshake(request, gone, onError);
  }

  /**
   * Wraps an accepted session in the adapter's `WebSocket`, tracks it, hands it to `deliver`
   * (the `callback` of `handleUpgrade`, or an emitter of `'connection'`), then starts it.
   */
  open(session: Session, url: URL, request: Request, deliver: (socket: WS, request: Request) => void): WS {
    const tracked = this.options.clientTracking !== false;
    // A tracked socket leaves `clients` by itself once closed, rather than by a reaction to
    // `session.closed` (a promise and a closure per connection).
    const ws = this.#createSocket(url.href, {
      session,
      binaryType: this.options.binaryType ?? "uint8array",
      clients: tracked ? (this.clients as Set<WebSocket>) : undefined,
    });
    if (tracked) {
      this.clients.add(ws);
      // Closed before its socket existed (no close to report to it): leave at once.
      if (session.state === "closed") queueMicrotask(() => this.clients.delete(ws));
    }
    deliver(ws, request);
    session.start();
    return ws;
  }

  /**
   * Graceful shutdown: new upgrades get 503, every socket is closed with 1001 (Going Away,
   * RFC 6455 §7.4.1) and awaited; those still open after `timeout` ms (default: the session's
   * close timeout, 5000) are terminated.
   */
  async close(timeout: number = this.settings.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT): Promise<void> {
    this.#closing = true;
    const pending = [...this.clients].map((ws) => {
      ws.close(1001);
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
  }

  /** Terminates every socket at once (no close handshake). */
  terminate(): void {
    for (const ws of this.clients) ws.terminate();
  }
}

/** Lower-case header record from a parsed head's `headerMap` (repeated fields joined by ", "). */
export function headerRecord(headerMap: ReadonlyMap<string, string>): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of headerMap) record[name] = value;
  return record;
}
