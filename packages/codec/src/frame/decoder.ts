/**
 * `FrameDecoder`: an incremental state machine over the byte stream (RFC 6455 §5.2). It accepts
 * any split of the input — one byte at a time or megabytes at once — and yields the same frames.
 *
 * Frame payloads come out as {@link FramePiece}s: views of the input chunks, unmasked in place
 * (the decoder owns the chunks it is given), without copies. A data frame whose payload spans
 * several input chunks comes out as several pieces, so a huge frame never has to sit in memory
 * whole; a control frame (at most 125 bytes) always comes out as one piece.
 *
 * Every rule of §5.2–§5.5 that can be checked on one frame is checked as soon as the header is
 * read, before any payload is buffered: RSV bits without an extension that owns them, reserved
 * opcodes, fragmented or oversized control frames, the mask bit for the receiving role, the
 * most significant bit of a 64-bit length, non-minimal length encodings (rejected: §5.2 says
 * "the minimal number of bytes MUST be used"), and the frame size limit.
 *
 * @module
 */
import { CloseCode, isControlOpcode, isKnownOpcode, MAX_CONTROL_PAYLOAD, Opcode } from "../constants.ts";
import { ErrorCode, RemoteProtocolError } from "../errors.ts";
import { applyMask, maskFrom, maskInto, unmaskRange } from "./mask.ts";

/** Options for a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * The role of the endpoint that *receives* the frames: a server requires every frame to be
   * masked, a client requires none to be (RFC 6455 §5.1).
   */
  readonly role: "client" | "server";
  /** RSV bits owned by negotiated extensions (mask over the first byte, e.g. 0x40); default 0. */
  readonly allowedRsv?: number;
  /** Largest frame payload accepted, in bytes; larger ones fail with 1009. Default: no limit. */
  readonly maxFrameSize?: number;
  /**
   * Deliver a binary frame (opcode 2) without RSV bits whose payload spans input chunks in one
   * piece: the decoder waits until the whole payload is buffered, then unmasks it straight from
   * the input chunks into one new buffer (one pass, instead of unmasking each chunk in place and
   * joining them later). Before that it delivers an empty first piece, so that a consumer can
   * check the frame (limits, continuation rules) before its payload is buffered. Text frames
   * (and continuations, which may be text) still come in pieces as they arrive, so invalid
   * UTF-8 fails the connection as soon as it is certain. For consumers that want whole
   * messages; default false.
   */
  readonly gatherDataFrames?: boolean;
  /**
   * Data frame payloads (and pieces of them) of at most this many bytes come out as fresh
   * arrays the bytes are unmasked into, instead of views of the input chunk. On JavaScriptCore
   * (Bun) a small array costs less than a view of a larger buffer, on V8 (Node, Deno) the
   * opposite, so the adapter chooses; default 0 (always views).
   */
  readonly copyPayloadsUpTo?: number;
  /**
   * Makes the array a gathered payload (see `gatherDataFrames`) is unmasked into: `size` bytes
   * long and owned by the caller from then on. The decoder writes every one of its bytes before
   * it hands the array out, so it need not be zero-filled: a runtime with an allocator that
   * skips the zero-filling (Node's `Buffer.allocUnsafeSlow`) saves a pass over each large
   * message. Default: `new Uint8Array(size)`.
   */
  readonly allocate?: ((size: number) => Uint8Array) | undefined;
}

/** A piece of one frame's payload, with that frame's header fields. */
export interface FramePiece {
  /** FIN: the frame ends its message. */
  readonly fin: boolean;
  /** The RSV bits as they sit in the first byte (0x40 = RSV1). */
  readonly rsv: number;
  /** The 4-bit opcode. */
  readonly opcode: number;
  /** The whole frame's payload length. */
  readonly payloadLength: number;
  /** This piece of the payload, unmasked. Empty for an empty frame. */
  readonly data: Uint8Array;
  /** This is the frame's first piece (the header was just read). */
  readonly first: boolean;
  /** This is the frame's last piece. */
  readonly last: boolean;
}

/**
 * A fragment read by {@link FrameDecoder.nextSmallFragment}: the header fields of a data frame
 * without FIN, and where its payload lies, unmasked, in an input chunk. Filled in place by the
 * decoder (the caller owns the object and reuses it), so reading one costs no allocation.
 */
export interface SmallFragment {
  /** The opcode: text, binary or continuation (RFC 6455 §5.2). */
  opcode: number;
  /**
   * The payload length: at most 125 (the 7-bit length form), or up to 65,535 for a whole
   * message read by {@link FrameDecoder.nextMessageFrame}.
   */
  payloadLength: number;
  /** The input chunk the payload lies in; `source[start…end)` is the payload, unmasked. */
  source: Uint8Array;
  /** Where the payload starts in `source`. */
  start: number;
  /** Where the payload ends in `source` (exclusive). */
  end: number;
}

/**
 * A small data frame read by {@link FrameDecoder.nextSmallFrame}: a {@link SmallFragment}, or
 * the last frame of its message (FIN set).
 */
export interface SmallFrame extends SmallFragment {
  /** The FIN bit: the frame ends its message. */
  fin: boolean;
}

/** The states of the decoder, named for what they wait for. */
export const DecoderState = {
  ReadHeader: "read-header",
  ReadLength16: "read-length-16",
  ReadLength64: "read-length-64",
  ReadMask: "read-mask",
  ReadPayload: "read-payload",
  Failed: "failed",
} as const;
/** One of the {@link DecoderState} values. */
export type DecoderState = (typeof DecoderState)[keyof typeof DecoderState];

const EMPTY = new Uint8Array(0);
/** The largest payload length of the 7-bit form (126 and 127 announce longer forms, §5.2). */
const MAX_7BIT_LENGTH = 125;
const TWO_TO_32 = 0x1_0000_0000;
/**
 * The masking key of the frame being unmasked, copied in right before each `applyMask`: a
 * 4-byte Uint8Array per decoder would cost an ArrayBuffer (about 0.3 KiB with its backing
 * store) per connection; the key itself is kept as a number.
 */
const scratchKey = new Uint8Array(4);

/** A decoder's settings, from its {@link FrameDecoderOptions}. */
interface DecoderSettings {
  readonly requireMask: boolean;
  readonly allowedRsv: number;
  readonly maxFrameSize: number;
  readonly gather: boolean;
  readonly copyUpTo: number;
  readonly allocate: ((size: number) => Uint8Array) | undefined;
}

/** The settings made last, given again to decoders made with the same options. */
let lastSettings: DecoderSettings | undefined;

/**
 * The settings for `options`: the last ones made when they match (a server's connections share
 * one object), so that a decoder, one per connection, holds one field for them rather than six.
 */
function settingsOf(options: FrameDecoderOptions): DecoderSettings {
  const requireMask = options.role === "server";
  const allowedRsv = options.allowedRsv ?? 0;
  const maxFrameSize = options.maxFrameSize ?? Number.MAX_SAFE_INTEGER;
  const gather = options.gatherDataFrames ?? false;
  const copyUpTo = options.copyPayloadsUpTo ?? 0;
  const allocate = options.allocate;
  const last = lastSettings;
  if (
    last !== undefined &&
    last.requireMask === requireMask &&
    last.allowedRsv === allowedRsv &&
    last.maxFrameSize === maxFrameSize &&
    last.gather === gather &&
    last.copyUpTo === copyUpTo &&
    last.allocate === allocate
  ) {
    return last;
  }
  lastSettings = { requireMask, allowedRsv, maxFrameSize, gather, copyUpTo, allocate };
  return lastSettings;
}

/**
 * Incremental frame decoder: `push` bytes, then call `next` until it returns `undefined`.
 *
 * `next` throws a {@link RemoteProtocolError} when the bytes break a framing rule; the decoder
 * then stays failed and throws the same error again.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "@ws/codec/frame";
 * const decoder = new FrameDecoder({ role: "client" });
 * decoder.push(new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])); // RFC 6455 §5.7
 * const piece = decoder.next(); // { opcode: 1, fin: true, data: "Hello" bytes, first: true, last: true, … }
 * ```
 */
export class FrameDecoder {
  /** The settings, shared with other decoders made with the same options ({@link settingsOf}). */
  readonly #settings: DecoderSettings;
  get #requireMask(): boolean {
    return this.#settings.requireMask;
  }
  get #allowedRsv(): number {
    return this.#settings.allowedRsv;
  }
  get #maxFrameSize(): number {
    return this.#settings.maxFrameSize;
  }
  get #gather(): boolean {
    return this.#settings.gather;
  }
  get #copyUpTo(): number {
    return this.#settings.copyUpTo;
  }
  get #allocate(): ((size: number) => Uint8Array) | undefined {
    return this.#settings.allocate;
  }

  #state: DecoderState = DecoderState.ReadHeader;
  #error: RemoteProtocolError | undefined;

  // Input: a queue of chunks, consumed from `#offset` in the first one.
  readonly #queue: Uint8Array[] = [];
  #offset = 0;
  #buffered = 0;

  // The frame being read.
  #fin = false;
  #rsv = 0;
  #opcode = 0;
  #masked = false;
  #payloadLength = 0;
  #payloadRead = 0;
  /** The masking key, big-endian (byte 0 in the top bits). */
  #maskingKey = 0;
  /** The empty first piece of a frame being gathered went out. */
  #announced = false;
  /**
   * The payload buffer of a frame gathered as its bytes arrive (see {@link FrameDecoder.releaseInput}),
   * and how much of it is filled.
   */
  #gathering: Uint8Array | undefined;
  #gathered = 0;
  /** The last chunk pushed, until {@link FrameDecoder.releaseInput} or until it is all read. */
  #lastPushed: Uint8Array | undefined;
  /** A view of an input chunk went out since the last {@link FrameDecoder.releaseInput}. */
  #lent = false;

  /** Creates a decoder for frames received by `options.role`. */
  constructor(options: FrameDecoderOptions) {
    this.#settings = settingsOf(options);
  }

  /** What the decoder waits for now. */
  get state(): DecoderState {
    return this.#state;
  }

  /**
   * Bytes pushed but not yet consumed; a frame's payload buffer, once allocated while its bytes
   * arrive (see {@link FrameDecoder.releaseInput}), counts whole: it is memory held for the peer.
   */
  get bufferedAmount(): number {
    return this.#gathering === undefined ? this.#buffered : this.#buffered + this.#gathering.length;
  }

  /**
   * Adds bytes to decode. The decoder takes ownership: payloads are unmasked in place, unless
   * {@link FrameDecoder.releaseInput} gives the chunk back.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#buffered += chunk.length;
    this.#lastPushed = chunk;
  }

  /**
   * Gives the memory of the last chunk pushed back to the caller, if the decoder can: returns
   * true when no view of input went out since the last call (every payload taken from it was
   * copied: a binary frame gathered from several chunks), after copying its bytes not decoded
   * yet into memory of the decoder's own. The caller may then reuse the chunk's memory (a
   * transport reads its next bytes into it); on false it must not.
   *
   * A binary frame being gathered that has at least a quarter of its payload buffered then gets
   * its payload buffer at once, and the rest is unmasked into it as it arrives, instead of
   * waiting in copies of the input: the decoder holds at most four times what the peer sent,
   * and `bufferedAmount` counts the whole buffer (limits and memory budgets see it).
   */
  releaseInput(): boolean {
    const chunk = this.#lastPushed;
    this.#lastPushed = undefined;
    if (this.#lent) {
      this.#lent = false;
      return false;
    }
    if (chunk === undefined || this.#buffered === 0) return true;
    if (
      this.#announced &&
      this.#gathering === undefined &&
      this.#state === DecoderState.ReadPayload &&
      this.#buffered * 4 >= this.#payloadLength
    ) {
      // `#announced`: the consumer has checked the frame (its size against the limits).
      const allocate = this.#allocate;
      const length = this.#payloadLength;
      this.#gathering = allocate === undefined ? new Uint8Array(length) : allocate(length);
      this.#fillGathering();
    }
    // What is left of the chunk (the session may also not have decoded it yet) is copied.
    const queue = this.#queue;
    const last = queue.length - 1;
    if (last >= 0 && queue[last] === chunk) {
      const start = last === 0 ? this.#offset : 0;
      queue[last] = chunk.slice(start);
      if (last === 0) this.#offset = 0;
    }
    return true;
  }

  /** Returns the next frame piece, or `undefined` when more bytes are needed. */
  next(): FramePiece | undefined {
    for (;;) {
      switch (this.#state) {
        case DecoderState.ReadHeader: {
          if (this.#buffered < 2) return undefined;
          this.#readHeader(this.#takeByte(), this.#takeByte());
          break;
        }
        case DecoderState.ReadLength16: {
          if (this.#buffered < 2) return undefined;
          const length = (this.#takeByte() << 8) | this.#takeByte();
          if (length < 126) {
            this.#fail(
              ErrorCode.NonMinimalLength,
              CloseCode.ProtocolError,
              `a ${length}-byte payload must use the 7-bit length form`,
            );
          }
          this.#lengthKnown(length);
          break;
        }
        case DecoderState.ReadLength64: {
          if (this.#buffered < 8) return undefined;
          const high = this.#takeUint32();
          const low = this.#takeUint32();
          if (high >= 0x8000_0000) {
            this.#fail(
              ErrorCode.InvalidLength,
              CloseCode.ProtocolError,
              "the most significant bit of a 64-bit payload length is set",
            );
          }
          if (high > 0x1f_ffff) {
            // Beyond 2^53: not representable exactly, and far beyond any sane limit.
            this.#fail(
              ErrorCode.FrameTooBig,
              CloseCode.MessageTooBig,
              "the payload length exceeds 2^53 - 1 bytes",
            );
          }
          const length = high * TWO_TO_32 + low;
          if (length < 65536) {
            this.#fail(
              ErrorCode.NonMinimalLength,
              CloseCode.ProtocolError,
              `a ${length}-byte payload must use the 16-bit length form`,
            );
          }
          this.#lengthKnown(length);
          break;
        }
        case DecoderState.ReadMask: {
          if (this.#buffered < 4) return undefined;
          this.#maskingKey = this.#takeUint32();
          this.#state = DecoderState.ReadPayload;
          break;
        }
        case DecoderState.ReadPayload:
          return this.#readPayload();
        case DecoderState.Failed:
          throw this.#error;
      }
    }
  }

  /**
   * Reads the next frame without allocating, when it is a fragment that is not the last of its
   * message (a data frame without FIN), without RSV bits, with a 7-bit payload length (at most
   * 125 bytes) and within the frame size limit, masked as the role requires, and lies whole in
   * the first buffered chunk: `into` then holds its header fields and where its payload lies,
   * unmasked in place (valid until the chunk is reused: the decoder owns it), and the result is
   * true. For any other frame, or when its bytes are not all buffered, returns false and
   * consumes nothing: {@link FrameDecoder.next} then reads it, checking every rule.
   *
   * This is the path of a peer's tiny fragments (RFC 6455 §5.4 lets a peer split a message
   * into one-byte frames): a message assembler copies such small pieces anyway, so a piece
   * object and a view per frame would be garbage at once, and a frame costs work in
   * proportion to its bytes only.
   */
  nextSmallFragment(into: SmallFragment): boolean {
    return this.#nextSmall(into, false, false);
  }

  /**
   * {@link FrameDecoder.nextSmallFragment} for any small data frame, the last of its message
   * (FIN set: `into.fin`) or not. This is the path of most small messages: one frame each,
   * read without the piece object and the checks in between that {@link FrameDecoder.next}
   * makes for any frame.
   */
  nextSmallFrame(into: SmallFrame): boolean {
    return this.#nextSmall(into, true, false);
  }

  /**
   * {@link FrameDecoder.nextSmallFrame}, and also a whole message in one frame with a 16-bit
   * length (126 to 65,535 bytes, RFC 6455 §5.2): FIN set, opcode text or binary, no RSV bits,
   * within the frame size limit, masked as the role requires, lying whole in the first buffered
   * chunk (unmasked in place, as small frames are). For a caller with no message in progress,
   * which takes such a frame as the message: the mid-sized messages of a busy peer, read without
   * the piece object and the state changes of {@link FrameDecoder.next}. Any other frame with a
   * 16-bit length is left to {@link FrameDecoder.next}.
   */
  nextMessageFrame(into: SmallFrame): boolean {
    return this.#nextSmall(into, true, true);
  }

  /**
   * All of the above: `into` is a {@link SmallFrame} when `finAllowed`; `whole16`: a whole
   * message with a 16-bit length too.
   */
  #nextSmall(into: SmallFragment, finAllowed: boolean, whole16: boolean): boolean {
    if (this.#state !== DecoderState.ReadHeader) return false;
    const chunk = this.#queue[0];
    if (chunk === undefined) return false;
    const at = this.#offset;
    const available = chunk.length - at;
    if (available < 2) return false;
    let b0 = chunk[at] as number;
    const b1 = chunk[at + 1] as number;
    const fin = b0 >= 0x80;
    if (fin) {
      if (!finAllowed) return false;
      b0 -= 0x80;
    }
    // RSV clear, opcode continuation (0), text (1) or binary (2).
    if (b0 > Opcode.Binary) return false;
    let length = b1 & 0x7f;
    let lengthSize = 0;
    if (length > MAX_7BIT_LENGTH) {
      // A 16-bit length (126), in its minimal form (§5.2), for a whole message only.
      if (length !== 126 || !whole16 || !fin || b0 === Opcode.Continuation || available < 4) return false;
      length = ((chunk[at + 2] as number) << 8) | (chunk[at + 3] as number);
      if (length <= MAX_7BIT_LENGTH) return false;
      lengthSize = 2;
    }
    if (length > this.#maxFrameSize) return false;
    const masked = b1 >= 0x80;
    if (masked !== this.#requireMask) return false;
    const header = 2 + lengthSize + (masked ? 4 : 0);
    if (available < header + length) return false;
    const start = at + header;
    const end = start + length;
    if (masked && lengthSize !== 0) {
      const keyAt = at + 2 + lengthSize;
      unmaskRange(
        chunk,
        start,
        end,
        (((chunk[keyAt] as number) << 24) |
          ((chunk[keyAt + 1] as number) << 16) |
          ((chunk[keyAt + 2] as number) << 8) |
          (chunk[keyAt + 3] as number)) >>>
          0,
      );
    } else if (masked) {
      const k0 = chunk[at + 2] as number;
      const k1 = chunk[at + 3] as number;
      const k2 = chunk[at + 4] as number;
      const k3 = chunk[at + 5] as number;
      let i = start;
      for (; i + 4 <= end; i += 4) {
        chunk[i] = (chunk[i] as number) ^ k0;
        chunk[i + 1] = (chunk[i + 1] as number) ^ k1;
        chunk[i + 2] = (chunk[i + 2] as number) ^ k2;
        chunk[i + 3] = (chunk[i + 3] as number) ^ k3;
      }
      if (i < end) chunk[i] = (chunk[i++] as number) ^ k0;
      if (i < end) chunk[i] = (chunk[i++] as number) ^ k1;
      if (i < end) chunk[i] = (chunk[i] as number) ^ k2;
    }
    if (finAllowed) (into as SmallFrame).fin = fin;
    into.opcode = b0;
    into.payloadLength = length;
    into.source = chunk;
    into.start = start;
    into.end = end;
    this.#lent = true;
    this.#advance(chunk, header + length);
    return true;
  }

  #readHeader(b0: number, b1: number): void {
    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    if ((rsv & ~this.#allowedRsv) !== 0) {
      this.#fail(
        ErrorCode.ReservedBits,
        CloseCode.ProtocolError,
        `RSV bits 0x${rsv.toString(16)} are set without an extension that defines them`,
      );
    }
    if (!isKnownOpcode(opcode)) {
      this.#fail(
        ErrorCode.InvalidOpcode,
        CloseCode.ProtocolError,
        `opcode 0x${opcode.toString(16)} is reserved`,
      );
    }
    if (isControlOpcode(opcode)) {
      if (!fin)
        this.#fail(
          ErrorCode.FragmentedControlFrame,
          CloseCode.ProtocolError,
          "a control frame is fragmented",
        );
      if (length7 > MAX_CONTROL_PAYLOAD) {
        this.#fail(
          ErrorCode.ControlFrameTooLong,
          CloseCode.ProtocolError,
          `control frame payload is ${length7 === 126 ? "at least 126" : "at least 65536"} bytes, the maximum is 125`,
        );
      }
    }
    if (masked !== this.#requireMask) {
      if (masked)
        this.#fail(ErrorCode.UnexpectedMask, CloseCode.ProtocolError, "a frame from the server is masked");
      this.#fail(ErrorCode.MissingMask, CloseCode.ProtocolError, "a frame from the client is not masked");
    }
    this.#fin = fin;
    this.#rsv = rsv;
    this.#opcode = opcode;
    this.#masked = masked;
    if (length7 === 126) this.#state = DecoderState.ReadLength16;
    else if (length7 === 127) this.#state = DecoderState.ReadLength64;
    else this.#lengthKnown(length7);
  }

  #lengthKnown(length: number): void {
    if (length > this.#maxFrameSize) {
      this.#fail(
        ErrorCode.FrameTooBig,
        CloseCode.MessageTooBig,
        `frame payload is ${length} bytes, the limit is ${this.#maxFrameSize}`,
      );
    }
    this.#payloadLength = length;
    this.#payloadRead = 0;
    this.#state = this.#masked ? DecoderState.ReadMask : DecoderState.ReadPayload;
  }

  #readPayload(): FramePiece | undefined {
    const length = this.#payloadLength;
    let first = this.#payloadRead === 0;
    let data: Uint8Array;
    if (length === 0) {
      data = EMPTY;
    } else if (isControlOpcode(this.#opcode)) {
      // Control frames come out whole (≤ 125 bytes, §5.5).
      if (this.#buffered < length) return undefined;
      data = this.#takeBytes(length);
    } else if (this.#gathering !== undefined) {
      this.#fillGathering();
      if (this.#gathered < length) return undefined;
      data = this.#gathering;
      this.#gathering = undefined;
      this.#gathered = 0;
    } else {
      const chunk = this.#queue[0];
      const available = chunk === undefined ? 0 : chunk.length - this.#offset;
      if (first && this.#gather && this.#opcode === Opcode.Binary && this.#rsv === 0 && available < length) {
        if (this.#buffered < length) {
          if (this.#announced) return undefined;
          this.#announced = true;
          return this.#piece(EMPTY, true, false);
        }
        data = this.#takeBytes(length);
      } else {
        if (chunk === undefined) return undefined;
        const size = Math.min(available, length - this.#payloadRead);
        if (size <= this.#copyUpTo) {
          data = new Uint8Array(size);
          maskFrom(chunk, this.#offset, data, this.#masked ? this.#key() : undefined, this.#payloadRead & 3);
          this.#advance(chunk, size);
        } else {
          data = chunk.subarray(this.#offset, this.#offset + size);
          this.#lent = true;
          this.#advance(chunk, size);
          if (this.#masked) applyMask(data, this.#key(), this.#payloadRead & 3);
        }
      }
    }
    if (this.#announced) {
      // The empty first piece went out already (the rest may have arrived in one chunk).
      first = false;
      this.#announced = false;
    }
    this.#payloadRead += data.length;
    const last = this.#payloadRead === length;
    if (last) this.#state = DecoderState.ReadHeader;
    return this.#piece(data, first, last);
  }

  #piece(data: Uint8Array, first: boolean, last: boolean): FramePiece {
    return {
      fin: this.#fin,
      rsv: this.#rsv,
      opcode: this.#opcode,
      payloadLength: this.#payloadLength,
      data,
      first,
      last,
    };
  }

  /** The masking key as bytes, in the shared scratch array (valid until the next call). */
  #key(): Uint8Array {
    const key = this.#maskingKey;
    scratchKey[0] = key >>> 24;
    scratchKey[1] = (key >>> 16) & 0xff;
    scratchKey[2] = (key >>> 8) & 0xff;
    scratchKey[3] = key & 0xff;
    return scratchKey;
  }

  #fail(
    code: ErrorCode,
    closeCode: typeof CloseCode.ProtocolError | typeof CloseCode.MessageTooBig,
    detail: string,
  ): never {
    this.#error = new RemoteProtocolError(code, closeCode, `Cannot decode frame: ${detail}`);
    this.#state = DecoderState.Failed;
    // Drop buffered input: nothing after a failure is read.
    this.#queue.length = 0;
    this.#buffered = 0;
    this.#lastPushed = undefined;
    this.#gathering = undefined;
    this.#gathered = 0;
    throw this.#error;
  }

  #advance(chunk: Uint8Array, count: number): void {
    this.#offset += count;
    this.#buffered -= count;
    if (this.#offset === chunk.length) {
      // Emptied by `length = 0` rather than `shift()`: that frees the array's backing store,
      // which `shift()` keeps (an idle connection then holds no room for chunks).
      if (this.#queue.length === 1) {
        this.#queue.length = 0;
        // Nothing of it is left to copy (an adapter that never calls `releaseInput` keeps no
        // chunk alive through this reference).
        this.#lastPushed = undefined;
      } else {
        this.#queue.shift();
      }
      this.#offset = 0;
    }
  }

  #takeByte(): number {
    const chunk = this.#queue[0] as Uint8Array;
    const byte = chunk[this.#offset] as number;
    this.#advance(chunk, 1);
    return byte;
  }

  #takeUint32(): number {
    return (
      ((this.#takeByte() << 24) | (this.#takeByte() << 16) | (this.#takeByte() << 8) | this.#takeByte()) >>> 0
    );
  }

  /**
   * Takes `count` buffered payload bytes (all of them buffered), unmasked: a view of the input
   * when they lie in one chunk, else one new buffer they are unmasked into from the chunks.
   */
  #takeBytes(count: number): Uint8Array {
    const chunk = this.#queue[0] as Uint8Array;
    if (chunk.length - this.#offset >= count) {
      const view = chunk.subarray(this.#offset, this.#offset + count);
      this.#lent = true;
      this.#advance(chunk, count);
      if (this.#masked) applyMask(view, this.#key());
      return view;
    }
    const allocate = this.#allocate;
    const out = allocate === undefined ? new Uint8Array(count) : allocate(count);
    const key = this.#masked ? this.#key() : undefined;
    let filled = 0;
    while (filled < count) {
      const current = this.#queue[0] as Uint8Array;
      const size = Math.min(current.length - this.#offset, count - filled);
      const part = current.subarray(this.#offset, this.#offset + size);
      if (key === undefined) out.set(part, filled);
      else maskInto(part, key, out.subarray(filled, filled + size), filled & 3);
      filled += size;
      this.#advance(current, size);
    }
    return out;
  }

  /** Unmasks the buffered bytes of the frame being gathered into its payload buffer. */
  #fillGathering(): void {
    const out = this.#gathering as Uint8Array;
    const key = this.#masked ? this.#key() : undefined;
    let filled = this.#gathered;
    while (filled < out.length && this.#buffered > 0) {
      const current = this.#queue[0] as Uint8Array;
      const size = Math.min(current.length - this.#offset, out.length - filled);
      const part = current.subarray(this.#offset, this.#offset + size);
      if (key === undefined) out.set(part, filled);
      else maskInto(part, key, out.subarray(filled, filled + size), filled & 3);
      filled += size;
      this.#advance(current, size);
    }
    this.#gathered = filled;
  }
}
