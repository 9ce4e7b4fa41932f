/**
 * The send side of a session: every frame it writes goes through one {@link Outbox}, which
 * owns the transport's write side. It batches the frames written while received bytes are
 * processed, joins small frames into one buffer per write, queues frames while the transport
 * is over its high-water mark (send backpressure), keeps `bufferedAmount` exact, and
 * half-closes or destroys the transport once.
 *
 * This is the one place that decides which bytes go out together: the transports write each
 * buffer they are given, in order, as they are (see {@link WRITE_BATCH_LIMIT}).
 *
 * @module
 */
import type { Connection } from "@ws/codec";
import { allocateFrame, textFrameRoom } from "@ws/codec/frame";
import { backpressure, type Meter } from "../meter.ts";
import type { Session } from "../session.ts";
import type { Transport } from "../transport.ts";

/**
 * The write batching threshold, the one for the session and every transport.
 *
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
 *
 * Each write's small chunks (frame headers, short payloads) are joined here, up to this many
 * bytes per buffer, and larger chunks are handed over as they are. Why here and not in each
 * transport: the runtimes all want one buffer per write (Node's `writev` costs a `WriteWrap` and
 * a `Buffer` per piece, Bun has no `writev` and sends each `write()` at once, Deno's
 * `conn.write()` is one asynchronous op per buffer), so the joining is the same everywhere; the
 * session knows the frames and their sizes; and one threshold for batching and joining means
 * one number to tune. Joining copies a small frame once, which costs less than a syscall or a
 * `WriteWrap`; a large payload is never copied.
 */
export const WRITE_BATCH_LIMIT: number = 64 * 1024;

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

/**
 * The turn of the event loop in which data frames were last written, for the WHATWG
 * `bufferedAmount` (see {@link Outbox.applicationBufferedAmount}): counts up once a turn with
 * writes has ended, after the turn's I/O (one timer per turn for every session of this module
 * instance) or earlier, when a transport reports a drain (an I/O event: the task that wrote
 * is over; Deno runs such completions before a `setTimeout(0)` timer).
 */
let writeTurn = 0;
let writeTurnOpen = false;
function endWriteTurn(turn: number): void {
  if (writeTurnOpen && writeTurn === turn) {
    writeTurn++;
    writeTurnOpen = false;
  }
}
function currentWriteTurn(): number {
  if (!writeTurnOpen) {
    writeTurnOpen = true;
    const turn = writeTurn;
    afterIo(() => endWriteTurn(turn));
  }
  return writeTurn;
}

/**
 * The payload length of a frame from its header (RFC 6455 §5.2), which the first chunk of a
 * frame the codec made always holds whole.
 */
export function framePayloadLength(frame: readonly Uint8Array[]): number {
  return payloadLengthAt(frame[0] as Uint8Array, 0);
}

/** The payload length of the frame whose header starts at `head[at]`. */
function payloadLengthAt(head: Uint8Array, at: number): number {
  const length = (head[at + 1] as number) & 0x7f;
  if (length < 126) return length;
  if (length === 126) return ((head[at + 2] as number) << 8) | (head[at + 3] as number);
  // 64-bit length: the codec never makes frames of 2^53 bytes or more.
  let value = 0;
  for (let i = at + 2; i < at + 10; i++) value = value * 256 + (head[i] as number);
  return value;
}

/**
 * Counts a data event; true when another one happened earlier in the same turn (the server is
 * busy: batch from the first write, see {@link WRITE_BATCH_LIMIT}).
 */
export function busyTurn(): boolean {
  if (!turnEndScheduled) {
    turnEndScheduled = true;
    afterIo(turnEnds);
  }
  return ++dataEventsThisTurn > 1;
}

/**
 * Outboxes holding frames of a publish until the turn's I/O is over (see
 * {@link Outbox.writeInTurn}), flushed together by one callback.
 */
let publishBatches: Outbox[] = [];
let publishFlushScheduled = false;
function flushPublishBatches(): void {
  const outboxes = publishBatches;
  publishBatches = [];
  publishFlushScheduled = false;
  for (const outbox of outboxes) outbox.flushPublishBatch();
}

/**
 * What an outbox holds only while sends wait: for the transport to drain (send backpressure),
 * or for an asynchronous extension to produce their bytes. Made on first need (see
 * `Outbox.#backlog`): most connections never wait, and these fields on every outbox would make
 * each idle connection bigger.
 */
class Backlog {
  /** Frames the transport did not take yet (it returned false), and their size. */
  readonly queue: Uint8Array[][] = [];
  queuedBytes = 0;
  /**
   * While writes are blocked, only the most recent ping is answered (RFC 6455 §5.5.3 allows
   * it), so a peer that floods pings and reads nothing cannot grow our send queue.
   */
  pendingPong: Uint8Array | undefined = undefined;
  drainWaiters: (() => void)[] | undefined = undefined;
  /** `end()` waits for the queue to drain and the encoding sends to be written. */
  endPending = false;
  /**
   * Sends whose bytes an asynchronous extension (permessage-deflate) is still producing, and
   * their payload sizes (counted in bufferedAmount meanwhile).
   */
  encoding = 0;
  encodingBytes = 0;
}

/**
 * The data frames written and not known to be transmitted yet, oldest first: flat pairs
 * [position after the frame, its payload bytes] from `head` on. Made on first use and dropped
 * once all are transmitted, so an idle connection holds none.
 */
class PayloadMarks {
  readonly pairs: number[] = [];
  head = 0;
}

/** The frames a session writes, on their way to the transport. */
export class Outbox {
  readonly #transport: Transport;
  readonly #connection: Connection;
  /** Received bytes are being processed: writes after the first are batched. */
  #collecting = false;
  // Frames written while processing received bytes, written as one batch afterwards (see
  // WRITE_BATCH_LIMIT); undefined outside processing and, unless the turn is busy, until the first
  // write.
  #batch: Uint8Array[] | undefined;
  #batchBytes = 0;
  /** The payload bytes of the batch's data frames, marked as one when the batch goes out. */
  #batchPayload = 0;
  #blocked = false;
  /** The send queue, and sends an extension is still encoding: made when first needed. */
  #backlog: Backlog | undefined;
  #ended = false;
  #destroyed = false;
  // Application bytes (WHATWG `bufferedAmount`): every frame byte accepted by write() so far,
  // and, oldest first, flat pairs [position after a data frame, its payload bytes] for the data
  // frames not known to be transmitted yet (made on first use; a batch's frames are one mark).
  #written = 0;
  #payloadMarks: PayloadMarks | undefined;
  #markedPayload = 0;
  // Payload bytes written in the turn `#payloadTurn` (see currentWriteTurn).
  #turnPayload = 0;
  #payloadTurn = -1;
  /** The server's counters (bytes sent) and the session named in backpressure events. */
  readonly #meter: Meter | undefined;
  readonly #session: Session | undefined;

  constructor(transport: Transport, connection: Connection, meter?: Meter, session?: Session) {
    this.#transport = transport;
    this.#connection = connection;
    this.#meter = meter;
    this.#session = session;
    this.#textInto =
      transport.copiesWrites === true && connection.role === "server" && connection.extensions.length === 0;
  }

  /**
   * Whether text messages may be encoded straight into the joined write (see
   * {@link Outbox.writeText}): where the transport copies what it takes (Bun), for a server (a
   * client's frames are masked) without extensions (they transform the bytes).
   */
  readonly #textInto: boolean;

  /** The transport written to (the session reads it from here rather than holding it twice). */
  get transport(): Transport {
    return this.#transport;
  }

  get textInto(): boolean {
    return this.#textInto;
  }

  /** Whether the transport is over its high-water mark (writes are queued until it drains). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Whether the transport was half-closed or destroyed: nothing more is written. */
  get done(): boolean {
    return this.#ended || this.#destroyed;
  }

  /** Whether the transport was destroyed. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * Bytes written and not yet flushed by the runtime: queued and batched frames, payloads an
   * extension is still encoding, and the transport's own `bufferedAmount`.
   */
  get bufferedAmount(): number {
    const backlog = this.#backlog;
    const held = backlog === undefined ? 0 : backlog.queuedBytes + backlog.encodingBytes;
    return held + this.#batchBytes + (this.#transport.bufferedAmount ?? 0);
  }

  /** The backlog, made on first need (see {@link Backlog}). */
  #backlogOf(): Backlog {
    this.#backlog ??= new Backlog();
    return this.#backlog;
  }

  /**
   * The WHATWG `bufferedAmount` (https://websockets.spec.whatwg.org/#dom-websocket-bufferedamount):
   * bytes of application data (payloads, not frame headers) written and not yet transmitted
   * to the network, including everything written in the current turn of the event loop (the
   * standard's value is "as of the last time the event loop reached step 1", so a send counts
   * in the task that made it even when the runtime wrote it out at once), plus payloads an
   * extension is still encoding.
   */
  get applicationBufferedAmount(): number {
    this.#dropTransmitted();
    const thisTurn = writeTurnOpen && this.#payloadTurn === writeTurn ? this.#turnPayload : 0;
    // The marks are in write order and this turn's writes are the newest: the bytes not yet
    // transmitted and this turn's bytes overlap, so the union is the larger of the two.
    return Math.max(this.#markedPayload + this.#batchPayload, thisTurn) + (this.#backlog?.encodingBytes ?? 0);
  }

  /** Counts a data frame of `payload` application bytes in this turn's (see above). */
  #countInTurn(payload: number): void {
    const turn = currentWriteTurn();
    if (turn !== this.#payloadTurn) {
      this.#payloadTurn = turn;
      this.#turnPayload = 0;
    }
    this.#turnPayload += payload;
  }

  /** Records a data frame of `payload` application bytes, just written, as not transmitted yet. */
  #markPayload(payload: number): void {
    this.#payloadMarks ??= new PayloadMarks();
    const marks = this.#payloadMarks;
    marks.pairs.push(this.#written, payload);
    this.#markedPayload += payload;
    // Forget transmitted frames now and then, so that the marks stay few when nobody reads
    // bufferedAmount.
    if (marks.pairs.length - marks.head >= 256) this.#dropTransmitted();
  }

  /** Forgets the data frames whose bytes all left the session and the runtime. */
  #dropTransmitted(): void {
    const payloadMarks = this.#payloadMarks;
    if (payloadMarks === undefined) return;
    const marks = payloadMarks.pairs;
    const unsent =
      (this.#backlog?.queuedBytes ?? 0) + this.#batchBytes + (this.#transport.bufferedAmount ?? 0);
    const transmitted = this.#destroyed ? Number.POSITIVE_INFINITY : this.#written - unsent;
    let head = payloadMarks.head;
    while (head < marks.length && (marks[head] as number) <= transmitted) {
      this.#markedPayload -= marks[head + 1] as number;
      head += 2;
    }
    if (head === marks.length) {
      // All transmitted: an idle connection keeps no marks.
      this.#payloadMarks = undefined;
      return;
    }
    if (head >= 512) {
      marks.splice(0, head);
      head = 0;
    }
    payloadMarks.head = head;
  }

  /**
   * Received bytes are being processed: collect what is written into one batch, from the
   * first write when the turn is busy, else from the second (see {@link WRITE_BATCH_LIMIT}).
   */
  collect(fromFirstWrite: boolean): void {
    this.#collecting = true;
    // A batch may be open already (frames of a publish waiting for the end of the turn, see
    // writeInTurn): it is kept, and goes out with what processing adds.
    if (fromFirstWrite) this.#batch ??= [];
  }

  /** Processing ended: the collected frames go out as one transport write. */
  release(): void {
    this.#collecting = false;
    this.#flushBatch();
    this.#batch = undefined;
    this.#leaveJoin();
  }

  /**
   * From a text message on, while nothing else is collected yet, the batch of the frames
   * written while processing is joined as it is written, straight into the shared join buffer
   * (see {@link joinOwner}), where the transport copies what it takes (`copiesWrites`) and the
   * buffer is free. Batches without text keep collecting chunks, joined when they go out.
   */
  #join(): boolean {
    if (joinOwner === this) return true;
    // Only `writeText` joins, and only where `#textInto` holds (the transport copies writes).
    if (!this.#collecting || this.#batch?.length !== 0 || scratchInUse) return false;
    scratchInUse = true;
    joinOwner = this;
    joinedLength = 0;
    return true;
  }

  /** This outbox's batch is no longer joined as it is written: the shared buffer is free. */
  #leaveJoin(): void {
    if (joinOwner !== this) return;
    joinOwner = undefined;
    joinedLength = 0;
    scratchInUse = false;
  }

  /**
   * Whether a frame of `size` bytes (at most the buffer's size) goes into the joined batch.
   * When it does not fit behind what is joined, that goes out first.
   */
  #joins(size: number): boolean {
    if (joinOwner !== this || this.#blocked) return false;
    if (joinedLength + size <= WRITE_BATCH_LIMIT) return true;
    this.#flushJoined();
    return joinOwner === this && !this.#blocked;
  }

  /**
   * Writes a text message's frame, encoded by the connection straight into the joined batch
   * (`Connection.sendTextInto`: no array of its own for the encoded string, and no copy when
   * the batch is joined). False when there is no joined batch or the connection cannot encode
   * it there: the caller then sends the message as usual.
   */
  writeText(text: string): boolean {
    const connection = this.#connection;
    if (!this.#textInto || this.#blocked || this.#destroyed || this.#ended || !this.#join()) return false;
    const room = textFrameRoom(text);
    if (room > WRITE_BATCH_LIMIT || !this.#joins(room)) return false;
    const target = joinView();
    const offset = joinedLength;
    const size = connection.sendTextInto(text, target, offset);
    if (size === 0) return false;
    const payload = payloadLengthAt(target, offset);
    joinedLength += size;
    this.#written += size;
    this.#batchBytes += size;
    this.#batchPayload += payload;
    if (payload > 0) this.#countInTurn(payload);
    return true;
  }

  /** Writes the joined batch as one transport write (the same rules as {@link Outbox.#flushBatch}). */
  #flushJoined(): void {
    const size = joinedLength;
    if (size === 0) return;
    joinedLength = 0;
    this.#batchBytes = 0;
    const payload = this.#batchPayload;
    this.#batchPayload = 0;
    if (this.#meter !== undefined) this.#meter.bytesSent += size;
    // Frames written from inside the transport's write() are collected as chunks, behind
    // these bytes; the buffer stays reserved until it is known whether the transport took all.
    joinOwner = undefined;
    const sent = this.#transport.write([new Uint8Array(scratchBuffer as ArrayBuffer, 0, size)]);
    if (!sent) {
      // The transport keeps a view of what it did not take: the buffer is its own now.
      scratchBuffer = undefined;
      this.#block();
    }
    if (sent && !this.done && (this.#batch?.length ?? 1) === 0) joinOwner = this;
    else scratchInUse = false;
    if (
      payload > 0 &&
      (this.#blocked || this.#markedPayload > 0 || (this.#transport.bufferedAmount ?? 0) > 0)
    )
      this.#markPayload(payload);
    if (sent && this.#payloadMarks !== undefined) this.#dropTransmitted();
  }

  /**
   * Writes a frame's bytes: at once, into the batch, or into the queue while blocked.
   * `payload`: the application bytes of a data frame (counted in `applicationBufferedAmount`).
   */
  write(chunks: Uint8Array[], payload = 0): void {
    if (this.#destroyed || this.#ended) return;
    for (const chunk of chunks) this.#written += chunk.length;
    if (payload > 0) this.#countInTurn(payload);
    if (joinOwner === this && !this.#blocked) {
      let size = 0;
      for (const chunk of chunks) size += chunk.length;
      if (size > WRITE_BATCH_LIMIT) {
        // A frame larger than the buffer goes out as it is (its payload is not copied),
        // behind what is joined; joining goes on behind it.
        this.#flushJoined();
        if (joinOwner === this && !this.#blocked) {
          this.#writeNow(chunks, payload);
          return;
        }
      } else if (this.#joins(size)) {
        joinInto(joinView(), chunks, 0, chunks.length, joinedLength);
        joinedLength += size;
        this.#batchBytes += size;
        this.#batchPayload += payload;
        return;
      }
    }
    if (this.#blocked) {
      const backlog = this.#backlogOf();
      backlog.queue.push(chunks);
      for (const chunk of chunks) backlog.queuedBytes += chunk.length;
      if (payload > 0) this.#markPayload(payload);
      return;
    }
    const batch = this.#batch;
    if (batch !== undefined) {
      for (const chunk of chunks) {
        batch.push(chunk);
        this.#batchBytes += chunk.length;
      }
      this.#batchPayload += payload;
      if (this.#batchBytes >= WRITE_BATCH_LIMIT) this.#flushBatch();
      return;
    }
    this.#writeNow(chunks, payload);
    if (this.#collecting) this.#batch = [];
  }

  /** Hands a frame to the transport at once. */
  #writeNow(chunks: Uint8Array[], payload: number): void {
    if (!this.#hand(chunks)) this.#block();
    // No mark when the runtime took every byte at once and nothing older waits (the common
    // case on Node and Bun): this frame is transmitted already.
    if (
      payload > 0 &&
      (this.#blocked || this.#markedPayload > 0 || (this.#transport.bufferedAmount ?? 0) > 0)
    )
      this.#markPayload(payload);
  }

  /**
   * Writes frames shared with other connections (a published message, see
   * `pubsub/prepared-message.ts`): as {@link Outbox.write}, but what is written to this
   * connection until the I/O callbacks of this turn of the event loop are over goes out as one
   * transport write (one `setImmediate` flushes every connection's batch): the messages
   * published in one turn, from any number of received messages, timers or sockets, reach each
   * subscriber in one write (one syscall) instead of one write per message. Frames written
   * meanwhile by `send()` join the batch, in order.
   */
  writeInTurn(chunks: Uint8Array[], payload = 0): void {
    if (this.#batch === undefined && !this.#collecting && !this.#blocked && !this.done) {
      this.#batch = [];
      publishBatches.push(this);
      if (!publishFlushScheduled) {
        publishFlushScheduled = true;
        afterIo(flushPublishBatches);
      }
    }
    this.write(chunks, payload);
  }

  /** The turn's I/O is over: the frames of {@link Outbox.writeInTurn} go out. */
  flushPublishBatch(): void {
    if (this.#collecting) return; // processing received bytes: release() flushes the batch
    this.#flushBatch();
    this.#batch = undefined;
  }

  /** Whether an asynchronous extension is still producing an earlier send's bytes. */
  get encoding(): boolean {
    return (this.#backlog?.encoding ?? 0) > 0;
  }

  /**
   * Writes a send's bytes when an asynchronous extension has produced them: the codec settles
   * such results in call order, so the wire order is the send order. `size` is the payload,
   * counted in `bufferedAmount` meanwhile. `failed` is told when the extension fails.
   */
  writeWhenReady(result: Promise<Uint8Array[]>, size: number, failed: (error: Error) => void): void {
    const backlog = this.#backlogOf();
    backlog.encoding++;
    backlog.encodingBytes += size;
    result.then(
      (chunks) => {
        this.#encodingDone(size);
        this.write(chunks, size);
        if (backlog.endPending) this.end();
      },
      (error: unknown) => {
        this.#encodingDone(size);
        failed(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  #encodingDone(size: number): void {
    const backlog = this.#backlog as Backlog;
    backlog.encoding--;
    backlog.encodingBytes -= size;
  }

  /**
   * Answers a ping (RFC 6455 §5.5.2). While blocked, only the latest ping is answered, once the
   * transport drains (§5.5.3).
   */
  pong(payload: Uint8Array): void {
    if (this.#blocked) this.#backlogOf().pendingPong = payload;
    else this.write(this.#connection.send({ type: "pong", payload }));
  }

  /**
   * The transport drained: writes what was queued. True when the queue is empty again (the
   * application is told), false when the transport filled up again or was not blocked.
   */
  drain(): boolean {
    endWriteTurn(writeTurn);
    // A transport may report a drain nobody waits for (Node emits 'drain' after a write that
    // returned false even when the bytes then went out at once): nothing is queued then.
    if (!this.#blocked) return false;
    // Read afresh on each turn: a write may destroy the transport, which drops the queue.
    while (this.#backlog !== undefined && this.#backlog.queue.length > 0) {
      const backlog = this.#backlog;
      const chunks = backlog.queue.shift() as Uint8Array[];
      for (const chunk of chunks) backlog.queuedBytes -= chunk.length;
      if (!this.#hand(chunks)) return false;
    }
    this.#blocked = false;
    const session = this.#session;
    if (this.#meter !== undefined && session !== undefined)
      backpressure(session, "send", false, this.bufferedAmount);
    const backlog = this.#backlog;
    if (backlog !== undefined) {
      const pong = backlog.pendingPong;
      backlog.pendingPong = undefined;
      if (pong !== undefined && this.#connection.canSend)
        this.write(this.#connection.send({ type: "pong", payload: pong }));
      if (backlog.endPending) this.end();
    }
    this.#wake();
    return true;
  }

  /** Resolves when the queue is no longer blocked (at once if it is not). */
  drained(): Promise<void> {
    if (!this.#blocked) return Promise.resolve();
    return new Promise((resolve) => {
      const backlog = this.#backlogOf();
      backlog.drainWaiters ??= [];
      backlog.drainWaiters.push(resolve);
    });
  }

  /** Resolves every `drained()` promise (the queue drained, or the connection closed). */
  #wake(): void {
    const backlog = this.#backlog;
    if (backlog === undefined) return;
    const waiters = backlog.drainWaiters;
    backlog.drainWaiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve();
  }

  /** The connection is closed: nobody waits for a drain any more. */
  closed(): void {
    this.#wake();
  }

  /** Writes the frames collected while processing, as one transport write. */
  #flushBatch(): void {
    // Joined as written: nothing was collected as chunks meanwhile (see #joins).
    if (joinOwner === this) {
      this.#flushJoined();
      return;
    }
    const batch = this.#batch;
    if (batch === undefined || batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    const payload = this.#batchPayload;
    this.#batchPayload = 0;
    if (this.#destroyed || this.#ended) return;
    const sent = this.#hand(batch);
    if (!sent) this.#block();
    // The batch's frames are one transport write, so they are marked as one, and only when
    // some bytes are not transmitted yet (as in write()): most often the runtime takes them
    // all at once.
    if (
      payload > 0 &&
      (this.#blocked || this.#markedPayload > 0 || (this.#transport.bufferedAmount ?? 0) > 0)
    )
      this.#markPayload(payload);
    // Older marks may be transmitted now: they (and their array) can go now rather than when
    // someone next reads `bufferedAmount`.
    if (sent && this.#payloadMarks !== undefined) this.#dropTransmitted();
  }

  /** The transport is over its high-water mark: writes queue until it drains. */
  #block(): void {
    this.#blocked = true;
    const session = this.#session;
    if (this.#meter !== undefined && session !== undefined)
      backpressure(session, "send", true, this.bufferedAmount);
  }

  /**
   * One transport write of `chunks`, each run of small chunks joined into one buffer (see
   * {@link WRITE_BATCH_LIMIT}). Returns what the transport returned.
   */
  #hand(chunks: Uint8Array[]): boolean {
    const meter = this.#meter;
    if (chunks.length === 1) {
      if (meter !== undefined) meter.bytesSent += (chunks[0] as Uint8Array).length;
      return this.#transport.write(chunks);
    }
    let out: Uint8Array[] | undefined;
    let start = 0;
    let size = 0;
    let all = 0;
    for (let i = 0; i < chunks.length; i++) {
      const length = (chunks[i] as Uint8Array).length;
      all += length;
      // A run starts with its first chunk, whatever its size: a run is never empty.
      if (size + length <= WRITE_BATCH_LIMIT || i === start) {
        size += length;
        continue;
      }
      out ??= [];
      out.push(join(chunks, start, i, size));
      start = i;
      size = length;
    }
    if (meter !== undefined) meter.bytesSent += all;
    if (out === undefined) {
      const transport = this.#transport;
      const copies = transport.copiesWrites === true;
      if ((!copies && transport.writesThrough !== true) || scratchInUse)
        return transport.write([join(chunks, start, chunks.length, size)]);
      // The transport is done with the buffer when write() returns true (copiesWrites) or
      // leaves nothing waiting (writesThrough): join into the shared one. Otherwise it may keep
      // views of it: the buffer is then the transport's.
      scratchInUse = true;
      try {
        const sent = transport.write([joinInto(scratch(size), chunks, start, chunks.length)]);
        if (copies ? !sent : transport.bufferedAmount !== 0) scratchBuffer = undefined;
        return sent;
      } finally {
        scratchInUse = false;
      }
    }
    out.push(join(chunks, start, chunks.length, size));
    return this.#transport.write(out);
  }

  /** Half-closes the transport once the queued frames are flushed. */
  end(): void {
    if (this.#ended || this.#destroyed) return;
    this.#flushBatch();
    const backlog = this.#backlog;
    if (backlog !== undefined && (backlog.queue.length > 0 || backlog.encoding > 0)) {
      backlog.endPending = true;
      return;
    }
    this.#ended = true;
    if (backlog !== undefined) backlog.endPending = false;
    this.#transport.end();
  }

  /** Closes the transport at once, dropping what is queued. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const backlog = this.#backlog;
    if (backlog !== undefined) {
      backlog.queue.length = 0;
      backlog.queuedBytes = 0;
    }
    if (this.#batch !== undefined) this.#batch = [];
    if (joinOwner === this) joinedLength = 0;
    this.#batchBytes = 0;
    this.#batchPayload = 0;
    this.#transport.destroy();
  }
}

/**
 * The buffer writes are joined into for transports that are done with what they are given when
 * `write()` returns ({@link Transport.copiesWrites}, {@link Transport.writesThrough}): one for
 * all sessions of this module instance, made on first use and grown up to
 * {@link WRITE_BATCH_LIMIT}. A new buffer per write costs more than the frames' bytes (a batch
 * over the codec's slab limit gets its own zero-filled `ArrayBuffer`), and on V8 every such
 * buffer counts as external memory until a garbage collection frees it: a busy server churning
 * them collects its old generation far more often. `scratchInUse` guards against a transport that writes again from inside
 * `write()` (then that write joins into a new buffer).
 */
let scratchBuffer: ArrayBuffer | undefined;
let scratchInUse = false;

/**
 * The outbox whose batch is joined as it is written, straight into the shared join buffer,
 * and how many bytes of it are filled: on a transport that copies what it takes
 * (`copiesWrites`, Bun), one outbox at a time, from the start of its processing to its
 * release (the buffer is `scratchInUse` meanwhile: others join elsewhere). A text message is
 * then encoded into the buffer itself (see {@link Outbox.writeText}).
 */
let joinOwner: Outbox | undefined;
let joinedLength = 0;
/** A view of the whole shared join buffer (of `joinTargetOf`), for joining as written. */
let joinTarget: Uint8Array | undefined;
let joinTargetOf: ArrayBuffer | undefined;

function joinView(): Uint8Array {
  if (scratchBuffer === undefined) scratchBuffer = new ArrayBuffer(WRITE_BATCH_LIMIT);
  if (joinTargetOf !== scratchBuffer || joinTarget === undefined) {
    joinTarget = new Uint8Array(scratchBuffer);
    joinTargetOf = scratchBuffer;
  }
  return joinTarget;
}

/** A view of `size` bytes at the start of the shared join buffer. */
function scratch(size: number): Uint8Array {
  if (scratchBuffer === undefined || scratchBuffer.byteLength < size)
    scratchBuffer = new ArrayBuffer(Math.max(size, WRITE_BATCH_LIMIT));
  return new Uint8Array(scratchBuffer, 0, size);
}

/** `chunks[start..end)` (`size` bytes in all) as one buffer: the chunk itself when it is alone. */
function join(chunks: readonly Uint8Array[], start: number, end: number, size: number): Uint8Array {
  if (end - start === 1) return chunks[start] as Uint8Array;
  // From the codec's slab of outbound frames: a fresh ArrayBuffer per small write costs more
  // than the copy.
  return joinInto(allocateFrame(size), chunks, start, end);
}

/** Copies `chunks[start..end)` into `out` from `at`, where it has room for their bytes. */
function joinInto(
  out: Uint8Array,
  chunks: readonly Uint8Array[],
  start: number,
  end: number,
  at = 0,
): Uint8Array {
  let offset = at;
  for (let i = start; i < end; i++) {
    const chunk = chunks[i] as Uint8Array;
    const length = chunk.length;
    if (length > SMALL_COPY_MAX) out.set(chunk, offset);
    else for (let j = 0; j < length; j++) out[offset + j] = chunk[j] as number;
    offset += length;
  }
  return out;
}

/**
 * Chunks up to this many bytes (frame headers, short payloads) are copied by a loop: `set()`
 * is a call into the engine whose fixed cost is more than the loop's for a few bytes (on V8
 * and JavaScriptCore alike).
 */
const SMALL_COPY_MAX = 16;
