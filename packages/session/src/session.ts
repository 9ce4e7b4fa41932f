/**
 * `Session`: one open WebSocket connection over a {@link Transport}, runtime-neutral. It owns a
 * codec `Connection` and adds the policy and the time the codec leaves out:
 *
 * - answers pings (`autoPong`) and the peer's close frame (RFC 6455 §5.5.1);
 * - the close handshake with a timeout, after which the transport is destroyed (§7.1.1–§7.1.4);
 * - failing the connection on a protocol error: the close code is sent, then the transport is
 *   closed (§7.1.7);
 * - a send queue with an exact `bufferedAmount` and a drain signal (send backpressure);
 * - receive backpressure: while a pull consumer (async iterator, `ReadableStream`) is behind,
 *   the transport is paused;
 * - `ping()` with round-trip time, an opt-in heartbeat;
 * - messages sent and received as streams of pieces (§5.4 fragmentation).
 *
 * Only ES2022 and universal web globals are used (timers, `queueMicrotask`, streams), so the
 * same code runs on Node, Deno and Bun.
 *
 * @module
 */
import {
  type CloseEvent as CodecCloseEvent,
  Connection,
  closeReplyFor,
  ErrorCode,
  type Extension,
  type InboundEvent,
  LocalProtocolError,
  NEED_DATA,
  type OutboundEvent,
  PENDING,
  pongFor,
  type RandomSource,
  type RemoteProtocolError,
  type SendOptions,
  truncateCloseReason,
} from "@ws/codec";
import { WebSocketError } from "./errors.ts";
import { Inbox } from "./inbox.ts";
import { codecLimits, resolveSessionLimits, type SessionLimits } from "./limits.ts";
import type { Transport } from "./transport.ts";

/** Default close timeout in milliseconds (see {@link SessionOptions.closeTimeout}). */
export const DEFAULT_CLOSE_TIMEOUT = 5000;

/** Default receive high-water mark in bytes (see {@link SessionOptions.receiveHighWaterMark}). */
export const DEFAULT_RECEIVE_HIGH_WATER_MARK: number = 1024 * 1024;

/** Keepalive pings (see {@link SessionOptions.heartbeat}). */
export interface HeartbeatOptions {
  /** Milliseconds between pings. */
  readonly interval: number;
  /** Milliseconds to wait, after a ping, for any byte from the peer before giving up. */
  readonly timeout: number;
}

/** Options of a {@link Session}; every one has the same default on every runtime. */
export interface SessionOptions {
  /** This endpoint's role: a client masks its frames (RFC 6455 §5.3). */
  readonly role: "client" | "server";
  /** The negotiated subprotocol, or "" (WHATWG `protocol`). */
  readonly protocol?: string | undefined;
  /** The negotiated extensions. */
  readonly extensions?: readonly Extension[] | undefined;
  /** The `Sec-WebSocket-Extensions` value agreed on, or "" (WHATWG `extensions`). */
  readonly extensionsHeader?: string | undefined;
  /** Limits; see {@link SessionLimits}. */
  readonly limits?: Partial<SessionLimits> | undefined;
  /**
   * Echo the reason too when answering the peer's close frame (RFC 6455 §5.5.1 only says the
   * code is typically echoed). Default false; echo servers turn it on.
   */
  readonly echoCloseReason?: boolean | undefined;
  /** Answer pings with pongs (RFC 6455 §5.5.2). Default true. */
  readonly autoPong?: boolean | undefined;
  /**
   * Milliseconds to wait for the close handshake to finish (the peer's close frame, then the
   * end of the transport) before destroying the transport. Default 5000 (ws uses 30000; a
   * live peer answers within a round trip, a dead one should not hold a socket for long).
   */
  readonly closeTimeout?: number | undefined;
  /**
   * Ping every `interval` ms; when nothing at all arrives within `timeout` ms after a ping, the
   * peer is taken for dead: the transport is destroyed and the close is reported as 1006,
   * `wasClean` false. Off by default.
   */
  readonly heartbeat?: HeartbeatOptions | undefined;
  /**
   * Deliver data messages in pieces as they arrive (read them with `pieces()`), instead of
   * whole. Default false.
   */
  readonly streamMessages?: boolean | undefined;
  /**
   * Bytes a pull consumer (`messages()`, `pieces()`, `readable`) may leave unread before the
   * transport is paused. Default 1 MiB.
   */
  readonly receiveHighWaterMark?: number | undefined;
  /** Randomness for masking keys (client). Default `crypto.getRandomValues`. */
  readonly random?: RandomSource | undefined;
}

/** How the connection ended (WHATWG "the WebSocket connection close code / reason"). */
export interface CloseInfo {
  /** The peer's close code, 1005 when its close frame had none, 1006 without a close frame. */
  readonly code: number;
  /** The peer's close reason, or "". */
  readonly reason: string;
  /** Whether the close handshake completed before the transport closed (RFC 6455 §7.1.4). */
  readonly wasClean: boolean;
  /** Why the session failed the connection, when it did (protocol error, full buffer, …). */
  readonly error?: Error | undefined;
}

/** A piece of a data message, delivered when `streamMessages` is on. */
export interface MessagePiece {
  /** Text pieces end on code point boundaries. */
  readonly data: string | Uint8Array;
  /** Whether the message is binary. */
  readonly binary: boolean;
  /** The first piece of its message. */
  readonly first: boolean;
  /** The last piece of its message. */
  readonly last: boolean;
}

/** Callbacks of the session's owner (the `WebSocket` object, a server). All optional. */
export interface SessionHandler {
  /** A whole message arrived. */
  message?(data: string | Uint8Array): void;
  /** A piece of a message arrived (`streamMessages`). */
  piece?(piece: MessagePiece): void;
  /** A ping arrived (already answered when `autoPong`). */
  ping?(payload: Uint8Array): void;
  /** A pong arrived. */
  pong?(payload: Uint8Array): void;
  /** The send queue drained after a send returned false. */
  drain?(): void;
  /** The session failed the connection (reported before `close`). */
  error?(error: Error): void;
  /** The connection is closed; called once. */
  close?(info: CloseInfo): void;
}

/** Data a message can be sent from. */
export type MessageData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** Options of {@link Session.sendStream}. */
export interface SendStreamOptions extends SendOptions {
  /** Send a binary message (default: text when the first piece is a string, else binary). */
  readonly binary?: boolean | undefined;
}

/** The session's state, from the application's side. */
export type SessionState = "open" | "closing" | "closed";

type PendingPing = {
  readonly payload: Uint8Array;
  readonly sentAt: number;
  readonly resolve: (rtt: number) => void;
  readonly reject: (error: unknown) => void;
};

/** What a pull consumer receives: whole messages, or pieces with `streamMessages`. */
export type Received = string | Uint8Array | MessagePiece;

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/**
 * While the session processes received bytes, the frames it and the handlers send after the
 * first write are collected and handed to the transport as one `write()` when processing ends
 * (or when this many bytes are collected). A pipelining peer sends many small messages per TCP
 * segment; writing each echo separately costs one syscall per message (on Node, a `writev` per
 * message was half the server's CPU time), one write per received chunk costs one syscall per
 * chunk: 5–6× the messages per second with 16–64 busy connections.
 *
 * The first write goes out at once when this session is the only one that received data in
 * this turn of the event loop: a lone peer that waits for our answers (one connection, a window
 * of messages in flight) then works on it while we process the rest, instead of both sides
 * taking turns (measured with one connection: +5–40% over batching everything). When several
 * sessions received data in the same turn, the server is busy and peers have our other answers
 * to work on, so the first write waits for the batch too: one write per received chunk instead
 * of two (Bun, 64 connections echoing 16-byte messages: 98 038 `sendto` calls for 49 019
 * `recvfrom` with the early write, one per `recvfrom` without).
 */
const BATCH_LIMIT = 64 * 1024;

/**
 * Data events in the current turn of the event loop, across every session of this module
 * instance; reset after the turn's I/O (`setImmediate`, or `setTimeout(0)` where there is none).
 */
let dataEventsThisTurn = 0;
let turnEndScheduled = false;
const timers = globalThis as { setImmediate?: (callback: () => void) => unknown };
const afterIo: (callback: () => void) => void =
  typeof timers.setImmediate === "function"
    ? (callback) => void (timers.setImmediate as (callback: () => void) => unknown)(callback)
    : (callback) => void setTimeout(callback, 0);
function turnEnds(): void {
  dataEventsThisTurn = 0;
  turnEndScheduled = false;
}
/** Counts a data event; true when another one happened earlier in the same turn. */
function busyTurn(): boolean {
  if (!turnEndScheduled) {
    turnEndScheduled = true;
    afterIo(turnEnds);
  }
  return ++dataEventsThisTurn > 1;
}

/** Milliseconds from a monotonic clock when there is one. */
function now(): number {
  return typeof performance === "undefined" ? Date.now() : performance.now();
}

/** The UTF-8 length of `text` without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 2; // 4 bytes for 2 code units
        i++;
      } else length += 2;
    } else length += 2;
  }
  return length;
}

/** `data` as bytes without copying: a view on the same memory. */
export function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === "[object SharedArrayBuffer]") {
    return new Uint8Array(data);
  }
  throw new TypeError("Cannot send: data must be a string, an ArrayBuffer or an ArrayBufferView");
}

function payloadOf(data: MessageData): string | Uint8Array {
  return typeof data === "string" ? data : toBytes(data);
}

/**
 * One open WebSocket connection over a {@link Transport}. Create it after the opening
 * handshake, wire the transport's callbacks to `onData` / `onEnd` / `onDrain` / `onError`,
 * set a `handler`, then call `start()`.
 *
 * @example
 * ```ts
 * import { Session } from "@ws/session";
 * const session = new Session(transport, { role: "server" });
 * socket.on("data", (chunk) => session.onData(chunk)); // and end, drain, error
 * session.handler = { message: (data) => session.send(data) }; // echo
 * session.start();
 * ```
 */
export class Session {
  /** This endpoint's role. */
  readonly role: "client" | "server";
  /** The negotiated subprotocol, or "". */
  readonly protocol: string;
  /** The negotiated extensions header value, or "". */
  readonly extensions: string;
  /** The limits in force. */
  readonly limits: SessionLimits;
  /** The codec connection (for inspection; do not feed it directly). */
  readonly connection: Connection;
  /** Whether messages are delivered in pieces. */
  readonly streamMessages: boolean;
  /** The owner's callbacks. */
  handler: SessionHandler = {};

  readonly #transport: Transport;
  readonly #autoPong: boolean;
  readonly #echoCloseReason: boolean;
  readonly #closeTimeout: number;
  readonly #heartbeat: HeartbeatOptions | undefined;
  readonly #receiveHighWaterMark: number;

  #state: SessionState = "open";
  #started = false;
  #processing = false;
  // Frames written while processing received bytes, written as one batch afterwards (see
  // BATCH_LIMIT); undefined outside processing and, unless the turn is busy, until the first
  // write.
  #batch: Uint8Array[] | undefined;
  #batchBytes = 0;
  // The queues below are made on first use: most connections never need them, and an empty
  // array is 32 bytes per connection each.
  // Send side: frames the transport did not take yet (it returned false), and their size.
  #queue: Uint8Array[][] | undefined;
  #queuedBytes = 0;
  #blocked = false;
  // While writes are blocked, only the most recent ping is answered (RFC 6455 §5.5.3 allows
  // it), so a peer that floods pings and reads nothing cannot grow our send queue.
  #pendingPong: Uint8Array | undefined;
  #drainWaiters: (() => void)[] | undefined;
  #endPending = false;
  // Sends whose bytes an asynchronous extension (permessage-deflate) is still producing, and
  // their payload sizes (counted in bufferedAmount meanwhile).
  #encoding = 0;
  #encodingBytes = 0;
  #decoding = false;
  #ended = false;
  #destroyed = false;
  #eof = false;
  // A message being sent in pieces, and the whole messages waiting for it to finish (§5.4).
  #streamsStarted = 0;
  #streamsDone = 0;
  // Idle connections hold no promises: the stream chain and `closed` are made on first use.
  #streamTail: Promise<void> | undefined;
  /** Whole messages sent while streams were pending; each waits for `after` streams to end. */
  #deferred: { event: OutboundEvent; size: number; after: number }[] | undefined;
  #deferredBytes = 0;
  // Receive side.
  #inbox: Inbox<Received> | undefined;
  #readPaused = false;
  // Close.
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closeReceived: CodecCloseEvent | undefined;
  #failure: Error | undefined;
  /** An error to report with a close that is otherwise normal (the send buffer was full). */
  #closeError: Error | undefined;
  #closeInfo: CloseInfo | undefined;
  #closed: Promise<CloseInfo> | undefined;
  #resolveClosed: ((info: CloseInfo) => void) | undefined;
  // Ping and heartbeat.
  #pings: PendingPing[] | undefined;
  #pingCounter = 0;
  #heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatDeadline: ReturnType<typeof setTimeout> | undefined;
  #heard = false;

  constructor(transport: Transport, options: SessionOptions) {
    this.#transport = transport;
    this.role = options.role;
    this.protocol = options.protocol ?? "";
    this.extensions = options.extensionsHeader ?? "";
    this.limits = resolveSessionLimits(options.limits);
    this.streamMessages = options.streamMessages ?? false;
    this.#autoPong = options.autoPong ?? true;
    this.#echoCloseReason = options.echoCloseReason ?? false;
    this.#closeTimeout = checkDuration("closeTimeout", options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT);
    this.#receiveHighWaterMark = options.receiveHighWaterMark ?? DEFAULT_RECEIVE_HIGH_WATER_MARK;
    if (options.heartbeat !== undefined) {
      checkDuration("heartbeat.interval", options.heartbeat.interval);
      checkDuration("heartbeat.timeout", options.heartbeat.timeout);
    }
    this.#heartbeat = options.heartbeat;
    this.connection = new Connection({
      role: options.role,
      limits: codecLimits(this.limits),
      extensions: options.extensions ?? [],
      streamMessages: this.streamMessages,
      ...(options.random === undefined ? {} : { random: options.random }),
    });
  }

  // ─── Adapter side ────────────────────────────────────────────────────────────────────────

  /** The transport delivered bytes. The session takes ownership of `chunk`. */
  onData(chunk: Uint8Array): void {
    if (this.#state === "closed" || this.#eof) return;
    this.#heard = true;
    this.connection.receive(chunk);
    // A busy turn: batch from the first write (see BATCH_LIMIT).
    if (busyTurn() && this.#started && !this.#processing) this.#batch = [];
    this.#process();
  }

  /** The transport ended: no more bytes will come (TCP FIN, or the socket closed). */
  onEnd(): void {
    if (this.#state === "closed" || this.#eof) return;
    this.#eof = true;
    this.connection.receiveEof();
    // The events before the end are still delivered (once a paused consumer catches up).
    this.#process();
  }

  /** The transport's buffer drained after `write()` returned false. */
  onDrain(): void {
    if (this.#state === "closed" && this.#destroyed) return;
    // A transport may report a drain nobody waits for (Node emits 'drain' after a write that
    // returned false even when the bytes then went out at once): nothing is queued then.
    if (!this.#blocked) return;
    // Read afresh on each turn: a write may destroy the transport, which drops the queue.
    while (this.#queue !== undefined && this.#queue.length > 0) {
      const chunks = this.#queue.shift() as Uint8Array[];
      for (const chunk of chunks) this.#queuedBytes -= chunk.length;
      if (!this.#transport.write(chunks)) return;
    }
    this.#blocked = false;
    const pong = this.#pendingPong;
    this.#pendingPong = undefined;
    if (pong !== undefined && this.connection.canSend)
      this.#write(this.connection.send({ type: "pong", payload: pong }));
    if (this.#endPending) this.#endTransport();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
    this.handler.drain?.();
  }

  /** The transport failed (connection reset, TLS error …). The connection is closed with 1006. */
  onError(error: unknown): void {
    if (this.#state === "closed") return;
    const failure =
      error instanceof Error
        ? error
        : new WebSocketError("TRANSPORT_ERROR", `Transport failed: ${String(error)}`);
    this.#failure ??= failure;
    this.#destroy();
    this.#finish();
  }

  // ─── Application side ────────────────────────────────────────────────────────────────────

  /** `open`, `closing` (a close frame was sent or received) or `closed`. */
  get state(): SessionState {
    return this.#state;
  }

  /**
   * Bytes handed to the session and not yet flushed by the runtime to the operating system:
   * whole frames (header and payload) queued by the session, messages waiting for a streamed
   * message to finish, and the transport's own `bufferedAmount`.
   */
  get bufferedAmount(): number {
    return (
      this.#queuedBytes +
      this.#batchBytes +
      this.#deferredBytes +
      this.#encodingBytes +
      (this.#transport.bufferedAmount ?? 0)
    );
  }

  /**
   * Bytes received and held by the session: not yet decoded by the codec, plus decoded messages
   * a pull consumer has not read yet.
   */
  get inboundBufferedAmount(): number {
    return this.connection.bufferedAmount + (this.#inbox?.bytes ?? 0);
  }

  /** Resolves once, with how the connection ended. */
  get closed(): Promise<CloseInfo> {
    if (this.#closed === undefined) {
      const info = this.#closeInfo;
      this.#closed =
        info !== undefined
          ? Promise.resolve(info)
          : new Promise((resolve) => {
              this.#resolveClosed = resolve;
            });
    }
    return this.#closed;
  }

  /** Starts delivering events (call after setting `handler`). Bytes received before are kept. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#heartbeat !== undefined && this.#state !== "closed") this.#scheduleHeartbeat();
    this.#process();
  }

  /**
   * Sends a message: a string as text, bytes as binary. Returns false when the caller should
   * wait for `drained()` before sending more (the transport's buffer is full).
   *
   * @throws {LocalProtocolError} when a close frame was already sent or received.
   */
  send(data: MessageData, options?: SendOptions): boolean {
    let payload = payloadOf(data);
    const textMessage = typeof payload === "string";
    this.#checkOpen("send a message");
    const buffered = this.bufferedAmount;
    let size: number;
    if (typeof payload === "string" && this.connection.extensions.length > 0) {
      // An extension transforms bytes, so the codec would encode the string anyway: encode it
      // here, and its exact size (counted while the extension works) comes for free.
      payload = utf8.encode(payload);
      size = payload.length;
    } else {
      // The exact UTF-8 length of a string costs a pass over it (a fifth of an echo server's
      // time for 1 KiB text): check the limit against the upper bound (3 bytes per UTF-16 code
      // unit) first, and count exactly only when that bound is over it or the size is kept
      // (deferred behind a stream).
      size = typeof payload === "string" ? payload.length * 3 : payload.length;
      if (
        typeof payload === "string" &&
        (buffered + size > this.limits.maxBufferedAmount || this.#streamsDone < this.#streamsStarted)
      )
        size = utf8Length(payload);
    }
    const event: OutboundEvent = textMessage
      ? options === undefined
        ? { type: "text", data: payload }
        : { type: "text", data: payload, options }
      : options === undefined
        ? { type: "binary", data: payload as Uint8Array }
        : { type: "binary", data: payload as Uint8Array, options };
    if (buffered + size > this.limits.maxBufferedAmount) {
      this.#overflow(size);
      return false;
    }
    if (this.#streamsDone < this.#streamsStarted) {
      this.#deferred ??= [];
      this.#deferred.push({ event, size, after: this.#streamsStarted });
      this.#deferredBytes += size;
      return false;
    }
    this.#write(this.connection.send(event), size);
    return !this.#blocked;
  }

  /** Resolves when the send queue is no longer blocked (at once if it is not). */
  drained(): Promise<void> {
    if (!this.#blocked || this.#state === "closed") return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters ??= [];
      this.#drainWaiters.push(resolve);
    });
  }

  /**
   * Sends one message made of the pieces of `source` (RFC 6455 §5.4 fragmentation: one frame
   * per piece), waiting for the send queue to drain between pieces. Whole messages sent
   * meanwhile wait for this message to end. Streams wait for each other.
   */
  sendStream(
    source: AsyncIterable<MessageData> | Iterable<MessageData> | ReadableStream<MessageData>,
    options: SendStreamOptions = {},
  ): Promise<void> {
    this.#streamsStarted++;
    const run = (this.#streamTail ?? Promise.resolve()).then(() => this.#sendStream(source, options));
    this.#streamTail = run.catch(() => {});
    return run;
  }

  async #sendStream(
    source: AsyncIterable<MessageData> | Iterable<MessageData> | ReadableStream<MessageData>,
    options: SendStreamOptions,
  ): Promise<void> {
    const { binary, ...sendOptions } = options;
    let kind: "text-piece" | "binary-piece" | undefined =
      binary === undefined ? undefined : binary ? "binary-piece" : "text-piece";
    try {
      let held: string | Uint8Array | undefined;
      for await (const chunk of iterate(source)) {
        const data = payloadOf(chunk);
        kind ??= typeof data === "string" ? "text-piece" : "binary-piece";
        if (held !== undefined) await this.#sendPiece(kind, held, false, sendOptions);
        held = data;
      }
      await this.#sendPiece(kind ?? "binary-piece", held ?? EMPTY, true, sendOptions);
    } finally {
      this.#streamsDone++;
      // The whole messages sent before the next stream started go now, in order.
      while (
        this.#deferred !== undefined &&
        this.#deferred.length > 0 &&
        (this.#deferred[0] as { after: number }).after <= this.#streamsDone
      ) {
        const { event, size } = this.#deferred.shift() as { event: OutboundEvent; size: number };
        this.#deferredBytes -= size;
        if (this.#state === "open" && this.connection.canSend) this.#write(this.connection.send(event));
      }
    }
  }

  async #sendPiece(
    type: "text-piece" | "binary-piece",
    data: string | Uint8Array,
    last: boolean,
    options: SendOptions,
  ): Promise<void> {
    // The codec throws LocalProtocolError when the connection is closing.
    this.#write(this.connection.send({ type, data, last, options }));
    if (this.#blocked) await this.drained();
  }

  /**
   * Sends a ping and resolves with the round-trip time in milliseconds when the matching pong
   * arrives (RFC 6455 §5.5.2–§5.5.3; a pong also answers earlier pings). Rejects when the
   * connection closes first. Without a payload, a 4-byte counter is sent.
   */
  ping(payload?: MessageData): Promise<number> {
    let bytes: Uint8Array;
    if (payload === undefined) {
      bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, ++this.#pingCounter >>> 0);
    } else {
      bytes = typeof payload === "string" ? utf8.encode(payload) : toBytes(payload);
    }
    try {
      this.#checkOpen("send a ping");
      this.#write(this.connection.send({ type: "ping", payload: bytes }));
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#pings ??= [];
      this.#pings.push({ payload: bytes, sentAt: now(), resolve, reject });
    });
  }

  /** Sends an unsolicited pong (RFC 6455 §5.5.3, a unidirectional heartbeat). */
  pong(payload?: MessageData): void {
    const bytes =
      payload === undefined ? EMPTY : typeof payload === "string" ? utf8.encode(payload) : toBytes(payload);
    this.#checkOpen("send a pong");
    this.#write(this.connection.send({ type: "pong", payload: bytes }));
  }

  /**
   * Starts the close handshake (RFC 6455 §7.1.2): sends a close frame after what is queued and
   * waits up to `closeTimeout` for the peer's close frame and the end of the transport. Does
   * nothing when the connection is already closing. A message being streamed is abandoned.
   *
   * @throws {RangeError} for a code that may not be sent or a reason over 123 UTF-8 bytes.
   */
  close(code?: number, reason?: string): void {
    if (this.#state !== "open" || !this.connection.canSendClose) return;
    const event: OutboundEvent =
      code === undefined
        ? { type: "close" }
        : reason === undefined
          ? { type: "close", code }
          : { type: "close", code, reason };
    this.#write(this.connection.send(event));
    this.#state = "closing";
    this.#armCloseTimer();
  }

  /** Closes the transport at once, without a close handshake; the close is reported as 1006. */
  terminate(): void {
    if (this.#state === "closed") return;
    this.#destroy();
    this.#finish();
  }

  /**
   * Pauses delivery and reading from the transport. Events already decoded wait; nothing is
   * lost. The application's own receive backpressure, on top of the pull consumers'.
   */
  pause(): void {
    if (this.#readPaused || this.#state === "closed") return;
    this.#readPaused = true;
    this.#transport.pause();
  }

  /** Resumes after {@link Session.pause}. */
  resume(): void {
    if (!this.#readPaused) return;
    this.#readPaused = false;
    if (!this.#eof) this.#transport.resume();
    this.#process();
  }

  /**
   * The messages as they arrive, for `for await` (one consumer at a time). While the consumer
   * leaves more than `receiveHighWaterMark` bytes unread, reading from the transport is paused.
   * Ends when the connection closes. Breaking out of the loop stops the consumer.
   */
  messages(): AsyncIterableIterator<string | Uint8Array> {
    if (this.streamMessages)
      throw new TypeError("Cannot iterate messages: streamMessages is on, use pieces()");
    return this.#iterate() as AsyncIterableIterator<string | Uint8Array>;
  }

  /** The pieces of the messages as they arrive (`streamMessages`), like {@link Session.messages}. */
  pieces(): AsyncIterableIterator<MessagePiece> {
    if (!this.streamMessages)
      throw new TypeError("Cannot iterate pieces: streamMessages is off, use messages()");
    return this.#iterate() as AsyncIterableIterator<MessagePiece>;
  }

  /**
   * A WebSocketStream-like pair: `readable` yields the messages (pieces with
   * `streamMessages`) with the same receive backpressure as {@link Session.messages};
   * `writable` sends each chunk as a message and waits for the send queue to drain. Closing
   * the writable starts the close handshake.
   */
  stream(): { readable: ReadableStream<Received>; writable: WritableStream<MessageData> } {
    const iterator = this.#iterate();
    const readable = new ReadableStream<Received>(
      {
        pull: async (controller) => {
          const result = await iterator.next();
          if (result.done) controller.close();
          else controller.enqueue(result.value);
        },
        cancel: async () => {
          await iterator.return?.();
        },
      },
      { highWaterMark: 0 },
    );
    const writable = new WritableStream<MessageData>({
      write: async (chunk) => {
        if (!this.send(chunk)) await this.drained();
      },
      close: async () => {
        this.close(1000);
        await this.closed;
      },
      abort: () => {
        this.close(1000);
      },
    });
    return { readable, writable };
  }

  #iterate(): AsyncIterableIterator<Received> {
    if (this.#inbox !== undefined)
      throw new TypeError("Cannot read messages: another consumer is reading them");
    const inbox = new Inbox<Received>(() => this.#maybeResume());
    this.#inbox = inbox;
    if (this.#state === "closed") inbox.end();
    const stop = (): Promise<IteratorResult<Received>> => {
      if (this.#inbox === inbox) this.#inbox = undefined;
      inbox.clear();
      this.#maybeResume();
      return Promise.resolve({ done: true, value: undefined });
    };
    const iterator: AsyncIterableIterator<Received> = {
      next: () => inbox.next(),
      return: stop,
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #maybeResume(): void {
    const inbox = this.#inbox;
    if (!this.#readPaused || (inbox !== undefined && inbox.bytes >= this.#receiveHighWaterMark)) return;
    // Resume outside the consumer's call stack.
    queueMicrotask(() => this.resume());
  }

  // ─── Internals ───────────────────────────────────────────────────────────────────────────

  /** Throws the codec's precise LocalProtocolError when data may not be sent. */
  #checkOpen(what: string): void {
    if (this.#state === "open" && this.connection.canSend) return;
    const why = this.#state === "closed" ? "the connection is closed" : "the connection is closing";
    throw new LocalProtocolError(ErrorCode.InvalidState, `Cannot ${what}: ${why}`);
  }

  /**
   * Writes a send's bytes, or, when an asynchronous extension is still producing them, writes
   * them when they are ready: the codec settles such results in call order, so the wire order
   * is the send order. `size` is the payload counted in bufferedAmount meanwhile.
   */
  #write(result: Uint8Array[] | Promise<Uint8Array[]>, size = 0): void {
    if (!(result instanceof Promise)) {
      this.#writeNow(result);
      return;
    }
    this.#encoding++;
    this.#encodingBytes += size;
    result.then(
      (chunks) => {
        this.#encodingDone(size);
        this.#writeNow(chunks);
        if (this.#endPending) this.#endTransport();
      },
      (error: unknown) => {
        this.#encodingDone(size);
        if (this.#state !== "closed") this.#fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  #encodingDone(size: number): void {
    this.#encoding--;
    this.#encodingBytes -= size;
  }

  #writeNow(chunks: Uint8Array[]): void {
    if (this.#destroyed || this.#ended) return;
    if (this.#blocked) {
      this.#queue ??= [];
      this.#queue.push(chunks);
      for (const chunk of chunks) this.#queuedBytes += chunk.length;
      return;
    }
    const batch = this.#batch;
    if (batch !== undefined) {
      for (const chunk of chunks) {
        batch.push(chunk);
        this.#batchBytes += chunk.length;
      }
      if (this.#batchBytes >= BATCH_LIMIT) this.#flushBatch();
      return;
    }
    if (!this.#transport.write(chunks)) this.#blocked = true;
    if (this.#processing) this.#batch = [];
  }

  /** Writes the frames collected while processing, as one transport write. */
  #flushBatch(): void {
    const batch = this.#batch;
    if (batch === undefined || batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    if (this.#destroyed || this.#ended) return;
    if (!this.#transport.write(batch)) this.#blocked = true;
  }

  /** Drains the connection's events while started, open and not paused. */
  #process(): void {
    if (!this.#started || this.#processing) return;
    this.#processing = true;
    try {
      while (this.#state !== "closed" && !this.#readPaused) {
        const event = this.connection.nextEvent();
        if (event === NEED_DATA) break;
        if (event === PENDING) {
          // An extension decodes asynchronously: go on when it is done.
          if (!this.#decoding) {
            this.#decoding = true;
            void this.connection.pending?.then(() => {
              this.#decoding = false;
              this.#process();
            });
          }
          break;
        }
        this.#handle(event);
      }
    } finally {
      this.#processing = false;
      this.#flushBatch();
      this.#batch = undefined;
    }
  }

  #handle(event: InboundEvent): void {
    switch (event.type) {
      case "text":
      case "binary":
        this.handler.message?.(event.data);
        this.#deliver(event.data, event.data.length);
        return;
      case "text-piece":
      case "binary-piece": {
        const piece: MessagePiece = {
          data: event.data,
          binary: event.type === "binary-piece",
          first: event.first,
          last: event.last,
        };
        this.handler.piece?.(piece);
        this.#deliver(piece, event.data.length);
        return;
      }
      case "ping":
        if (this.#autoPong && this.connection.canSend) {
          if (this.#blocked) this.#pendingPong = event.payload;
          else this.#write(this.connection.send(pongFor(event)));
        }
        this.handler.ping?.(event.payload);
        return;
      case "pong":
        this.#settlePings(event.payload);
        this.handler.pong?.(event.payload);
        return;
      case "close":
        // RFC 6455 §5.5.1: answer with a close frame (echoing the code) unless we sent one.
        this.#closeReceived = event;
        if (this.connection.canSendClose) {
          const reply =
            this.#echoCloseReason && event.code !== 1005
              ? { type: "close" as const, code: event.code, reason: event.reason }
              : closeReplyFor(event);
          this.#write(this.connection.send(reply));
        }
        this.#state = "closing";
        this.#handshakeDone();
        return;
      case "failed":
        this.#fail(event.error);
        return;
      case "eof":
        // The transport ended. Complete our half of it, then report (clean or 1006).
        if (!this.#ended && !this.#destroyed) this.#endTransport();
        this.#finish();
        return;
    }
  }

  #deliver(item: Received, size: number): void {
    const inbox = this.#inbox;
    if (inbox === undefined) return;
    inbox.push(item, size);
    if (inbox.bytes >= this.#receiveHighWaterMark) this.pause();
  }

  #settlePings(payload: Uint8Array): void {
    const pings = this.#pings;
    if (pings === undefined) return;
    const index = pings.findIndex((ping) => equalBytes(ping.payload, payload));
    if (index === -1) return;
    const answered = pings.splice(0, index + 1);
    const time = now();
    for (const ping of answered) ping.resolve(time - ping.sentAt);
  }

  /** Both close frames are exchanged (RFC 6455 §7.1.1): the server closes TCP first. */
  #handshakeDone(): void {
    if (!this.connection.closeSent) return;
    if (this.role === "server") this.#endTransport();
    this.#armCloseTimer();
  }

  /** "_Fail the WebSocket Connection_" (RFC 6455 §7.1.7) with the error's close code. */
  #fail(error: RemoteProtocolError | Error): void {
    this.#failure ??= error;
    this.handler.error?.(error);
    if (this.connection.canSendClose && !this.#destroyed && !this.#ended) {
      const code = "closeCode" in error && typeof error.closeCode === "number" ? error.closeCode : 1008;
      this.#write(this.connection.send({ type: "close", code, reason: truncateCloseReason(error.message) }));
    }
    this.#state = "closing";
    this.#endTransport();
    this.#armCloseTimer();
  }

  #overflow(size: number): void {
    const error = new WebSocketError(
      "BUFFER_OVERFLOW",
      `Cannot send message: ${size} bytes would take bufferedAmount over maxBufferedAmount (${this.limits.maxBufferedAmount})`,
    );
    this.#closeError ??= error;
    this.handler.error?.(error);
    // WHATWG: the buffer is full, so the WebSocket is closed (the close frame is not counted).
    if (this.connection.canSendClose) {
      this.#write(this.connection.send({ type: "close", code: 1008, reason: "Send buffer is full" }));
      this.#state = "closing";
      this.#armCloseTimer();
    }
  }

  /** Half-closes the transport once the queued frames are flushed. */
  #endTransport(): void {
    if (this.#ended || this.#destroyed) return;
    this.#flushBatch();
    if ((this.#queue?.length ?? 0) > 0 || this.#encoding > 0) {
      this.#endPending = true;
      return;
    }
    this.#ended = true;
    this.#endPending = false;
    this.#transport.end();
  }

  #destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#queue = undefined;
    this.#queuedBytes = 0;
    if (this.#batch !== undefined) this.#batch = [];
    this.#batchBytes = 0;
    this.#transport.destroy();
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined || this.#state === "closed") return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      if (this.#state === "closed") return;
      this.#destroy();
      this.#finish();
    }, this.#closeTimeout);
  }

  #scheduleHeartbeat(): void {
    const heartbeat = this.#heartbeat as HeartbeatOptions;
    this.#heartbeatTimer = setTimeout(() => {
      this.#heartbeatTimer = undefined;
      if (this.#state === "closed") return;
      this.#heard = false;
      // A bare ping: liveness is any byte from the peer, so no pong is awaited or recorded.
      if (this.#state === "open" && this.connection.canSend) {
        const payload = new Uint8Array(4);
        new DataView(payload.buffer).setUint32(0, ++this.#pingCounter >>> 0);
        this.#write(this.connection.send({ type: "ping", payload }));
      }
      this.#heartbeatDeadline = setTimeout(() => {
        this.#heartbeatDeadline = undefined;
        if (this.#state === "closed") return;
        if (!this.#heard) {
          // A silent peer is taken for dead: closed as if it vanished (1006, not clean).
          this.#destroy();
          this.#finish();
          return;
        }
        this.#scheduleHeartbeat();
      }, heartbeat.timeout);
    }, heartbeat.interval);
  }

  /** The connection is closed: report once and release everything. */
  #finish(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#closeTimer);
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#heartbeatDeadline);
    this.#closeTimer = this.#heartbeatTimer = this.#heartbeatDeadline = undefined;
    // No more bytes will be read: extensions free their memory (zlib) once their work settles,
    // also after terminate(), a transport error or a timeout (no onEnd then).
    this.connection.receiveEof();
    const received = this.#closeReceived;
    // RFC 6455 §7.1.4/§7.1.5: clean when both close frames were exchanged (we may have had
    // to drop the TCP connection after that); the code is the one received, else 1006.
    const clean = received !== undefined && this.connection.closeSent && this.#failure === undefined;
    const info: CloseInfo =
      clean || (received !== undefined && this.#failure === undefined)
        ? { code: received.code, reason: received.reason, wasClean: clean, error: this.#closeError }
        : { code: 1006, reason: "", wasClean: false, error: this.#failure ?? this.#closeError };
    this.#closeInfo = info;
    const closedError = new WebSocketError("CONNECTION_FAILED", `Connection closed (${info.code})`);
    for (const ping of this.#pings ?? []) ping.reject(closedError);
    this.#pings = undefined;
    for (const resolve of this.#drainWaiters ?? []) resolve();
    this.#drainWaiters = undefined;
    this.#deferred = undefined;
    this.#deferredBytes = 0;
    this.#inbox?.end();
    this.#resolveClosed?.(info);
    this.#resolveClosed = undefined;
    this.handler.close?.(info);
  }

  /** How the connection ended, once closed. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }
}

function checkDuration(name: string, value: number): number {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot use ${name}: ${String(value)} is not a non-negative number of milliseconds`);
  }
  return value;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function* iterate<T>(source: AsyncIterable<T> | Iterable<T> | ReadableStream<T>): AsyncGenerator<T> {
  if (typeof (source as ReadableStream<T>).getReader === "function" && !(Symbol.asyncIterator in source)) {
    const reader = (source as unknown as ReadableStream<T>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* source as AsyncIterable<T> | Iterable<T>;
}
