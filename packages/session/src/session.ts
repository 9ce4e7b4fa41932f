/**
 * `Session`: one open WebSocket connection over a {@link Transport}, runtime-neutral. It owns a
 * codec `Connection` and adds the policy and the time the codec leaves out:
 *
 * - answers pings (`autoPong`) and the peer's close frame (RFC 6455 §5.5.1);
 * - the close handshake with a timeout, after which the transport is destroyed (§7.1.1–§7.1.4);
 * - failing the connection on a protocol error: the close code is sent, then the transport is
 *   closed (§7.1.7);
 * - receive backpressure: while a pull consumer (async iterator, `ReadableStream`) is behind,
 *   the transport is paused.
 *
 * This file is the core: the receive loop and the close handshake. The other concerns are
 * parts in `session/`, each one small class the session owns:
 *
 * - `outbox.ts`: the send queue, send backpressure, `bufferedAmount` and write batching;
 * - `streamed-sends.ts`: messages sent as streams of pieces (§5.4 fragmentation);
 * - `consumers.ts`: async iteration and `{ readable, writable }` streams;
 * - `keep-alive.ts`: `ping()` with round-trip time and the opt-in heartbeat;
 * - `turns.ts`: fair turns, so that one peer's flood of frames does not hold the event loop;
 * - `config.ts`: the settings resolved from the options, shared by a server's sessions;
 * - `types.ts` and `bytes.ts`: the options and data shapes, and byte helpers.
 *
 * Only ES2022 and universal web globals are used (timers, `queueMicrotask`, streams), so the
 * same code runs on Node, Deno and Bun.
 *
 * @module
 */
import {
  CloseCode,
  type CloseReceived,
  Connection,
  closeReplyFor,
  ErrorCode,
  type InboundEvent,
  LocalProtocolError,
  NEED_DATA,
  type OutboundEvent,
  PENDING,
  RemoteProtocolError,
  type SendOptions,
  YIELD,
} from "@ws/codec";
import { truncateCloseReason } from "@ws/codec/close";
import { WebSocketError } from "./errors.ts";
import { handled, rejected } from "./handled.ts";
import { codecLimits, type SessionLimits } from "./limits.ts";
import type { BudgetHolder, MemoryBudget } from "./memory-budget.ts";
import { backpressure, connectionClosed, connectionFailed, limitReached, type Meter, now } from "./meter.ts";
import { controlPayloadOf, payloadOf, utf8, utf8Length } from "./session/bytes.ts";
import { type SessionConfig, sessionConfig } from "./session/config.ts";
import { Consumers, streamPair } from "./session/consumers.ts";
import { KeepAlive } from "./session/keep-alive.ts";
import { busyTurn, framePayloadLength, Outbox } from "./session/outbox.ts";
import {
  SESSION_ALLOWED,
  SESSION_TRANSITIONS,
  type SessionAllowed,
  type SessionInput,
} from "./session/states.ts";
import { type PieceSource, StreamedSends } from "./session/streamed-sends.ts";
import { Share, type TurnTaker, waitTurn } from "./session/turns.ts";
import type {
  CloseInfo,
  HeartbeatOptions,
  MessageData,
  MessagePiece,
  Received,
  SendStreamOptions,
  SessionHandler,
  SessionOptions,
  SessionState,
} from "./session/types.ts";
import type { Transport } from "./transport.ts";
import type { WebSocket } from "./websocket.ts";

export { toBytes, utf8Length } from "./session/bytes.ts";
export {
  type CloseInfo,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_RECEIVE_HIGH_WATER_MARK,
  type HeartbeatOptions,
  type MessageData,
  type MessagePiece,
  type Received,
  type SendStreamOptions,
  type SessionHandler,
  type SessionOptions,
  type SessionState,
} from "./session/types.ts";

/**
 * What few sessions need, in one object made on first need: a session's own fields stay few
 * (an object's size grows with its field count, in steps), and an idle connection pays for none
 * of these: how it is ending, its `closed` promise, the sending and receiving parts for streams
 * and pull consumers, the heartbeat, and its place in the run queue (`turns.ts`).
 */
class Rare {
  /** How the session is ending, made when it begins to (see {@link Ending}). */
  ending: Ending | undefined = undefined;
  /** `closed`, made on first use (with its resolver while the session is open). */
  closed:
    | { readonly promise: Promise<CloseInfo>; resolve: ((info: CloseInfo) => void) | undefined }
    | undefined = undefined;
  streams: StreamedSends | undefined = undefined;
  consumers: Consumers | undefined = undefined;
  keepAlive: KeepAlive | undefined = undefined;
  /** This session's place in the run queue, made when it first has to wait. */
  turn: TurnTaker | undefined = undefined;
}

/**
 * How a session is ending: who closed first, the close timer, the peer's close frame, why the
 * connection failed, and how it closed. Made when the close begins (or the connection fails or
 * drops): an open connection, idle ones included, holds none.
 */
class Ending {
  /** Which side closed first (a close frame, or dropping the connection), for diagnostics. */
  closedBy: "local" | "remote" | undefined = undefined;
  closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  closeReceived: CloseReceived | undefined = undefined;
  failure: Error | undefined = undefined;
  /** An error to report with a close that is otherwise normal (the send buffer was full). */
  closeError: Error | undefined = undefined;
  /** How the connection ended, once closed. */
  closeInfo: CloseInfo | undefined = undefined;
}

/** Makes a session's {@link BudgetHolder} (defined in the class, to reach its private members). */
let budgetHolder: (session: Session) => SessionBudgetHolder;

/** A session's face to the budget, and what arrived while reading was paused for it. */
interface SessionBudgetHolder extends BudgetHolder {
  /** Bytes the transport delivered since reading was last paused for the budget (see `Session.onData`). */
  pausedBytes: number;
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
  /** The codec connection (for inspection; do not feed it directly). */
  readonly connection: Connection;
  /** The owner's callbacks. */
  handler: SessionHandler = {};
  /** The server's socket over this session (set by the server), named in diagnostics events. */
  socket: WebSocket | undefined;

  /** The settings, shared with the server's other sessions when it can (`session/config.ts`). */
  readonly #config: SessionConfig;
  /** With an `idleTimeout`: when traffic was last seen, and the timer (made by `start()`). */
  #idle: { lastActivity: number; timer: ReturnType<typeof setTimeout> | undefined } | undefined;
  /** When the session was made (`now()`), for the closed event's duration; 0 without a meter. */
  readonly #openedAt: number = 0;

  // The parts (see the module comment). Only the outbox is always needed (it also holds the
  // transport): the others are made on first use, in `#rare` (see {@link Rare}), so an idle
  // connection does not pay for them.
  readonly #outbox: Outbox;
  #rare: Rare | undefined;

  #state: SessionState = "open";
  #started = false;
  #processing = false;
  #decoding = false;
  #eof = false;
  #readPaused = false;
  /**
   * More received bytes wait for this session's next turn (`turns.ts`): the transport is
   * paused, and nothing is decoded until the run queue gets to it.
   */
  #waitingTurn = false;
  /** What is left of this session's slice of the current turn (`turns.ts`). */
  readonly #share = new Share();
  /** This session's face to the server's memory budget (`memory-budget.ts`). Made when the session first holds bytes (or is paused for the budget): idle ones have none. */
  #holder: SessionBudgetHolder | undefined;
  /** Reading is paused because the budget is under pressure (beside `#readPaused`). */
  #budgetPaused = false;

  constructor(transport: Transport, options: SessionOptions) {
    this.#config = sessionConfig(options);
    this.connection = new Connection({
      role: options.role,
      limits: codecLimits(this.limits),
      extensions: options.extensions ?? [],
      streamMessages: this.streamMessages,
      ...(options.random === undefined ? {} : { random: options.random }),
      outputBudget: options.budget,
      copyPayloadsUpTo: transport.copyPayloadsUpTo,
      allocate: transport.allocate,
      decodeText: transport.decodeText,
    });
    const meter = options.meter;
    this.#outbox = new Outbox(transport, this.connection, meter, this);
    if (meter !== undefined) {
      meter.opened(this);
      this.#openedAt = now();
    }
  }

  static {
    /**
     * A session's face to the budget: one small object whose methods live once on its
     * prototype, rather than an object of four closures per connection.
     */
    class SessionHolder implements SessionBudgetHolder {
      pausedBytes = 0;
      readonly #session: Session;
      constructor(session: Session) {
        this.#session = session;
      }
      get heldBytes(): number {
        return this.#session.#heldBytes();
      }
      pauseForBudget(): void {
        this.#session.#pauseForBudget();
      }
      resumeForBudget(): void {
        this.#session.#resumeForBudget();
      }
      shedForBudget(): void {
        this.#session.#shedForBudget();
      }
    }
    budgetHolder = (session) => new SessionHolder(session);
  }

  /** This endpoint's role. */
  get role(): "client" | "server" {
    return this.#config.role;
  }
  /** The negotiated subprotocol, or "". */
  get protocol(): string {
    return this.#config.protocol;
  }
  /** The negotiated extensions header value, or "". */
  get extensions(): string {
    return this.#config.extensions;
  }
  /** The limits in force. */
  get limits(): SessionLimits {
    return this.#config.limits;
  }
  /** Whether messages are delivered in pieces. */
  get streamMessages(): boolean {
    return this.#config.streamMessages;
  }
  /** What the state allows, from the lifecycle table (`states.ts`). */
  get #allowed(): SessionAllowed {
    return SESSION_ALLOWED[this.#state];
  }
  // The settings under the names the code below reads.
  get #autoPong(): boolean {
    return this.#config.autoPong;
  }
  get #echoCloseReason(): boolean {
    return this.#config.echoCloseReason;
  }
  get #closeTimeout(): number {
    return this.#config.closeTimeout;
  }
  get #heartbeat(): HeartbeatOptions | undefined {
    return this.#config.heartbeat;
  }
  get #receiveHighWaterMark(): number {
    return this.#config.receiveHighWaterMark;
  }
  get #idleTimeout(): number {
    return this.#config.idleTimeout;
  }
  get #meter(): Meter | undefined {
    return this.#config.meter;
  }
  get #budget(): MemoryBudget | undefined {
    return this.#config.budget;
  }
  /** What few sessions need, made on first need (see {@link Rare}). */
  #rareOf(): Rare {
    this.#rare ??= new Rare();
    return this.#rare;
  }
  /** The transport, held by the outbox. */
  get #transport(): Transport {
    return this.#outbox.transport;
  }
  /** The ending state, made when the session begins to end (see {@link Ending}). */
  #endingOf(): Ending {
    const rare = this.#rareOf();
    rare.ending ??= new Ending();
    return rare.ending;
  }

  // ─── Adapter side ────────────────────────────────────────────────────────────────────────

  /**
   * The transport delivered bytes. The session takes ownership of `chunk`, unless
   * {@link Session.releaseInput}, called right after, gives it back.
   */
  onData(chunk: Uint8Array): void {
    if (this.#state === "closed" || this.#eof) return;
    const keepAlive = this.#rare?.keepAlive;
    if (keepAlive !== undefined) keepAlive.heard = true;
    const idle = this.#idle;
    if (idle !== undefined) idle.lastActivity = now();
    const meter = this.#meter;
    if (meter !== undefined) meter.bytesReceived += chunk.length;
    this.connection.receive(chunk);
    if (this.#budgetPaused || this.#readPaused || this.#waitingTurn) {
      // Reading is paused, and the runtime delivered bytes anyway: Bun reads a paused socket to
      // its end when the peer resets or ends it (hundreds of MiB at once from peers that
      // flooded). They wait undecoded, counted in the budget, until reading resumes; a reset
      // drops them (`onError`: the WebSocket connection is closed, RFC 6455 §7.1.1, and nobody
      // is left to answer); an end delivers them first (`onEnd`). Decoding them here would
      // decode and answer a flood inside the runtime's callback, out of the fair turns.
      this.#account();
      // Paused for the budget, the server is short of memory and asked for no more: a
      // connection that delivers more than `receiveHighWaterMark` anyway is dropped, as one
      // over the budget is. Closing it also stops the runtime reading it (Bun's read loop ends
      // on a closed socket; the kernel discards the rest): a hundred reset floods then cost a
      // little each, instead of each peer's whole kernel buffer.
      const holder = this.#holder;
      if (this.#budgetPaused && holder !== undefined) {
        holder.pausedBytes += chunk.length;
        if (holder.pausedBytes > this.#receiveHighWaterMark)
          this.#dropForBudget(
            `Connection dropped: reading is paused for the server's memory budget (${(this.#budget as MemoryBudget).limit} bytes), and more than receiveHighWaterMark (${this.#receiveHighWaterMark} bytes) arrived meanwhile`,
          );
      }
    } else this.#process(busyTurn());
    // Over 3/4 of the server's memory budget, peers that send stop being read from.
    if (this.#budget?.pressure === true) this.#pauseForBudget();
  }

  /**
   * Right after {@link Session.onData}: true when the session keeps no reference to that chunk,
   * so the transport may read its next bytes into the same memory (see
   * `Connection.releaseInput`); false when it must not.
   */
  releaseInput(): boolean {
    return this.connection.releaseInput();
  }

  /** The transport ended: no more bytes will come (TCP FIN, or the socket closed). */
  onEnd(): void {
    if (this.#state === "closed" || this.#eof) return;
    this.#eof = true;
    this.connection.receiveEof();
    // The events before the end are still delivered (once a paused consumer catches up). Bytes
    // that arrived while reading was paused for the budget (see `onData`) wait for the budget
    // as bytes not yet read would, and the end behind them (a paused Node socket reports the
    // peer's FIN only once it reads again): they are decoded, then the end, when the budget
    // resumes reading (`#resumeForBudget`; the half-closed peer still gets the answers), or
    // dropped with the connection. Bun 1.4 also reports some resets of a paused socket as an
    // end, after reading the socket to its end: an end is no reason to decode a flood now.
    if (!this.#budgetPaused || this.connection.bufferedAmount === 0) this.#process(false);
  }

  /** The transport's buffer drained after `write()` returned false. */
  onDrain(): void {
    if (this.#state === "closed" && this.#outbox.destroyed) return;
    if (this.#outbox.drain()) this.handler.drain?.();
    this.#account();
  }

  /**
   * The transport failed (connection reset, TLS error …). The connection is closed with 1006,
   * unless both close frames were already exchanged: then the WebSocket connection closed
   * cleanly (RFC 6455 §7.1.4: the TCP connection closed after the closing handshake), however
   * the TCP connection ended (a reset, a TLS peer that sends no close_notify).
   */
  onError(error: unknown): void {
    if (this.#state === "closed") return;
    const failure =
      error instanceof Error
        ? error
        : new WebSocketError("TRANSPORT_ERROR", `Transport failed: ${String(error)}`);
    const ending = this.#endingOf();
    if (ending.closeReceived === undefined || !this.connection.closeSent) ending.failure ??= failure;
    ending.closedBy ??= "remote";
    this.#outbox.destroy();
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
    return this.#outbox.bufferedAmount + (this.#rare?.streams?.deferredBytes ?? 0);
  }

  /**
   * The WHATWG `bufferedAmount`: bytes of application data (payloads, without frame headers)
   * sent and not yet transmitted to the network, counting every send of the current turn of
   * the event loop, and messages waiting for a streamed message to finish.
   */
  get applicationBufferedAmount(): number {
    return this.#outbox.applicationBufferedAmount + (this.#rare?.streams?.deferredBytes ?? 0);
  }

  /**
   * Bytes received and held by the session: not yet decoded by the codec, the message in
   * progress (held until it is whole; inflated bytes included), and decoded messages a pull
   * consumer has not read yet.
   */
  get inboundBufferedAmount(): number {
    return (
      this.connection.bufferedAmount + this.connection.heldMessageBytes + (this.#rare?.consumers?.bytes ?? 0)
    );
  }

  /** Resolves once, with how the connection ended. */
  get closed(): Promise<CloseInfo> {
    const rare = this.#rareOf();
    if (rare.closed === undefined) {
      const info = rare.ending?.closeInfo;
      let resolve: ((info: CloseInfo) => void) | undefined;
      const promise =
        info !== undefined
          ? Promise.resolve(info)
          : new Promise<CloseInfo>((settle) => {
              resolve = settle;
            });
      rare.closed = { promise, resolve };
    }
    return rare.closed.promise;
  }

  /** How the connection ended, once closed. */
  get closeInfo(): CloseInfo | undefined {
    return this.#rare?.ending?.closeInfo;
  }

  /** Starts delivering events (call after setting `handler`). Bytes received before are kept. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#heartbeat !== undefined && this.#state !== "closed")
      this.#keepAliveOf().startHeartbeat(this.#heartbeat);
    if (this.#idleTimeout > 0 && this.#state !== "closed") {
      this.#idle = { lastActivity: now(), timer: undefined };
      this.#armIdleTimer(this.#idleTimeout);
    }
    this.#process(false);
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
    const streams = this.#rare?.streams;
    const behindStream = streams?.pending === true;
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
        ((buffered > 0 && buffered + size > this.limits.maxBufferedAmount) || behindStream)
      )
        size = utf8Length(payload);
    }
    // Over the limit only with something already buffered: one message always fits (see
    // `SessionLimits.maxBufferedAmount`), so the limit bounds a peer that does not read, not
    // the size of a message.
    if (buffered > 0 && buffered + size > this.limits.maxBufferedAmount) {
      this.#overflow(size);
      return false;
    }
    if (
      this.#outbox.textInto &&
      typeof payload === "string" &&
      options === undefined &&
      !behindStream &&
      this.#outbox.writeText(payload)
    ) {
      // Encoded straight into the joined write (see `Outbox.writeText`).
      const idle = this.#idle;
      if (idle !== undefined) idle.lastActivity = now();
      return this.#sent();
    }
    const event: OutboundEvent = textMessage
      ? options === undefined
        ? { type: "text", data: payload }
        : { type: "text", data: payload, options }
      : options === undefined
        ? { type: "binary", data: payload as Uint8Array }
        : { type: "binary", data: payload as Uint8Array, options };
    if (behindStream) {
      (streams as StreamedSends).defer(event, size);
      return false;
    }
    this.#write(this.connection.send(event), size, true);
    return this.#sent();
  }

  /** A message was written: the budget and the meter are told; false when the caller should wait for a drain. */
  #sent(): boolean {
    if (!this.#processing) this.#account();
    const meter = this.#meter;
    if (meter !== undefined) meter.messagesSent++;
    return !this.#outbox.blocked;
  }

  /**
   * Writes a data message that is already framed (the shared bytes of a `PreparedMessage`,
   * see `pubsub/prepared-message.ts`), under the same limit and policy as {@link Session.send}.
   * Returns undefined and writes nothing when the bytes cannot go out as they are now (a
   * message is being streamed, or an extension is still producing an earlier message's
   * bytes): the caller then sends the message with `send()`, which keeps the order.
   *
   * @throws {LocalProtocolError} when a close frame was already sent or received.
   */
  sendFrame(frame: Uint8Array[], size: number): boolean | undefined {
    this.#checkOpen("send a message");
    if (this.#outbox.encoding || this.#rare?.streams?.pending === true) return undefined;
    if (this.bufferedAmount + size > this.limits.maxBufferedAmount) {
      this.#overflow(size);
      return false;
    }
    this.#outbox.writeInTurn(frame, framePayloadLength(frame));
    if (!this.#processing) this.#account();
    const meter = this.#meter;
    if (meter !== undefined) meter.messagesSent++;
    return !this.#outbox.blocked;
  }

  /**
   * Whether the send queue is over the transport's high-water mark: `send()` then returned
   * false, and `drained()` resolves once it is not.
   */
  get blocked(): boolean {
    return this.#outbox.blocked;
  }

  /** Resolves when the send queue is no longer blocked (at once if it is not). */
  drained(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    return this.#outbox.drained();
  }

  /**
   * Sends one message made of the pieces of `source` (RFC 6455 §5.4 fragmentation: one frame
   * per piece), waiting for the send queue to drain between pieces. Whole messages sent
   * meanwhile wait for this message to end. Streams wait for each other.
   */
  sendStream(source: PieceSource, options: SendStreamOptions = {}): Promise<void> {
    const rare = this.#rareOf();
    rare.streams ??= new StreamedSends({
      sendFrame: (event) => {
        this.#write(this.connection.send(event), 0, true);
        // A whole message (sent behind the stream) or a stream's last piece ends a message.
        const meter = this.#meter;
        if (
          meter !== undefined &&
          (event.type === "text" || event.type === "binary") &&
          (event as { last?: boolean }).last !== false
        )
          meter.messagesSent++;
      },
      canSend: () => this.#maySend(),
      blocked: () => this.#outbox.blocked,
      drained: () => this.drained(),
    });
    return handled(rare.streams.send(source, options));
  }

  /**
   * Sends a ping and resolves with the round-trip time in milliseconds when the matching pong
   * arrives (RFC 6455 §5.5.2–§5.5.3; a pong also answers earlier pings). Rejects when the
   * connection closes first. Without a payload, a 4-byte counter is sent. The promise is marked
   * handled: an unawaited `ping()` whose connection drops does not end the process.
   */
  ping(payload?: MessageData): Promise<number> {
    const keepAlive = this.#keepAliveOf();
    const bytes = payload === undefined ? keepAlive.nextPayload() : controlPayloadOf(payload);
    try {
      this.#checkOpen("send a ping");
      this.#write(this.connection.send({ type: "ping", payload: bytes }));
    } catch (error) {
      return rejected(error);
    }
    return handled(keepAlive.expectPong(bytes));
  }

  /** Sends an unsolicited pong (RFC 6455 §5.5.3, a unidirectional heartbeat). */
  pong(payload?: MessageData): void {
    const bytes = controlPayloadOf(payload);
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
    if (!this.#allowed.close || !this.connection.canSendClose) return;
    const event: OutboundEvent =
      code === undefined
        ? { type: "close" }
        : reason === undefined
          ? { type: "close", code }
          : { type: "close", code, reason };
    this.#write(this.connection.send(event));
    this.#endingOf().closedBy ??= "local";
    this.#transition("close");
    this.#armCloseTimer();
  }

  /** Closes the transport at once, without a close handshake; the close is reported as 1006. */
  terminate(): void {
    if (this.#state === "closed") return;
    this.#endingOf().closedBy ??= "local";
    this.#outbox.destroy();
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
    if (this.#meter !== undefined) backpressure(this, "receive", true, this.inboundBufferedAmount);
  }

  /** Resumes after {@link Session.pause}. */
  resume(): void {
    if (!this.#readPaused) return;
    this.#readPaused = false;
    if (this.#meter !== undefined) backpressure(this, "receive", false, this.inboundBufferedAmount);
    if (!this.#eof && !this.#budgetPaused && !this.#waitingTurn) this.#transport.resume();
    this.#process(false);
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
    return streamPair(this.#iterate(), this);
  }

  // ─── Internals ───────────────────────────────────────────────────────────────────────────

  #iterate(): AsyncIterableIterator<Received> {
    const rare = this.#rareOf();
    rare.consumers ??= new Consumers(this.#receiveHighWaterMark, () => this.#maybeResume());
    return rare.consumers.iterate(this.#state === "closed");
  }

  #maybeResume(): void {
    if (!this.#readPaused || (this.#rare?.consumers?.full ?? false)) return;
    // Resume outside the consumer's call stack.
    queueMicrotask(() => this.resume());
  }

  #keepAliveOf(): KeepAlive {
    const rare = this.#rareOf();
    rare.keepAlive ??= new KeepAlive({
      sendPing: (payload) => {
        if (this.#maySend()) this.#write(this.connection.send({ type: "ping", payload }));
      },
      lost: () => {
        this.#endingOf().closedBy ??= "local";
        if (this.#meter !== undefined)
          limitReached("heartbeat", this.#heartbeat?.timeout ?? 0, this.socket, undefined);
        this.#outbox.destroy();
        this.#finish();
      },
    });
    return rare.keepAlive;
  }

  /**
   * Whether the codec failed the connection outside `#process` (an asynchronous inflate that
   * rejected) and the session is still open. Its next event is then the failure, and no
   * message comes before it: it is handled even while reading is paused, so that the session
   * does not stay "open" over a connection that can no longer send (RFC 6455 §7.1.7: the
   * endpoint fails the connection at once, it does not wait for the application to read).
   */
  #failedUnseen(): boolean {
    return this.#state === "open" && !this.connection.canSend && this.connection.failure !== undefined;
  }

  /** Whether messages, pings and pongs may be sent: both the session's and the codec's tables say so. */
  #maySend(): boolean {
    return this.#allowed.send && this.connection.canSend;
  }

  /** Throws the codec's precise LocalProtocolError when data may not be sent. */
  #checkOpen(what: string): void {
    if (this.#maySend()) return;
    const why = this.#state === "closed" ? "the connection is closed" : "the connection is closing";
    throw new LocalProtocolError(ErrorCode.InvalidState, `Cannot ${what}: ${why}`);
  }

  /**
   * Writes a send's bytes, or, when an asynchronous extension is still producing them, writes
   * them when they are ready. `size` is the payload counted in bufferedAmount meanwhile.
   * `data`: a data frame, counted in `applicationBufferedAmount` (an extension's output is
   * counted as `size`, the bytes before it transformed them; else the frame's payload).
   */
  #write(result: Uint8Array[] | Promise<Uint8Array[]>, size = 0, data = false): void {
    const idle = this.#idle;
    if (idle !== undefined) idle.lastActivity = now();
    if (!(result instanceof Promise))
      this.#outbox.write(
        result,
        !data ? 0 : this.connection.extensions.length > 0 ? size : framePayloadLength(result),
      );
    else
      this.#outbox.writeWhenReady(result, size, (error) => {
        if (this.#state !== "closed") this.#fail(error);
      });
  }

  /**
   * Drains the connection's events while started, open and not paused. `busy`: other sessions
   * received data in this turn too, so writes are batched from the first (see `outbox.ts`).
   */
  #process(busy: boolean): void {
    if (!this.#started || this.#processing || this.#waitingTurn) return;
    this.#processing = true;
    this.#outbox.collect(busy);
    const connection = this.connection;
    // What this session may still decode in this turn (an event counts as one frame more: its
    // handler's work); counted across every chunk received in the turn.
    const share = this.#share;
    share.begin();
    try {
      while (this.#state !== "closed" && (!this.#readPaused || this.#failedUnseen())) {
        const read = connection.framesRead;
        const buffered = connection.bufferedAmount;
        const event = connection.nextEvent(share.frames, share.bytes);
        share.frames -= connection.framesRead - read;
        share.bytes -= buffered - connection.bufferedAmount;
        if (event === NEED_DATA) break;
        if (event === YIELD) {
          if (share.next(this.#transport.afterIo)) continue;
          this.#waitTurn();
          break;
        }
        if (event === PENDING) {
          // An extension decodes asynchronously: go on when it is done.
          if (!this.#decoding) {
            this.#decoding = true;
            void this.connection.pending?.then(() => {
              this.#decoding = false;
              this.#process(false);
            });
          }
          break;
        }
        share.frames--;
        this.#handle(event);
      }
    } catch (error) {
      // The owner's handler threw (a `WebSocket` never does: it reports its listeners'
      // exceptions). Failing this connection with 1011 (RFC 6455 §7.4.1: "an unexpected
      // condition") keeps the exception out of the transport's callback, where it would end
      // the process, and harms no other connection.
      if (this.#state !== "closed") this.#fail(handlerError(error));
    } finally {
      this.#processing = false;
      this.#outbox.release();
      this.#account();
    }
  }

  /** Received bytes are left after this slice: let other work run first (see `turns.ts`). */
  #waitTurn(): void {
    this.#waitingTurn = true;
    this.#share.waited();
    if (!this.#readPaused && !this.#budgetPaused) this.#transport.pause();
    const rare = this.#rareOf();
    rare.turn ??= { takeTurn: () => this.#takeTurn() };
    waitTurn(rare.turn, this.#transport.afterIo);
  }

  /** The run queue got to this session: decode the next slice, and read again when done. */
  #takeTurn(): void {
    this.#waitingTurn = false;
    if (this.#state === "closed") return;
    this.#share.waited();
    this.#process(true);
    // The slice may have closed the connection, or queued it again.
    if (this.#mayRead()) this.#transport.resume();
  }

  /** Nothing holds reading paused: not the application, the budget, a turn, or the end. */
  #mayRead(): boolean {
    return (
      !this.#waitingTurn && !this.#readPaused && !this.#budgetPaused && !this.#eof && this.#state !== "closed"
    );
  }

  // ─── Memory budget (see memory-budget.ts) ────────────────────────────────────────────────

  /** Bytes this connection buffers in both directions, as the server's budget counts them. */
  #heldBytes(): number {
    return this.#state === "closed" ? 0 : this.bufferedAmount + this.inboundBufferedAmount;
  }

  /** Tells the server's budget what this connection holds now. */
  #account(): void {
    const budget = this.#budget;
    if (budget === undefined || this.#state === "closed") return;
    const bytes = this.#heldBytes();
    // Nothing held and never reported: the budget has nothing to record.
    if (bytes > 0 || this.#holder !== undefined) budget.report(this.#holderOf(), bytes);
  }

  #holderOf(): SessionBudgetHolder {
    this.#holder ??= budgetHolder(this);
    return this.#holder;
  }

  #pauseForBudget(): void {
    // After a failure nothing more is decoded (received bytes are dropped): nothing to hold.
    if (this.#budgetPaused || this.#state === "closed" || this.#eof || this.connection.failure !== undefined)
      return;
    this.#budgetPaused = true;
    this.#holderOf().pausedBytes = 0;
    (this.#budget as MemoryBudget).paused(this.#holderOf());
    if (!this.#readPaused) {
      this.#transport.pause();
      if (this.#meter !== undefined) backpressure(this, "receive", true, this.inboundBufferedAmount);
    }
  }

  #resumeForBudget(): void {
    if (!this.#budgetPaused) return;
    this.#budgetPaused = false;
    if (this.#readPaused || this.#waitingTurn || this.#state === "closed") return;
    if (this.connection.bufferedAmount > 0) {
      // Bytes delivered while paused wait undecoded (see `onData`): they are decoded first, in
      // the run queue's next turn (not inside the budget's check, which resumes many sessions
      // at once), and the turn reads again after them.
      this.#waitTurn();
    } else if (!this.#eof) this.#transport.resume();
    else return;
    if (this.#meter !== undefined) backpressure(this, "receive", false, this.inboundBufferedAmount);
  }

  /**
   * The server is over its memory budget and this connection holds the most. When most of what
   * it holds is a message still arriving, that message is refused: see
   * {@link Session.#refuseMessageForBudget}. Otherwise the connection is dropped at once, so
   * that its buffers are freed now rather than after a close handshake its peer may never
   * complete. The peer gets a 1008 close frame when the socket can still take one (a peer that
   * does not read has a full socket: nothing more reaches it).
   */
  #shedForBudget(): void {
    if (this.#state === "closed") return;
    if (this.#refuseMessageForBudget()) return;
    this.#dropForBudget(
      `Connection dropped: the server's memory budget (${(this.#budget as MemoryBudget).limit} bytes) is exceeded and this connection held the most buffered bytes (${this.#heldBytes()})`,
    );
  }

  /**
   * Drops the connection for the budget (see {@link Session.#shedForBudget}): a 1008 close
   * frame when the socket can still take one, then the transport is closed at once.
   */
  #dropForBudget(message: string): void {
    const error = new WebSocketError("MEMORY_BUDGET", message);
    const ending = this.#endingOf();
    ending.failure ??= error;
    ending.closedBy ??= "local";
    if (this.#meter !== undefined)
      limitReached("memoryBudget", (this.#budget as MemoryBudget).limit, this.socket, undefined);
    try {
      this.handler.error?.(error);
    } catch {
      // The connection is dropped anyway.
    }
    if (this.connection.canSendClose && !this.#outbox.blocked && !this.#outbox.done) {
      const frame = this.connection.send({
        type: "close",
        code: CloseCode.PolicyViolation,
        reason: "Server memory budget exceeded",
      });
      if (!(frame instanceof Promise)) this.#outbox.write(frame);
      this.#outbox.release();
    }
    this.#outbox.destroy();
    this.#finish();
  }

  /**
   * A message still arriving holds most of this connection's bytes: it is too big for the
   * memory the server can give it now, and fails with 1009 (RFC 6455 §7.4.1: a message "too big
   * for it to process"), as one that would inflate past what the budget has left does at once
   * (`OutputBudget`). Which of the two rules catches a message depends only on how its bytes
   * arrive: a compressed message read in small pieces (Deno reads small chunks first) holds
   * its inflated part and stops being read under pressure, where one read whole fails while
   * it inflates. The codec drops the message, freeing it now; the close handshake is the usual
   * one, so the peer gets the close frame, and reading resumes to take its reply. Returns false
   * when the rule does not apply.
   */
  #refuseMessageForBudget(): boolean {
    const connection = this.connection;
    if (!connection.inMessage) return false;
    const message = connection.bufferedAmount + connection.heldMessageBytes;
    if (message * 2 < this.#heldBytes()) return false;
    const error = new RemoteProtocolError(
      ErrorCode.MessageTooBig,
      CloseCode.MessageTooBig,
      `Cannot assemble message: after ${message} bytes, it needs more than the memory the server can give it now (memoryBudget ${(this.#budget as MemoryBudget).limit} bytes)`,
    );
    if (!connection.fail(error)) return false;
    this.#resumeForBudget();
    this.#fail(error);
    this.#account();
    return true;
  }

  #handle(event: InboundEvent): void {
    switch (event.type) {
      case "text":
      case "binary": {
        const meter = this.#meter;
        if (meter !== undefined) meter.messagesReceived++;
        this.handler.message?.(event.data);
        this.#deliver(event.data, event.data.length);
        return;
      }
      case "text-piece":
      case "binary-piece": {
        const piece: MessagePiece = {
          data: event.data,
          binary: event.type === "binary-piece",
          first: event.first,
          last: event.last,
        };
        const meter = this.#meter;
        if (meter !== undefined && event.last) meter.messagesReceived++;
        this.handler.piece?.(piece);
        this.#deliver(piece, event.data.length);
        return;
      }
      case "ping":
        if (this.#autoPong && this.connection.canSend) this.#outbox.pong(event.payload);
        this.handler.ping?.(event.payload);
        return;
      case "pong":
        this.#rare?.keepAlive?.pong(event.payload);
        this.handler.pong?.(event.payload);
        return;
      case "close":
        // RFC 6455 §5.5.1: answer with a close frame (echoing the code) unless we sent one.
        this.#endingOf().closeReceived = event;
        this.#endingOf().closedBy ??= "remote";
        if (this.connection.canSendClose) {
          const reply =
            this.#echoCloseReason && event.code !== CloseCode.NoStatusReceived
              ? { type: "close" as const, code: event.code, reason: event.reason }
              : closeReplyFor(event);
          this.#write(this.connection.send(reply));
        }
        this.#transition("receive-close");
        this.#handshakeDone();
        return;
      case "failed":
        this.#fail(event.error);
        return;
      case "eof":
        // The transport ended. Complete our half of it, then report (clean or 1006).
        this.#endingOf().closedBy ??= "remote";
        this.#outbox.end();
        this.#finish();
        return;
    }
  }

  #deliver(item: Received, size: number): void {
    if (this.#rare?.consumers?.deliver(item, size) === true) this.pause();
  }

  /** Both close frames are exchanged (RFC 6455 §7.1.1): the server closes TCP first. */
  #handshakeDone(): void {
    if (!this.connection.closeSent) return;
    if (this.role === "server") this.#outbox.end();
    this.#armCloseTimer();
  }

  /** "_Fail the WebSocket Connection_" (RFC 6455 §7.1.7) with the error's close code. */
  #fail(error: RemoteProtocolError | Error): void {
    const ending = this.#endingOf();
    const first = ending.failure === undefined;
    ending.failure ??= error;
    try {
      this.handler.error?.(error);
    } catch {
      // The connection is failing anyway; an error handler that throws changes nothing.
    }
    const code =
      "closeCode" in error && typeof error.closeCode === "number"
        ? error.closeCode
        : CloseCode.PolicyViolation;
    if (this.#meter !== undefined && first) connectionFailed(this, error, code, this.#budget?.limit);
    ending.closedBy ??= "local";
    if (this.connection.canSendClose && !this.#outbox.done) {
      this.#write(this.connection.send({ type: "close", code, reason: truncateCloseReason(error.message) }));
    }
    this.#transition("fail");
    this.#outbox.end();
    this.#armCloseTimer();
  }

  #overflow(size: number): void {
    const error = new WebSocketError(
      "BUFFER_OVERFLOW",
      `Cannot send message: ${size} bytes would take bufferedAmount over maxBufferedAmount (${this.limits.maxBufferedAmount})`,
    );
    this.#endingOf().closeError ??= error;
    if (this.#meter !== undefined)
      limitReached("maxBufferedAmount", this.limits.maxBufferedAmount, this.socket, undefined);
    this.handler.error?.(error);
    // WHATWG: the buffer is full, so the WebSocket is closed (the close frame is not counted).
    if (this.connection.canSendClose) {
      this.#endingOf().closedBy ??= "local";
      this.#write(
        this.connection.send({
          type: "close",
          code: CloseCode.PolicyViolation,
          reason: "Send buffer is full",
        }),
      );
      this.#transition("close");
      this.#armCloseTimer();
    }
  }

  /** Moves along the lifecycle table; an input without an entry leaves the state as it is. */
  #transition(input: SessionInput): void {
    const next = SESSION_TRANSITIONS[this.#state][input];
    if (next === undefined) return;
    this.#state = next;
  }

  /** Closes with 1001 once `idleTimeout` ms passed without traffic (re-armed for the rest). */
  #armIdleTimer(delay: number): void {
    const idle = this.#idle;
    if (idle === undefined) return;
    idle.timer = setTimeout(() => {
      idle.timer = undefined;
      if (this.#state !== "open") return;
      const quiet = now() - idle.lastActivity;
      if (quiet < this.#idleTimeout) {
        this.#armIdleTimer(this.#idleTimeout - quiet);
        return;
      }
      if (this.#meter !== undefined) limitReached("idleTimeout", this.#idleTimeout, this.socket, undefined);
      this.close(CloseCode.GoingAway, "Idle timeout");
    }, delay);
  }

  #armCloseTimer(): void {
    const ending = this.#endingOf();
    if (ending.closeTimer !== undefined || this.#state === "closed") return;
    ending.closeTimer = setTimeout(() => {
      ending.closeTimer = undefined;
      if (this.#state === "closed") return;
      if (this.#meter !== undefined) limitReached("closeTimeout", this.#closeTimeout, this.socket, undefined);
      this.#outbox.destroy();
      this.#finish();
    }, this.#closeTimeout);
  }

  /** The connection is closed: report once and release everything. */
  #finish(): void {
    if (this.#state === "closed") return;
    this.#transition("end");
    const ending = this.#endingOf();
    clearTimeout(ending.closeTimer);
    ending.closeTimer = undefined;
    const idle = this.#idle;
    if (idle !== undefined) {
      clearTimeout(idle.timer);
      idle.timer = undefined;
    }
    // No more bytes will be read: extensions free their memory (zlib) once their work settles,
    // also after terminate(), a transport error or a timeout (no onEnd then).
    this.connection.receiveEof();
    const received = ending.closeReceived;
    const failure = ending.failure;
    // RFC 6455 §7.1.4/§7.1.5: clean when both close frames were exchanged (we may have had
    // to drop the TCP connection after that); the code is the one received, else 1006.
    const clean = received !== undefined && this.connection.closeSent && failure === undefined;
    const info: CloseInfo =
      clean || (received !== undefined && failure === undefined)
        ? { code: received.code, reason: received.reason, wasClean: clean, error: ending.closeError }
        : {
            code: CloseCode.AbnormalClosure,
            reason: "",
            wasClean: false,
            error: failure ?? ending.closeError,
          };
    ending.closeInfo = info;
    if (this.#budget !== undefined && this.#holder !== undefined) this.#budget.closed(this.#holder);
    const rare = this.#rareOf();
    rare.keepAlive?.stop(info.code);
    this.#outbox.closed();
    rare.streams?.clear();
    rare.consumers?.end();
    const closed = rare.closed;
    if (closed !== undefined) {
      closed.resolve?.(info);
      closed.resolve = undefined;
    }
    const meter = this.#meter;
    if (meter !== undefined) {
      meter.closed(this);
      connectionClosed(this, info, ending.closedBy === "remote" ? "client" : "server", this.#openedAt);
    }
    this.handler.close?.(info);
  }
}

/** The owner's handler threw: the connection fails with 1011 (Internal Error), carrying `cause`. */
function handlerError(cause: unknown): Error {
  const error = new WebSocketError(
    "LISTENER_ERROR",
    `The session's handler threw: ${cause instanceof Error ? cause.message : String(cause)}`,
    { cause },
  );
  return Object.assign(error, { closeCode: CloseCode.InternalError });
}
