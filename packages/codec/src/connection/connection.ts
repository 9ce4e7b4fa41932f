/**
 * `Connection`: one WebSocket connection after the opening handshake, for either role, as a
 * sans-I/O state machine (RFC 6455 §5–§7). Bytes in, events out; events in, bytes out. It owns
 * no socket, timer or clock: the adapter moves the bytes and keeps the time.
 *
 * - `receive(bytes)` / `receiveEof()` feed what the transport delivered;
 * - `nextEvent()` returns the next {@link InboundEvent}, or {@link NEED_DATA};
 * - `send(event)` returns the bytes to write, as one or two buffers per frame.
 *
 * Policy stays with the caller: the connection does not answer pings or close frames by itself;
 * {@link pongFor} and {@link closeReplyFor} build the usual answers.
 *
 * @module
 */

import { decodeClosePayload, encodeClosePayload } from "../close/close.ts";
import { CloseCode, isControlOpcode, MAX_CONTROL_PAYLOAD, Opcode } from "../constants.ts";
import { ErrorCode, LocalProtocolError, RemoteProtocolError } from "../errors.ts";
import type { Extension, MessageEncoder } from "../extensions/extension.ts";
import { FrameDecoder, type FramePiece, type SmallFrame } from "../frame/decoder.ts";
import {
  encodeFrameInto,
  encodeFrameParts,
  encodeTextFrame,
  encodeTextFrameInto,
  textFrameRoom,
} from "../frame/encode.ts";
import { frameHeaderSize, writeFrameHeader } from "../frame/header.ts";
import { maskInto } from "../frame/mask.ts";
import { type Limits, resolveLimits } from "../limits.ts";
import { concat, MessageAssembler, type OutputBudget, oneSmallFrameMessage } from "../message/assembler.ts";
import type { Utf8RangeDecoder } from "../message/utf8.ts";
import { type RandomSource, utf8Encoder, webRandom } from "../web-globals.ts";
import type { CloseReceived, InboundEvent, OutboundEvent, PingEvent, SendOptions } from "./events.ts";
import { ALLOWED, type AllowedInputs, type ConnectionInput, ConnectionState, TRANSITIONS } from "./states.ts";

/** Returned by {@link Connection.nextEvent} when more bytes are needed. */
export const NEED_DATA: unique symbol = Symbol("NEED_DATA");

/**
 * Returned by {@link Connection.nextEvent} while an extension decodes a message asynchronously
 * (permessage-deflate on node:zlib): wait for {@link Connection.pending}, then call
 * `nextEvent` again. Never returned without an asynchronous extension.
 */
export const PENDING: unique symbol = Symbol("PENDING");

/**
 * Returned by {@link Connection.nextEvent} when it read the `maxFrames` frames, or took the
 * `maxBytes` received bytes, it was allowed without completing an event, and received bytes are
 * still buffered. Call `nextEvent` again, after letting other work run, so that a peer's flood
 * (RFC 6455 §10.4: of tiny frames, as a message may come in any number of fragments, or of
 * large ones) does not hold its caller for as long as the flood lasts. Never returned without a
 * `maxFrames` argument.
 */
export const YIELD: unique symbol = Symbol("YIELD");

/** Options for a {@link Connection}. */
export interface ConnectionOptions {
  /** This endpoint's role. A client masks what it sends and expects nothing masked back. */
  readonly role: "client" | "server";
  /** Overrides of the default {@link Limits}. */
  readonly limits?: Partial<Limits>;
  /** Extensions negotiated in the opening handshake, in the order of the response header. */
  readonly extensions?: readonly Extension[];
  /** Deliver data messages as `text-piece` / `binary-piece` events as they arrive. Default false. */
  readonly streamMessages?: boolean;
  /** Randomness for masking keys (client role). Default: `globalThis.crypto.getRandomValues`. */
  readonly random?: RandomSource;
  /**
   * Memory shared with other connections for what extensions decode (a server's memory
   * budget); see {@link OutputBudget}. Default: only `limits.maxMessageSize` bounds it.
   */
  readonly outputBudget?: OutputBudget | undefined;
  /**
   * Received data payloads of at most this many bytes are delivered in fresh arrays rather
   * than as views of the received chunks (see `FrameDecoderOptions.copyPayloadsUpTo`: cheaper
   * on JavaScriptCore), and frames (or frame headers) of at most this many bytes are encoded
   * into fresh arrays rather than views of the shared outbound slab. Default 0.
   */
  readonly copyPayloadsUpTo?: number | undefined;
  /**
   * Makes the array a received data frame spanning several received chunks is unmasked into,
   * `size` bytes long, every byte of which the codec writes before delivering it (see
   * `FrameDecoderOptions.allocate`): it need not be zero-filled. Default: `new Uint8Array(size)`.
   */
  readonly allocate?: ((size: number) => Uint8Array) | undefined;
  /**
   * Decodes a range of a received chunk as UTF-8 without a view of it: the string, or undefined
   * when the bytes are not valid UTF-8 (see {@link Utf8RangeDecoder}). Used for text messages
   * that come whole in one frame; others are decoded as they arrive, by a fatal `TextDecoder`.
   * For a runtime whose own decoder reads a range of an array (Bun's `Buffer`), where a view
   * costs about as much as decoding a kilobyte. Default: a fatal `TextDecoder` over a view.
   */
  readonly decodeText?: Utf8RangeDecoder | undefined;
}

/** The settings for received payloads and frames sent, shared by connections made with the same ones. */
interface PayloadSettings {
  /** `ConnectionOptions.copyPayloadsUpTo`. */
  readonly copyUpTo: number;
  readonly decodeText: Utf8RangeDecoder | undefined;
}

/** The payload settings made last, given again to connections made with the same options. */
let lastPayloadSettings: PayloadSettings = { copyUpTo: 0, decodeText: undefined };

/**
 * The payload settings for these options: the last ones made when they match (a server's
 * connections share one object), so that a connection holds one field for them.
 */
function payloadSettingsOf(copyUpTo: number, decodeText: Utf8RangeDecoder | undefined): PayloadSettings {
  const last = lastPayloadSettings;
  if (last.copyUpTo !== copyUpTo || last.decodeText !== decodeText)
    lastPayloadSettings = { copyUpTo, decodeText };
  return lastPayloadSettings;
}

/** Masking keys are drawn from a pool refilled this many bytes at a time (ws, undici). */
const MASK_POOL_SIZE = 8192;

const EMPTY = new Uint8Array(0);

/** Connections without extensions (most) share this one instead of an empty array each. */
const NO_EXTENSIONS: readonly Extension[] = Object.freeze([]);
/**
 * Where the decoder puts a small frame it reads without allocating (see
 * `FrameDecoder.nextSmallFrame`). One for every connection: it is filled and emptied within
 * one call of `nextEvent`, which nothing re-enters (the assembler runs no user code on this
 * path: no extension decodes the message), so no connection needs one of its own.
 */
const smallFrame: SmallFrame = { fin: false, opcode: 0, payloadLength: 0, source: EMPTY, start: 0, end: 0 };

/**
 * The masking key handed out for one frame. Shared by every connection: each frame's key is
 * read only while that frame is encoded (written into its header and XORed into its payload,
 * synchronously), never kept, so the next frame may overwrite it. A view of the random pool
 * per frame cost more than the rest of encoding a short masked frame.
 */
const frameKey = new Uint8Array(4);

/**
 * A client's masking keys (RFC 6455 §5.3), drawn from a pool refilled {@link MASK_POOL_SIZE}
 * bytes at a time. Only a client masks, so a server's connection has none.
 */
class MaskingKeys {
  readonly #random: RandomSource;
  #pool: Uint8Array = EMPTY;
  #offset = MASK_POOL_SIZE;

  constructor(random: RandomSource) {
    this.#random = random;
  }

  /**
   * A fresh masking key for one frame, valid until the next call on any connection (see
   * {@link frameKey}): the caller encodes the frame with it at once.
   */
  next(): Uint8Array {
    let pool = this.#pool;
    let offset = this.#offset;
    if (offset + 4 > MASK_POOL_SIZE) {
      // Refilled in place: keys are copied out, so nothing holds a view of the pool.
      if (pool === EMPTY) this.#pool = pool = new Uint8Array(MASK_POOL_SIZE);
      this.#random(pool);
      offset = 0;
    }
    frameKey[0] = pool[offset] as number;
    frameKey[1] = pool[offset + 1] as number;
    frameKey[2] = pool[offset + 2] as number;
    frameKey[3] = pool[offset + 3] as number;
    this.#offset = offset + 4;
    return frameKey;
  }
}

/**
 * Asynchronous extension work of a connection (permessage-deflate on node:zlib): an inbound
 * message being decoded, and the chain of sends whose bytes are not ready yet (later sends wait
 * behind it to keep the wire order); and whether the extensions were closed. Made on first
 * need: a connection without extensions never has any.
 */
class ExtensionWork {
  inboundPending: Promise<void> | undefined = undefined;
  ready: InboundEvent | undefined = undefined;
  sendChain: Promise<void> | undefined = undefined;
  sendsPending = 0;
  extensionsClosed = false;
}

/** The outbound events whose bytes are always ready at once. */
export type PingPongOutbound = Extract<OutboundEvent, { readonly type: "ping" | "pong" }>;

/**
 * What an open server connection does not need, in one object made on first need, so that the
 * connection's own fields stay few (an object's size grows with its field count, in steps) and
 * an idle one pays for none of these: how it is ending (the peer's close frame, a failure, the
 * transport's end, and whether each was reported), the message being sent in pieces, and a
 * client's masking keys (a server does not mask, RFC 6455 §5.1).
 */
class Rare {
  closeReceived: CloseReceived | undefined = undefined;
  failure: RemoteProtocolError | undefined = undefined;
  failureReported = false;
  eof = false;
  eofReported = false;
  outbound: OutboundMessage | undefined = undefined;
  masks: MaskingKeys | undefined = undefined;
}

/** An outbound message being sent in pieces. */
interface OutboundMessage {
  readonly kind: "text" | "binary";
  readonly rsv: number;
  readonly encoders: readonly MessageEncoder[];
  first: boolean;
}

/**
 * A WebSocket connection for either role, after the opening handshake.
 *
 * A misbehaving peer never makes it throw: `nextEvent` returns a `failed` event carrying a
 * {@link RemoteProtocolError} with the close code to send, and the state becomes `failed`.
 * Sending what the state forbids throws a {@link LocalProtocolError}; bad arguments throw
 * `TypeError` / `RangeError`.
 *
 * @example
 * ```ts
 * import { Connection, NEED_DATA } from "@ws/codec";
 * const server = new Connection({ role: "server" });
 * const client = new Connection({ role: "client" });
 * for (const bytes of client.send({ type: "text", data: "hi" })) server.receive(bytes);
 * const event = server.nextEvent(); // { type: "text", data: "hi" }
 * ```
 */
export class Connection {
  /** This endpoint's role. */
  readonly role: "client" | "server";
  /** The limits in force. */
  readonly limits: Limits;
  /** The negotiated extensions. */
  readonly extensions: readonly Extension[];

  #state: ConnectionState = ConnectionState.Open;
  /** What the state allows, from the transition table (`ALLOWED[#state]`). */
  #allowed: AllowedInputs = ALLOWED.open;
  readonly #decoder: FrameDecoder;
  /**
   * Made for the first data frame that is not a message in one frame of up to 64 KiB (see
   * `oneSmallFrameMessage`): a connection whose messages all come that way, and an idle one,
   * need none. Made at once for what needs more options than the limits and the
   * extensions' absence (streamed messages, extensions), so the connection keeps no options.
   */
  #assembler: MessageAssembler | undefined;
  /** `ConnectionOptions.copyPayloadsUpTo` (also for the frames sent) and `decodeText`. */
  readonly #payloads: PayloadSettings;

  #closeSent = false;
  /** What an open server connection does not need, made on first need (see {@link Rare}). */
  #rare: Rare | undefined;
  /** Asynchronous extension work, made on first need (see {@link ExtensionWork}). */
  #work: ExtensionWork | undefined;
  #framesRead = 0;

  /** Creates a connection for `options.role`, after the opening handshake. Throws `TypeError` on bad options. */
  constructor(options: ConnectionOptions) {
    if (options.role !== "client" && options.role !== "server") {
      throw new TypeError(
        `Cannot create connection: role must be "client" or "server", got ${String(options.role)}`,
      );
    }
    this.role = options.role;
    this.limits = resolveLimits(options.limits);
    const extensions = options.extensions ?? NO_EXTENSIONS;
    this.extensions = extensions.length === 0 ? NO_EXTENSIONS : extensions;
    if (this.role === "client") this.#rareOf().masks = new MaskingKeys(options.random ?? webRandom);
    let allowedRsv = 0;
    for (const extension of this.extensions) {
      if ((allowedRsv & extension.rsvMask) !== 0) {
        throw new TypeError(
          `Cannot create connection: extensions both claim RSV bits 0x${extension.rsvMask.toString(16)}`,
        );
      }
      allowedRsv |= extension.rsvMask;
    }
    const copyPayloadsUpTo = options.copyPayloadsUpTo ?? 0;
    if (!Number.isSafeInteger(copyPayloadsUpTo) || copyPayloadsUpTo < 0) {
      throw new TypeError(
        `Cannot create connection: copyPayloadsUpTo must be a non-negative integer, got ${String(options.copyPayloadsUpTo)}`,
      );
    }
    if (options.allocate !== undefined && typeof options.allocate !== "function") {
      throw new TypeError(
        `Cannot create connection: allocate must be a function, got ${typeof options.allocate}`,
      );
    }
    this.#decoder = new FrameDecoder({
      role: this.role,
      allowedRsv,
      maxFrameSize: this.limits.maxFrameSize,
      // Whole messages: a frame spanning input chunks is unmasked straight into one buffer.
      gatherDataFrames: options.streamMessages !== true,
      copyPayloadsUpTo,
      allocate: options.allocate,
    });
    if (options.decodeText !== undefined && typeof options.decodeText !== "function") {
      throw new TypeError(
        `Cannot create connection: decodeText must be a function, got ${typeof options.decodeText}`,
      );
    }
    this.#payloads = payloadSettingsOf(copyPayloadsUpTo, options.decodeText);
    const streamMessages = options.streamMessages ?? false;
    if (streamMessages || this.extensions.length > 0)
      this.#assembler = new MessageAssembler({
        maxMessageSize: this.limits.maxMessageSize,
        maxFragments: this.limits.maxFragments,
        streamMessages,
        extensions: this.extensions,
        outputBudget: options.outputBudget,
      });
  }

  /**
   * The message assembler, made on first use (see `#assembler`) for whole messages without
   * extensions: the output budget bounds only what extensions decode, so it has none.
   */
  #rareOf(): Rare {
    this.#rare ??= new Rare();
    return this.#rare;
  }

  #assemblerOf(): MessageAssembler {
    this.#assembler ??= new MessageAssembler({
      maxMessageSize: this.limits.maxMessageSize,
      maxFragments: this.limits.maxFragments,
      streamMessages: false,
      extensions: NO_EXTENSIONS,
    });
    return this.#assembler;
  }

  /** The extension work state, made on first need (see {@link ExtensionWork}). */
  #workOf(): ExtensionWork {
    this.#work ??= new ExtensionWork();
    return this.#work;
  }

  /** The current state (see `TRANSITIONS` in `states.ts`). */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Whether we have sent a close frame. */
  get closeSent(): boolean {
    return this.#closeSent;
  }

  /** The peer's close frame, once received. */
  get closeReceived(): CloseReceived | undefined {
    return this.#rare?.closeReceived;
  }

  /** Why the connection failed, if the peer broke the protocol. */
  get failure(): RemoteProtocolError | undefined {
    return this.#rare?.failure;
  }

  /**
   * Whether data messages, pings and pongs may be sent now (open, or the peer is closing): the
   * state has a `send-frame` entry in the transition table.
   */
  get canSend(): boolean {
    return this.#allowed["send-frame"];
  }

  /**
   * Whether a close frame may be sent now (none sent yet and the transport has not ended): the
   * state has a `send-close` entry in the transition table.
   */
  get canSendClose(): boolean {
    return this.#allowed["send-close"];
  }

  /**
   * While {@link nextEvent} returns {@link PENDING}: settles when an extension has finished
   * decoding and `nextEvent` can go on. Otherwise undefined.
   */
  get pending(): Promise<void> | undefined {
    return this.#work?.inboundPending;
  }

  /** Bytes received but not yet decoded. */
  get bufferedAmount(): number {
    return this.#decoder.bufferedAmount;
  }

  /**
   * Bytes of the message in progress held until it is whole (decoded, after extensions; 0 with
   * `streamMessages`). With {@link Connection.bufferedAmount}: what the connection holds of
   * what it received.
   */
  get heldMessageBytes(): number {
    return this.#assembler?.heldBytes ?? 0;
  }

  /** Whether a data message is in progress: its first frame arrived, its last has not yet. */
  get inMessage(): boolean {
    return this.#assembler?.inMessage ?? false;
  }

  /**
   * Fails the connection for a reason found outside the codec, such as a server's memory budget
   * that cannot hold the message in progress (RFC 6455 §7.1.7 "_Fail the WebSocket
   * Connection_"): nothing more is read, the message in progress is dropped and its memory
   * freed, and the one frame left to send is the close frame with `error.closeCode`. The caller
   * already knows of the failure: {@link nextEvent} does not report it. Returns false, and does
   * nothing, where frames are no longer read (a close frame was received, the connection
   * failed or ended).
   */
  fail(error: RemoteProtocolError): boolean {
    if (!this.#allowed["receive-frame"] || this.#rare?.failure !== undefined) return false;
    const rare = this.#rareOf();
    rare.failure = error;
    rare.failureReported = true;
    this.#transition("protocol-error");
    // An asynchronous decode step still owns the message: it is dropped once the step settles.
    if (this.#work?.inboundPending === undefined) this.#assembler?.discard();
    return true;
  }

  /**
   * Feeds bytes from the transport. The connection takes ownership of `chunk` (payloads are
   * unmasked in place and delivered as views of it): do not reuse the buffer. Never throws for
   * anything the peer sent.
   */
  receive(chunk: Uint8Array): void {
    if (this.#rare?.eof === true)
      throw new LocalProtocolError(
        ErrorCode.InvalidState,
        "Cannot receive data: the transport already ended",
      );
    // After the peer's close frame, or a failure, nothing more is read (RFC 6455 §5.5.1).
    if (!this.#allowed["receive-frame"]) return;
    this.#decoder.push(chunk);
  }

  /**
   * After {@link Connection.receive}: whether the caller may reuse the memory of the chunk it
   * gave (for its next read). On true the connection keeps no reference to it: the bytes it has
   * not decoded yet were copied, and no payload went out as a view of it (large binary frames
   * gathered from several chunks are copied anyway); on false it must not reuse it. See
   * `FrameDecoder.releaseInput`.
   */
  releaseInput(): boolean {
    return this.#decoder.releaseInput();
  }

  /**
   * Tells the connection that the transport ended (no more bytes will come). Extensions are
   * closed (their memory freed) once any asynchronous work has settled.
   */
  receiveEof(): void {
    const rare = this.#rareOf();
    if (rare.eof) return;
    rare.eof = true;
    // Without extensions there is nothing to close.
    if (this.extensions.length === 0) return;
    const state = this.#workOf();
    const work = [state.inboundPending, state.sendChain].filter((p) => p !== undefined);
    if (work.length === 0) this.#closeExtensions();
    else void Promise.all(work).then(() => this.#closeExtensions());
  }

  #closeExtensions(): void {
    const state = this.#workOf();
    if (state.extensionsClosed) return;
    state.extensionsClosed = true;
    for (const extension of this.extensions) extension.close?.();
  }

  /**
   * Frames read from the received bytes so far; a data frame that spans received chunks counts
   * once per piece read. With `nextEvent(maxFrames)`, a caller bounds its work per turn.
   */
  get framesRead(): number {
    return this.#framesRead;
  }

  /**
   * Returns the next event, {@link NEED_DATA} when the buffered bytes hold no more, or
   * {@link PENDING} while an extension decodes asynchronously. `maxFrames`: read at most this
   * many frames in this call (none when it is 0 or less); `maxBytes`: stop once this many
   * received bytes are taken (none when it is 0 or less; a frame piece is never split for it);
   * return {@link YIELD} when they complete no event while bytes are still buffered (default:
   * no bound).
   */
  nextEvent(): InboundEvent | typeof NEED_DATA | typeof PENDING;
  /**
   * Returns the next event, like `nextEvent()`, reading at most `maxFrames` frames and taking
   * at most about `maxBytes` received bytes (default: no bound; the frame piece that reaches it
   * is read whole); returns {@link YIELD} when they complete no event while bytes are still
   * buffered.
   */
  nextEvent(
    maxFrames: number,
    maxBytes?: number,
  ): InboundEvent | typeof NEED_DATA | typeof PENDING | typeof YIELD;
  nextEvent(
    maxFrames = Number.POSITIVE_INFINITY,
    maxBytes = Number.POSITIVE_INFINITY,
  ): InboundEvent | typeof NEED_DATA | typeof PENDING | typeof YIELD {
    const work = this.#work;
    if (work !== undefined) {
      if (work.inboundPending !== undefined) return PENDING;
      const ready = work.ready;
      if (ready !== undefined) {
        work.ready = undefined;
        return ready;
      }
    }
    const rare = this.#rare;
    if (rare?.failure !== undefined) {
      if (!rare.failureReported) {
        rare.failureReported = true;
        return { type: "failed", error: rare.failure };
      }
      return this.#eofEvent();
    }
    const decoder = this.#decoder;
    const stop = this.#framesRead + maxFrames;
    // Bytes are taken from the decoder's buffer only: it holds at most this much once they are.
    const floor = decoder.bufferedAmount - maxBytes;
    while (this.#allowed["receive-frame"]) {
      const buffered = decoder.bufferedAmount;
      if ((this.#framesRead >= stop || buffered <= floor) && buffered > 0) return YIELD;
      let piece: FramePiece | undefined;
      try {
        // Small data frames (most small messages, and a peer's tiny fragments), and whole
        // messages in one frame of up to 64 KiB when none is in progress, are taken without a
        // piece object each.
        const assembler = this.#assembler;
        if (
          assembler === undefined
            ? decoder.nextMessageFrame(smallFrame)
            : assembler.takesSmallFragments &&
              (assembler.inMessage
                ? decoder.nextSmallFrame(smallFrame)
                : decoder.nextMessageFrame(smallFrame))
        ) {
          this.#framesRead++;
          const payloads = this.#payloads;
          let message: InboundEvent | undefined;
          try {
            // A message in one frame, with none in progress, needs no assembler.
            message =
              assembler === undefined && smallFrame.fin && smallFrame.opcode !== Opcode.Continuation
                ? oneSmallFrameMessage(
                    smallFrame,
                    payloads.copyUpTo,
                    this.limits.maxMessageSize,
                    payloads.decodeText,
                  )
                : this.#assemblerOf().pushSmallFrame(smallFrame, payloads.copyUpTo, payloads.decodeText);
          } finally {
            // Keep no input chunk alive through it once its bytes are taken.
            smallFrame.source = EMPTY;
          }
          if (message !== undefined) return message;
          continue;
        }
        piece = decoder.next();
        if (piece === undefined) break;
        this.#framesRead++;
        if (isControlOpcode(piece.opcode)) return this.#control(piece);
        const message = this.#assemblerOf().push(piece);
        if (message instanceof Promise) {
          this.#awaitMessage(message);
          return PENDING;
        }
        if (message !== undefined) return message;
      } catch (error) {
        if (!(error instanceof RemoteProtocolError)) throw error;
        return this.#fail(error);
      }
    }
    return this.#eofEvent();
  }

  #awaitMessage(decoding: Promise<InboundEvent | undefined>): void {
    const work = this.#workOf();
    work.inboundPending = decoding.then(
      (message) => {
        work.inboundPending = undefined;
        // Failed meanwhile (`fail()`): the message is not delivered.
        if (this.#rare?.failure !== undefined) this.#assembler?.discard();
        else work.ready = message;
      },
      (error: unknown) => {
        work.inboundPending = undefined;
        if (this.#rare?.failure !== undefined) {
          this.#assembler?.discard();
          return;
        }
        // The assembler rejects with RemoteProtocolErrors only (extension faults become 1011).
        this.#rareOf().failure = error as RemoteProtocolError;
        this.#transition("protocol-error");
        this.#assembler?.discard();
      },
    );
  }

  #eofEvent(): InboundEvent | typeof NEED_DATA {
    const rare = this.#rare;
    if (rare === undefined || !rare.eof || rare.eofReported) return NEED_DATA;
    rare.eofReported = true;
    const clean = this.#state === ConnectionState.Closed;
    this.#transition("eof");
    return { type: "eof", clean };
  }

  #control(piece: FramePiece): InboundEvent {
    if (piece.rsv !== 0) {
      throw new RemoteProtocolError(
        ErrorCode.ReservedBits,
        CloseCode.ProtocolError,
        "Cannot decode frame: RSV bits are set on a control frame",
      );
    }
    if (piece.opcode === Opcode.Ping) return { type: "ping", payload: piece.data };
    if (piece.opcode === Opcode.Pong) return { type: "pong", payload: piece.data };
    const { code, reason } = decodeClosePayload(piece.data);
    const event: CloseReceived = { type: "close", code, reason };
    this.#rareOf().closeReceived = event;
    this.#transition("receive-close");
    return event;
  }

  #fail(error: RemoteProtocolError): InboundEvent {
    const rare = this.#rareOf();
    rare.failure = error;
    rare.failureReported = true;
    this.#transition("protocol-error");
    // Nothing more is delivered: what the message in progress holds is freed now, not when the
    // connection is dropped (a server's memory budget counts it until then).
    this.#assembler?.discard();
    return { type: "failed", error };
  }

  #transition(input: ConnectionInput): void {
    const next = TRANSITIONS[this.#state][input];
    if (next === undefined) return;
    this.#state = next;
    this.#allowed = ALLOWED[next];
  }

  /**
   * Encodes an outbound event and returns the bytes to write. Throws a
   * {@link LocalProtocolError} when the state forbids it: data, pings and pongs after our close
   * frame; a second close frame; anything after the transport ended. After a failure, one close
   * frame may still be sent (the one that fails the connection, RFC 6455 §7.1.7).
   *
   * With an asynchronous extension (permessage-deflate on node:zlib), a message's bytes may come
   * as a promise; data and close frames sent after it then come as promises too, settling in
   * call order, so writing each result as soon as it is available keeps the wire order. Pings
   * and pongs are always immediate (control frames may go between messages, RFC 6455 §5.4).
   * A promise rejects with a {@link RemoteProtocolError} (1011) if an extension fails. Do not
   * modify a payload until its bytes are out.
   */
  /** Pings and pongs are always encoded at once. */
  send(event: PingPongOutbound): Uint8Array[];
  /** Data and close frames may come as a promise when an asynchronous extension is negotiated. */
  send(event: OutboundEvent): Uint8Array[] | Promise<Uint8Array[]>;
  send(event: OutboundEvent): Uint8Array[] | Promise<Uint8Array[]> {
    switch (event.type) {
      case "text": {
        const data = event.data;
        if (typeof data !== "string" && !(data instanceof Uint8Array))
          throw new TypeError("Cannot send text: data must be a string or UTF-8 bytes (a Uint8Array)");
        this.#checkCanSendMessage("text");
        // Without earlier sends pending, encode at once: no closure per message.
        if (this.#work?.sendChain === undefined)
          return this.#tracked(this.#sendWhole("text", data, event.options));
        return this.#inOrder(() => this.#sendWhole("text", data, event.options));
      }
      case "binary": {
        const data = event.data;
        if (!(data instanceof Uint8Array))
          throw new TypeError("Cannot send binary: data must be a Uint8Array");
        this.#checkCanSendMessage("binary");
        if (this.#work?.sendChain === undefined)
          return this.#tracked(this.#sendWhole("binary", data, event.options));
        return this.#inOrder(() => this.#sendWhole("binary", data, event.options));
      }
      case "text-piece":
      case "binary-piece":
        return this.#sendPiece(
          event.type === "text-piece" ? "text" : "binary",
          event.data,
          event.last,
          event.options,
        );
      case "ping":
      case "pong": {
        const payload = event.payload ?? EMPTY;
        if (!(payload instanceof Uint8Array))
          throw new TypeError(`Cannot send ${event.type}: payload must be a Uint8Array`);
        if (payload.length > MAX_CONTROL_PAYLOAD) {
          throw new RangeError(
            `Cannot send ${event.type}: payload is ${payload.length} bytes, the maximum is 125`,
          );
        }
        this.#checkCanSend(event.type);
        return this.#frame(event.type === "ping" ? Opcode.Ping : Opcode.Pong, true, 0, payload);
      }
      case "close": {
        const payload = encodeClosePayload(event.code, event.reason);
        if (!this.canSendClose) {
          throw new LocalProtocolError(
            ErrorCode.InvalidState,
            `Cannot send close: ${this.#closeSent ? "a close frame was already sent" : "the transport ended"}`,
          );
        }
        this.#closeSent = true;
        if (this.#rare !== undefined) this.#rare.outbound = undefined;
        this.#transition("send-close");
        return this.#inOrder(() => this.#frame(Opcode.Close, true, 0, payload));
      }
      default:
        throw new TypeError(`Cannot send: unknown event type ${String((event as { type: unknown }).type)}`);
    }
  }

  /**
   * Sends a text message as `send({ type: "text", data: text })` would, but encodes its frame
   * straight into `target` from `offset` (see `encodeTextFrameInto`: the caller joins the
   * frames of one write there) and returns the frame's size. Returns 0, and sends nothing, when
   * the frame cannot be made this way: a client (its frames are masked), an extension, an
   * earlier send still being encoded, or less room than `textFrameRoom(text)`; the caller then
   * uses `send()`.
   *
   * @throws {LocalProtocolError} as `send()` does, when a message may not be sent now.
   */
  sendTextInto(text: string, target: Uint8Array, offset: number): number {
    if (this.role !== "server" || this.extensions.length > 0 || this.#work?.sendChain !== undefined) return 0;
    if (target.length - offset < textFrameRoom(text)) return 0;
    this.#checkCanSendMessage("text");
    return encodeTextFrameInto(text, target, offset);
  }

  /**
   * Sends a binary message as `send({ type: "binary", data })` would, but encodes its frame
   * straight into `target` from `offset` (see `encodeFrameInto`) and returns the frame's size:
   * for a caller that owns memory it fills again, where a fresh array per large frame (a
   * client's, masked, §5.3) costs the runtime's allocation and the first touch of its pages.
   * The frame takes `frameHeaderSize(data.length, role === "client") + data.length` bytes.
   * Returns 0, and sends nothing, when the frame cannot be made this way: an extension, an
   * earlier send still being encoded, or less room; the caller then uses `send()`.
   *
   * @throws {TypeError} when `data` is not a Uint8Array.
   * @throws {LocalProtocolError} as `send()` does, when a message may not be sent now.
   */
  sendBinaryInto(data: Uint8Array, target: Uint8Array, offset: number): number {
    if (!(data instanceof Uint8Array)) throw new TypeError("Cannot send binary: data must be a Uint8Array");
    if (this.extensions.length > 0 || this.#work?.sendChain !== undefined) return 0;
    const length = data.length;
    if (target.length - offset < frameHeaderSize(length, this.role === "client") + length) return 0;
    this.#checkCanSendMessage("binary");
    return encodeFrameInto(target, offset, Opcode.Binary, true, 0, data, this.#nextMaskingKey());
  }

  /** Encodes now, unless earlier sends are still being encoded: then after them. */
  #inOrder(encode: () => Uint8Array[] | Promise<Uint8Array[]>): Uint8Array[] | Promise<Uint8Array[]> {
    const chain = this.#work?.sendChain;
    return this.#tracked(chain === undefined ? encode() : chain.then(encode));
  }

  /** Makes later sends wait for `result` when it is a promise (asynchronous extension work). */
  #tracked(result: Uint8Array[] | Promise<Uint8Array[]>): Uint8Array[] | Promise<Uint8Array[]> {
    if (!(result instanceof Promise)) return result;
    const work = this.#workOf();
    work.sendsPending++;
    work.sendChain = result.then(
      () => this.#sendSettled(),
      () => this.#sendSettled(),
    );
    return result;
  }

  #sendSettled(): void {
    const work = this.#work as ExtensionWork;
    if (--work.sendsPending === 0) work.sendChain = undefined;
  }

  #checkCanSend(what: string): void {
    if (!this.canSend) {
      const why =
        this.#rare?.eof === true
          ? "the transport ended"
          : this.#closeSent
            ? "a close frame was sent"
            : `the connection is ${this.#state}`;
      throw new LocalProtocolError(ErrorCode.InvalidState, `Cannot send ${what}: ${why}`);
    }
  }

  #checkCanSendMessage(what: string): void {
    this.#checkCanSend(what);
    const outbound = this.#rare?.outbound;
    if (outbound !== undefined) {
      throw new LocalProtocolError(
        ErrorCode.InvalidState,
        `Cannot send ${what}: a ${outbound.kind} message is being sent in pieces (RFC 6455 §5.4)`,
      );
    }
  }

  #startMessage(
    kind: "text" | "binary",
    size: number | undefined,
    options: SendOptions | undefined,
  ): OutboundMessage {
    let rsv = 0;
    const encoders: MessageEncoder[] = [];
    for (const extension of this.extensions) {
      const transform = extension.encodeMessage(kind, size, options);
      if (transform === undefined) continue;
      rsv |= transform.rsv;
      encoders.push(transform.encoder);
    }
    return { kind, rsv, encoders, first: true };
  }

  #sendWhole(
    kind: "text" | "binary",
    data: string | Uint8Array,
    options: SendOptions | undefined,
  ): Uint8Array[] | Promise<Uint8Array[]> {
    const opcode = kind === "text" ? Opcode.Text : Opcode.Binary;
    if (this.extensions.length === 0) {
      if (typeof data === "string")
        return encodeTextFrame(data, opcode, true, 0, this.#nextMaskingKey(), this.#payloads.copyUpTo);
      // Text already encoded as UTF-8 is framed as it is, like binary.
      return this.#frame(opcode, true, 0, data);
    }
    const bytes = typeof data === "string" ? utf8Encoder.encode(data) : data;
    const message = this.#startMessage(kind, bytes.length, options);
    return this.#transformedFrame(opcode, true, message.rsv, message.encoders, bytes);
  }

  #sendPiece(
    kind: "text" | "binary",
    data: string | Uint8Array,
    last: boolean,
    options: SendOptions | undefined,
  ): Uint8Array[] | Promise<Uint8Array[]> {
    const what = `${kind} piece`;
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError(`Cannot send ${what}: data must be a string or a Uint8Array`);
    }
    this.#checkCanSend(what);
    const rare = this.#rareOf();
    let message = rare.outbound;
    if (message === undefined) {
      message = this.#startMessage(kind, undefined, options);
      rare.outbound = message;
    } else if (message.kind !== kind) {
      throw new LocalProtocolError(
        ErrorCode.InvalidState,
        `Cannot send ${what}: a ${message.kind} message is in progress`,
      );
    }
    const opcode = message.first ? (kind === "text" ? Opcode.Text : Opcode.Binary) : Opcode.Continuation;
    const rsv = message.first ? message.rsv : 0;
    const encoders = message.encoders;
    message.first = false;
    if (last) rare.outbound = undefined;
    const bytes = typeof data === "string" ? utf8Encoder.encode(data) : data;
    return this.#inOrder(() => this.#transformedFrame(opcode, last, rsv, encoders, bytes));
  }

  /** One frame whose payload goes through the message's extension encoders first. */
  #transformedFrame(
    opcode: number,
    fin: boolean,
    rsv: number,
    encoders: readonly MessageEncoder[],
    bytes: Uint8Array,
  ): Uint8Array[] | Promise<Uint8Array[]> {
    if (encoders.length === 0) return this.#frame(opcode, fin, rsv, bytes);
    const parts = transform(encoders, 0, [bytes], fin);
    if (parts instanceof Promise) return parts.then((done) => this.#frameParts(opcode, fin, rsv, done));
    return this.#frameParts(opcode, fin, rsv, parts);
  }

  #frame(opcode: number, fin: boolean, rsv: number, payload: Uint8Array): Uint8Array[] {
    return encodeFrameParts(opcode, fin, rsv, payload, this.#nextMaskingKey(), this.#payloads.copyUpTo);
  }

  /** One frame whose payload is several parts (extension output), without joining them first. */
  #frameParts(opcode: number, fin: boolean, rsv: number, parts: Uint8Array[]): Uint8Array[] {
    if (parts.length === 1) return this.#frame(opcode, fin, rsv, parts[0] as Uint8Array);
    let length = 0;
    for (const part of parts) length += part.length;
    const maskingKey = this.#nextMaskingKey();
    const headerSize = frameHeaderSize(length, maskingKey !== undefined);
    if (maskingKey === undefined) {
      const header = new Uint8Array(headerSize);
      writeFrameHeader(header, 0, fin, rsv, opcode, length, undefined);
      return [header, ...parts];
    }
    const out = new Uint8Array(headerSize + length);
    writeFrameHeader(out, 0, fin, rsv, opcode, length, maskingKey);
    let offset = headerSize;
    for (const part of parts) {
      maskInto(part, maskingKey, out.subarray(offset, offset + part.length), (offset - headerSize) & 3);
      offset += part.length;
    }
    return [out];
  }

  /** A fresh masking key for a client frame (RFC 6455 §5.3), or undefined for a server. */
  #nextMaskingKey(): Uint8Array | undefined {
    return this.#rare?.masks?.next();
  }
}

/** Runs `parts` through encoder `index` and the ones after it, synchronously if they are. */
function transform(
  encoders: readonly MessageEncoder[],
  index: number,
  parts: Uint8Array[],
  last: boolean,
): Uint8Array[] | Promise<Uint8Array[]> {
  if (index === encoders.length) return parts;
  const encoder = encoders[index] as MessageEncoder;
  const input = parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts);
  let output: Uint8Array[] | Promise<Uint8Array[]>;
  try {
    output = encoder.push(input, last);
  } catch (error) {
    throw encodeFailure(error);
  }
  if (output instanceof Promise) {
    return output.then(
      (next) => transform(encoders, index + 1, next, last),
      (error: unknown) => {
        throw encodeFailure(error);
      },
    );
  }
  return transform(encoders, index + 1, output, last);
}

function encodeFailure(error: unknown): RemoteProtocolError {
  if (error instanceof RemoteProtocolError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new RemoteProtocolError(
    ErrorCode.ExtensionFailure,
    CloseCode.InternalError,
    `Cannot encode message: an extension failed: ${detail}`,
  );
}

/** Builds the pong that answers `ping` (RFC 6455 §5.5.3: the same "Application data"). */
export function pongFor(ping: PingEvent): OutboundEvent {
  return { type: "pong", payload: ping.payload };
}

/**
 * Builds the close frame that answers the peer's `close` (RFC 6455 §5.5.1: an endpoint
 * "typically echos the status code it received"). No code was received (1005): an empty close.
 */
export function closeReplyFor(close: CloseReceived): OutboundEvent {
  return close.code === CloseCode.NoStatusReceived ? { type: "close" } : { type: "close", code: close.code };
}
