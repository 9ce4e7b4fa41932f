/**
 * The server side of opening a connection, written once for every adapter: the twin of
 * `dial.ts`. An adapter hands over a byte stream as an {@link AcceptConnection} (and, when its
 * HTTP server already parsed the request, that request and the bytes that followed it); this
 * module bounds the handshake, reads and answers the request, and attaches the session.
 *
 * | step                          | on failure                                                    |
 * | ----------------------------- | ------------------------------------------------------------- |
 * | admit (`maxPendingHandshakes`)| the oldest handshake in progress is dropped to make room       |
 * | read the head (`HttpHeadParser`) | 400 at the first byte that is not HTTP, 431 too large     |
 * | a parsed head (Node): field count | 431 over `limits.maxHeaderCount`, as the head parser     |
 * | path, `Upgrade` (raw sockets) | 400 another path, 426 not an upgrade; with a `handler`, both go to it (`http-handler.ts`) |
 * | check + `verify` (`ServerCore.handshake`) | 400/403/405/426/500 or the hook's verdict; 503 shutting down |
 * | reserve (`maxConnections`)    | 503                                                           |
 * | respond (101, or the connection's own answer: HTTP/2) | connection closed             |
 * | attach the session, hand it out, start it |                                               |
 *
 * The whole handshake, from admission to the response, must finish within `handshakeTimeout`
 * (default 10 s), else the connection is closed without a response (the peer has not finished
 * asking, as with a slow or stalled head).
 *
 * After a rejection, one behaviour on every runtime: the response, then a half-close (our
 * FIN); what the client still sends is read and dropped until it closes its side or
 * {@link REJECTION_LINGER} ms (at most `handshakeTimeout`) have passed, then the connection is
 * closed. Closing at once with
 * unread bytes would make the kernel answer with a TCP RST, which can destroy the response
 * before the client has read it.
 *
 * Each outcome is published on the diagnostics channels (`diagnostics.ts`):
 * `ws:handshake:accepted` (by `ServerCore.open`, once the socket exists) or
 * `ws:handshake:rejected` with a stable code, and `ws:limit:reached` when a limit decided it.
 *
 * @module
 */
import { DEFAULT_LIMITS, ErrorCode, HandshakeError } from "@ws/codec";
import { HttpHeadParser, type HttpRequestHead } from "@ws/codec/handshake";
import type { HandshakeRejectionCode } from "./diagnostics.ts";
import type { DialConnection } from "./dial.ts";
import { isPlainRequest, type RequestHandler, serveRequest } from "./http-handler.ts";
import { handshakeRejected, limitOf, type Meter, now } from "./meter.ts";
import {
  type HandshakeOutcome,
  type HandshakeRejected,
  type HandshakeRequest,
  type IncomingHeaders,
  type RejectVerdict,
  rejection,
  type ServerCore,
} from "./server-core.ts";
import type { WebSocket } from "./websocket.ts";

/** How long a rejected connection may linger after our response and FIN, in milliseconds. */
export const REJECTION_LINGER = 2000;

/**
 * What a raw-socket server does with requests that are not a WebSocket upgrade for it: hands
 * them to `handler` (see `http-handler.ts`), with bodies of at most `maxBodySize` bytes.
 */
export interface PlainRequests {
  readonly handler: RequestHandler;
  readonly maxBodySize: number;
}

/** Hands an open socket to the application (`'connection'` or `handleUpgrade`'s callback). */
export type Deliver<WS, Request> = (socket: WS, request: Request) => void;

/**
 * A connection during the server's opening handshake, before a session takes it over: the
 * twin of the client's {@link DialConnection}, and usually the same object in an adapter.
 */
export interface AcceptConnection extends DialConnection {
  /** Whether the connection is TLS (URLs get `wss:`). */
  readonly secure: boolean;
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** Half-closes after the bytes written (TCP FIN); reading goes on. */
  end(): void;
  /** Whether the peer is known to be gone (looked at after the `verify` hook ran). */
  gone?(): boolean;
  /**
   * Answers the handshake in the transport's own way instead of writing
   * `outcome.response` as HTTP/1.1 bytes: an HTTP/2 stream answers an Extended CONNECT with
   * `:status 200` and the agreed fields (RFC 8441 §5), or the rejection's status.
   */
  respond?(outcome: HandshakeOutcome): void | Promise<void>;
  /**
   * The runtime's request object for a head the shared path read (given to `verify` as
   * `request`, to `'connection'` and to the diagnostics events): Node's own server gives an
   * `http.IncomingMessage`, as its `node:http` servers do. Default: the parsed head itself.
   */
  request?(head: HttpRequestHead): unknown;
  /**
   * Whether the application takes over an upgrade request for this server (its `Upgrade`
   * header present, its path served) before the checks run: `@ws/node/ws`'s `wsClientError`
   * answers requests that fail them itself, as in `ws`. The shared path then leaves the
   * connection alone. Default: never.
   */
  claim?(request: unknown): boolean;
}

const encoder = new TextEncoder();

const TOO_MANY_CONNECTIONS: RejectVerdict = { status: 503, body: "Too many connections" };

/**
 * The most handshakes {@link PendingHandshakes} closes for their timeout in one timer callback.
 * A slowloris wave opens its connections together, so their deadlines fall together: closing
 * them all at once would hold the event loop while fresh clients wait; the rest follow on the
 * next turns, after the I/O in between has been served.
 */
export const EXPIRIES_PER_TURN = 64;

/**
 * The handshakes in progress of one server, oldest first, and the one timer that bounds them
 * all: every handshake has the same `handshakeTimeout`, so the oldest always has the nearest
 * deadline, and one timer set for it (set again for the next oldest when it fires) does what a
 * timer per connection would, without one per connection.
 */
export class PendingHandshakes {
  /** Milliseconds each handshake may take (0: no limit). */
  readonly timeout: number;
  /** In insertion order, which is deadline order. */
  readonly #admissions = new Set<Admission>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeout: number) {
    this.timeout = timeout;
  }

  /** How many handshakes are in progress. */
  get size(): number {
    return this.#admissions.size;
  }

  /** Whether `admission` is still in progress. */
  has(admission: Admission): boolean {
    return this.#admissions.has(admission);
  }

  /** The oldest handshake in progress, if any. */
  oldest(): Admission | undefined {
    for (const admission of this.#admissions) return admission;
    return undefined;
  }

  add(admission: Admission): void {
    this.#admissions.add(admission);
    if (this.#timer === undefined && this.timeout > 0) this.#arm(this.timeout);
  }

  delete(admission: Admission): void {
    this.#admissions.delete(admission);
    if (this.#admissions.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Closes every handshake in progress (the server is closing). */
  abortAll(): void {
    for (const admission of [...this.#admissions]) admission.abort();
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#expire, delay);
  }

  /**
   * Closes the handshakes whose time is up, at most {@link EXPIRIES_PER_TURN} of them, then
   * waits for the next deadline (or, with more expired, for the next turn of the event loop).
   */
  readonly #expire = (): void => {
    this.#timer = undefined;
    const time = now();
    let closed = 0;
    for (const admission of this.#admissions) {
      if (admission.deadline > time) {
        this.#arm(admission.deadline - time);
        return;
      }
      if (closed === EXPIRIES_PER_TURN) {
        this.#arm(0);
        return;
      }
      closed++;
      admission.abort("HANDSHAKE_TIMEOUT", `no complete handshake within ${this.timeout} ms`, {
        limit: "handshakeTimeout",
        value: this.timeout,
      });
    }
  };
}

/**
 * A handshake's place among `maxPendingHandshakes` and its deadline. Made by `admit()`; an
 * adapter whose HTTP server reads the head (Node) admits at the connection's start and passes
 * the admission on, so the timeout covers the head read there too.
 */
export class Admission {
  /** The time ran out, the server closed, or a newer handshake took its place: destroyed. */
  timedOut = false;
  /** When the time is up, on the clock of the server's `PendingHandshakes` (`now()`). */
  readonly deadline: number;
  /** When the handshake started (`now()`), for the diagnostics events' durations. */
  readonly since: number;
  readonly #pending: PendingHandshakes;
  readonly #destroy: () => void;
  readonly #remoteAddress: string | undefined | (() => string | undefined);
  readonly #meter: Meter | undefined;

  constructor(
    pending: PendingHandshakes,
    destroy: () => void,
    remoteAddress?: string | (() => string | undefined),
    meter?: Meter,
  ) {
    this.#pending = pending;
    this.#destroy = destroy;
    this.#remoteAddress = remoteAddress;
    this.#meter = meter;
    this.since = now();
    this.deadline = this.since + pending.timeout;
    pending.add(this);
  }

  /** The client's address, when known (read only when asked for: it can be a system call). */
  get remoteAddress(): string | undefined {
    const address = this.#remoteAddress;
    return typeof address === "function" ? address() : address;
  }

  /**
   * Closes the connection (time is up, the server is closing, or its place is needed),
   * published as a rejection without an answer (`code`, `reason`).
   */
  abort(
    code: HandshakeRejectionCode = "SHUTTING_DOWN",
    reason = "the server is closing",
    limit?: Parameters<typeof handshakeRejected>[8],
  ): void {
    if (!this.#pending.has(this)) {
      // Over already (answered, or the connection gone): only make sure it is closed.
      this.timedOut = true;
      this.#destroy();
      return;
    }
    this.timedOut = true;
    this.done();
    handshakeRejected(
      this.#meter,
      undefined,
      undefined,
      this.#remoteAddress,
      0,
      code,
      reason,
      this.since,
      limit,
    );
    this.#destroy();
  }

  /** The handshake is over (answered, or the connection is gone): frees the place. */
  done(): void {
    this.#pending.delete(this);
  }
}

/**
 * Admits a new connection, within its server's handshake timeout (`destroy` closes it when the
 * time runs out). At `maxPendingHandshakes`, the oldest handshake in progress is dropped to make
 * room: under a slowloris flood the stalled connections are the oldest, so fresh clients are
 * still served while memory stays bounded (refusing the newcomer instead would hand the
 * server to whoever holds the most stalled connections).
 */
export function admit<Request, WS extends WebSocket, Headers extends IncomingHeaders>(
  core: ServerCore<Request, WS, Headers>,
  destroy: () => void,
  remoteAddress?: string | (() => string | undefined),
): Admission {
  const pending = core.pendingHandshakes;
  if (pending.size >= core.maxPendingHandshakes) {
    pending.oldest()?.abort("TOO_MANY_HANDSHAKES", "dropped to make room for a newer handshake", {
      limit: "maxPendingHandshakes",
      value: core.maxPendingHandshakes,
    });
  }
  return new Admission(pending, destroy, remoteAddress, core.meter);
}

/** Serves a raw byte stream (Deno, Bun, Node's own server): see {@link ServerCore.accept}. */
export async function acceptConnection<Request, WS extends WebSocket, Headers extends IncomingHeaders>(
  core: ServerCore<Request, WS, Headers>,
  connection: AcceptConnection,
  deliver: Deliver<WS, Request>,
  onError: ((error: Error) => void) | undefined,
  http?: PlainRequests,
): Promise<void> {
  const admission = admit(
    core,
    () => connection.destroy(),
    () => connection.remoteAddress,
  );
  try {
    const parser = new HttpHeadParser("request", core.settings.limits);
    let head: HttpRequestHead | undefined;
    try {
      while (head === undefined) {
        const chunk = await connection.read();
        if (chunk === null) break;
        head = parser.push(chunk);
      }
    } catch (error) {
      admission.done();
      if (admission.timedOut || !(error instanceof HandshakeError)) return connection.destroy();
      const outcome = rejection(error);
      published(core, admission, outcome, undefined, undefined);
      return reject(connection, outcome, linger(core));
    }
    if (head === undefined) {
      admission.done();
      return connection.destroy();
    }
    if (http !== undefined && isPlainRequest(head, (target) => core.matches(target))) {
      const lingerTime = linger(core);
      return await serveRequest(
        connection,
        head,
        parser.rest,
        http.handler,
        http.maxBodySize,
        admission,
        onError,
        (answer) =>
          closeAfter(connection, lingerTime, answer === undefined ? undefined : encoder.encode(answer)),
      );
    }
    const gone = (): boolean => admission.timedOut || connection.gone?.() === true;
    const request = (connection.request === undefined ? head : connection.request(head)) as Request;
    if (
      connection.claim !== undefined &&
      head.headerMap.has("upgrade") &&
      core.matches(head.target) &&
      connection.claim(request)
    )
      return;
    const outcome = await core.handshakeHead(
      head,
      connection.secure,
      () => connection.remoteAddress,
      gone,
      onError,
      request,
    );
    await finish(core, admission, connection, outcome, request, head.target, parser.rest, deliver, onError);
  } catch {
    connection.destroy();
  } finally {
    admission.done();
  }
}

/** Serves a request its HTTP server already parsed (Node, HTTP/2): see {@link ServerCore.acceptRequest}. */
export async function acceptRequest<Request, WS extends WebSocket, Headers extends IncomingHeaders>(
  core: ServerCore<Request, WS, Headers>,
  request: HandshakeRequest<Request, Headers>,
  connection: AcceptConnection,
  rest: Uint8Array,
  deliver: Deliver<WS, Request>,
  onError: ((error: Error) => void) | undefined,
  admitted?: Admission,
): Promise<void> {
  const admission = admitted ?? admit(core, () => connection.destroy(), request.remoteAddress);
  try {
    // The limit the raw-socket head parser applies (Deno, Bun), for a head the runtime's HTTP
    // server parsed with limits of its own (Node's counts up to 2000 fields).
    const tooMany = tooManyHeaders(core, request);
    if (tooMany !== undefined) {
      admission.done();
      published(core, admission, tooMany, request.request, request.target);
      return await reject(connection, tooMany, linger(core));
    }
    const gone = (): boolean => admission.timedOut || connection.gone?.() === true;
    const outcome = await core.handshake(request, gone, onError);
    await finish(
      core,
      admission,
      connection,
      outcome,
      request.request,
      request.target,
      rest,
      deliver,
      onError,
    );
  } catch {
    connection.destroy();
  } finally {
    admission.done();
  }
}

/** Answers the outcome, then attaches and opens the session, or closes after a rejection. */
async function finish<Request, WS extends WebSocket, Headers extends IncomingHeaders>(
  core: ServerCore<Request, WS, Headers>,
  admission: Admission,
  connection: AcceptConnection,
  outcome: HandshakeOutcome | undefined,
  request: Request,
  target: string,
  rest: Uint8Array,
  deliver: Deliver<WS, Request>,
  onError: ((error: Error) => void) | undefined,
): Promise<void> {
  if (outcome === undefined || admission.timedOut || connection.gone?.() === true) {
    return connection.destroy();
  }
  if (!outcome.accepted) {
    admission.done();
    published(core, admission, outcome, request, target);
    return reject(connection, outcome, linger(core));
  }
  // Taken in the same turn as the answer is decided, so `maxConnections` is never overshot.
  if (!core.reserve()) {
    admission.done();
    const full = rejection(TOO_MANY_CONNECTIONS, "TOO_MANY_CONNECTIONS");
    published(core, admission, full, request, target);
    return reject(connection, full, linger(core));
  }
  let opened = false;
  try {
    await respond(connection, outcome);
    if (admission.timedOut || connection.gone?.() === true) return connection.destroy();
    admission.done();
    const session = connection.attach(rest, outcome.session);
    opened = true;
    core.open(session, outcome.url, request, deliver, onError, admission);
  } catch (error) {
    // Before `open`: the write or the attach failed. After: a `'connection'` listener threw
    // (the session is started all the same); reported, never thrown into the event loop.
    if (!opened) return connection.destroy();
    onError?.(error instanceof Error ? error : new Error(String(error)));
  } finally {
    if (!opened) core.release();
  }
}

/** Writes the HTTP/1.1 response, unless the connection answers in its own way. */
function respond(connection: AcceptConnection, outcome: HandshakeOutcome): void | Promise<void> {
  if (connection.respond !== undefined) return connection.respond(outcome);
  return connection.write(encoder.encode(outcome.response));
}

/**
 * Answers `connection` with `verdict` and closes it as after any rejection (see the module
 * comment): for a request no `WebSocketServer` handles, answered by the adapter.
 */
export function refuse(
  connection: AcceptConnection,
  verdict: RejectVerdict,
  code: HandshakeRejectionCode = "NO_ENDPOINT",
): Promise<void> {
  const outcome = rejection(verdict, code);
  handshakeRejected(
    undefined,
    undefined,
    undefined,
    () => connection.remoteAddress,
    outcome.status,
    outcome.code,
    outcome.body,
    now(),
  );
  return reject(connection, outcome, REJECTION_LINGER);
}

/**
 * Publishes a rejection `core` answers (and the limit that decided it, if one did) and counts
 * it; `admission` gives the client's address and when the handshake started.
 */
export function published<Request, WS extends WebSocket, Headers extends IncomingHeaders>(
  core: ServerCore<Request, WS, Headers>,
  admission: { readonly remoteAddress: string | undefined; readonly since: number },
  outcome: HandshakeRejected,
  request: unknown,
  target: string | undefined,
): void {
  const code = outcome.code;
  const limit = limitOf(code);
  handshakeRejected(
    core.meter,
    request,
    target,
    () => admission.remoteAddress,
    outcome.status,
    code,
    outcome.body,
    admission.since,
    code === "TOO_MANY_CONNECTIONS"
      ? { limit: "maxConnections", value: core.maxConnections }
      : limit === undefined
        ? undefined
        : {
            limit,
            value: core.settings.limits?.[limit as "maxHeadSize"] ?? DEFAULT_LIMITS[limit as "maxHeadSize"],
          },
  );
}

/**
 * The 431 for a parsed request with more header fields than `limits.maxHeaderCount` (the
 * message the codec's head parser gives), or undefined. Repeated fields count once each when
 * the adapter gives `headerCount` (Node's `rawHeaders`), else once per name (HTTP/2).
 */
function tooManyHeaders<Request, WS extends WebSocket, Headers extends IncomingHeaders>(
  core: ServerCore<Request, WS, Headers>,
  request: HandshakeRequest<Request, Headers>,
): HandshakeRejected | undefined {
  const max = core.settings.limits?.maxHeaderCount ?? DEFAULT_LIMITS.maxHeaderCount;
  let count = request.headerCount;
  if (count === undefined) {
    count = 0;
    // HTTP/2 pseudo-header fields (`:path` …) are not header fields of the request (RFC 9113 §8.3).
    for (const name in request.headers) if (!name.startsWith(":")) count++;
  }
  if (count <= max) return undefined;
  return rejection(
    new HandshakeError(
      ErrorCode.TooManyHeaders,
      431,
      `Cannot parse HTTP request head: the head has more than maxHeaderCount (${max}) fields`,
    ),
  );
}

/** How long a connection `core` rejected may linger. */
function linger(core: { readonly handshakeTimeout: number }): number {
  const timeout = core.handshakeTimeout;
  return timeout > 0 && timeout < REJECTION_LINGER ? timeout : REJECTION_LINGER;
}

/**
 * Sends the rejection, half-closes, and drops what the client still sends until it closes or
 * `lingerTime` ms have passed (see the module comment).
 */
function reject(connection: AcceptConnection, outcome: HandshakeRejected, lingerTime: number): Promise<void> {
  return closeAfter(connection, lingerTime, () => respond(connection, outcome));
}

/**
 * Writes `last` (bytes, or a function that writes), half-closes, and drops what the client
 * still sends until it closes or `lingerTime` ms have passed; then closes.
 */
async function closeAfter(
  connection: AcceptConnection,
  lingerTime: number,
  last: Uint8Array | (() => void | Promise<void>) | undefined,
): Promise<void> {
  const timer = setTimeout(() => connection.destroy(), lingerTime);
  try {
    if (typeof last === "function") await last();
    else if (last !== undefined) await connection.write(last);
    connection.end();
    while ((await connection.read()) !== null) {
      // Dropped: the connection is done.
    }
  } catch {
    // The peer went away: nothing more to do.
  } finally {
    clearTimeout(timer);
    connection.destroy();
  }
}
