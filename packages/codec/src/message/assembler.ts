/**
 * Message assembly (RFC 6455 §5.4 "Fragmentation", §5.6 "Data Frames"): data frame pieces in,
 * whole messages (or, in streaming mode, message pieces) out.
 *
 * Rules enforced here: a continuation frame needs a message in progress; a new text or binary
 * frame may not start while one is in progress; RSV bits only on a message's first frame (the
 * extensions we support are per-message, like permessage-deflate, RFC 7692 §6); text is valid
 * UTF-8, checked as it arrives; the message size limit (and the optional fragment count limit).
 * What a message in progress holds is bounded by its bytes, however it is fragmented (see
 * `collector.ts`).
 *
 * @module
 */
import { CloseCode, Opcode } from "../constants.ts";
import { ErrorCode, type FailureCloseCode, RemoteProtocolError } from "../errors.ts";
import type { Extension, MessageDecoder } from "../extensions/extension.ts";
import type { FramePiece, SmallFragment, SmallFrame } from "../frame/decoder.ts";
import { ByteCollector } from "./collector.ts";
import { TextCollector } from "./text-collector.ts";
import { decodeUtf8, decodeUtf8Range, StreamingUtf8Decoder, type Utf8RangeDecoder } from "./utf8.ts";

/** A message, or a piece of one, ready to deliver. */
export type AssembledMessage =
  | { readonly type: "text"; readonly data: string }
  | { readonly type: "binary"; readonly data: Uint8Array }
  | { readonly type: "text-piece"; readonly data: string; readonly first: boolean; readonly last: boolean }
  | {
      readonly type: "binary-piece";
      readonly data: Uint8Array;
      readonly first: boolean;
      readonly last: boolean;
    };

/** Options for a {@link MessageAssembler}. */
export interface MessageAssemblerOptions {
  /** Largest message in bytes, after extensions decoded it (close 1009 beyond). */
  readonly maxMessageSize: number;
  /** Most frames in one message (close 1008 beyond); `Infinity` for no count bound. */
  readonly maxFragments: number;
  /** Deliver messages as pieces as they arrive, instead of whole. */
  readonly streamMessages: boolean;
  /** Negotiated extensions, in the order of the `Sec-WebSocket-Extensions` response. */
  readonly extensions: readonly Extension[];
  /** Memory shared with other connections for what extensions produce; see {@link OutputBudget}. */
  readonly outputBudget?: OutputBudget | undefined;
}

/**
 * Memory that several connections share for what their extensions produce (the bytes a
 * permessage-deflate message inflates to): before each decoding step the assembler takes room
 * for its output, and gives it back once the step has produced it (it is then the message's,
 * see `MessageAssembler.heldBytes`) or failed. A server passes its memory budget, so that many
 * inflate bombs at once cannot go past it (a per-connection limit is not a server bound). A
 * step that would produce more than it was given fails with 1009 (RFC 6455 §7.4.1: a message
 * "too big for it to process"), without producing it.
 */
export interface OutputBudget {
  /** Takes room for up to `wanted` bytes of output; returns how much was given (0 to `wanted`). */
  take(wanted: number): number;
  /** Gives back room that {@link OutputBudget.take} gave. */
  give(granted: number): void;
}

/**
 * `source[start…end)` copied into an array of its own, byte by byte: for the small payloads
 * this is used for, cheaper on JavaScriptCore than `slice()` or a view.
 */
function copyOf(source: Uint8Array, start: number, end: number): Uint8Array {
  const copy = new Uint8Array(end - start);
  for (let i = start; i < end; i++) copy[i - start] = source[i] as number;
  return copy;
}

function fail(code: ErrorCode, closeCode: FailureCloseCode, detail: string): never {
  throw new RemoteProtocolError(code, closeCode, `Cannot assemble message: ${detail}`);
}

/** The 1009 failure of a message whose size so far plus the next frame's is over the limit. */
function tooBig(size: number, maxMessageSize: number): never {
  fail(
    ErrorCode.MessageTooBig,
    CloseCode.MessageTooBig,
    `the message is at least ${size} bytes, the limit is ${maxMessageSize}`,
  );
}

/**
 * The message of one frame read by `FrameDecoder.nextSmallFrame` or `nextMessageFrame` that
 * starts and ends it (FIN set, a text or binary opcode, no RSV bits) while no message is in
 * progress: binary as a view of the input chunk, or as a copy when it is at most `copyUpTo`
 * bytes (see `ConnectionOptions.copyPayloadsUpTo`); text validated and decoded from it (RFC
 * 6455 §8.1: the message is whole, so validating it whole fails as soon as it is certain), by
 * `decodeText` when the runtime has one (see `ConnectionOptions.decodeText`).
 * It needs no state of a connection, so a connection whose messages all come this way needs no
 * {@link MessageAssembler} (`Connection` makes one for the first other frame). Throws a
 * {@link RemoteProtocolError} (1009 over `maxMessageSize`, 1007 for invalid UTF-8).
 */
export function oneSmallFrameMessage(
  frame: SmallFrame,
  copyUpTo: number,
  maxMessageSize: number,
  decodeText?: Utf8RangeDecoder,
): AssembledMessage {
  const { source, start, end } = frame;
  if (end - start > maxMessageSize) tooBig(end - start, maxMessageSize);
  if (frame.opcode === Opcode.Text) {
    // The runtime's range decoder needs no view or copy of the payload (see `Utf8RangeDecoder`);
    // a short payload is copied anyway (see copyUpTo), and a decoder's call costs less then.
    if (decodeText !== undefined && end - start > copyUpTo)
      return { type: "text", data: decodeUtf8Range(source, start, end, decodeText, "text message") };
    const bytes = end - start <= copyUpTo ? copyOf(source, start, end) : source.subarray(start, end);
    return { type: "text", data: decodeUtf8(bytes, "text message") };
  }
  // A view of a fresh input chunk costs more than a copy on JavaScriptCore (see copyUpTo).
  return {
    type: "binary",
    data: end - start <= copyUpTo ? copyOf(source, start, end) : source.subarray(start, end),
  };
}

/** Assembles data frame pieces into messages. Throws {@link RemoteProtocolError} on a violation. */
export class MessageAssembler {
  // The options, read one by one: a connection passes a fresh options object, which would
  // otherwise stay alive beside the assembler for as long as the connection.
  readonly #maxMessageSize: number;
  readonly #maxFragments: number;
  readonly #streamMessages: boolean;
  readonly #extensions: readonly Extension[];
  readonly #outputBudget: OutputBudget | undefined;
  // Made for the first text message: an idle connection, or one that only gets binary
  // messages, does not need one.
  #utf8: StreamingUtf8Decoder | undefined;

  // The message in progress: Text, Binary, or Continuation (0) for none.
  #kind = 0;
  #size = 0;
  /** Bytes of the message as received, before the extensions decoded them. */
  #encodedSize = 0;
  #fragments = 0;
  #decoders: MessageDecoder[] | undefined;
  // Whole mode: a message in several pieces so far, as bytes (binary) or as the text its
  // pieces decoded to, in few parts however it is fragmented. A message in one piece is
  // delivered without them, so they are made for the first message that comes in pieces
  // (`#bytes()`, `#texts()`): an idle connection, or one whose messages each fit in one piece,
  // holds neither.
  #collected: ByteCollector | undefined;
  #text: TextCollector | undefined;
  // Streaming mode: whether a piece of the message was already delivered.
  #delivered = false;

  /** Creates an assembler with the given limits and extensions. */
  constructor(options: MessageAssemblerOptions) {
    this.#maxMessageSize = options.maxMessageSize;
    this.#maxFragments = options.maxFragments;
    this.#streamMessages = options.streamMessages;
    this.#extensions = options.extensions;
    this.#outputBudget = options.outputBudget;
  }

  /** Whether a fragmented message is in progress. */
  get inMessage(): boolean {
    return this.#kind !== 0;
  }

  /**
   * Memory the message in progress holds until it is whole (decoded, after extensions; text as
   * its UTF-8 bytes), with what each kept part costs beyond its bytes; 0 in streaming mode,
   * where pieces are delivered as they arrive.
   */
  get heldBytes(): number {
    if (this.#kind === 0 || this.#streamMessages) return 0;
    return (this.#kind === Opcode.Text ? this.#text?.footprint : this.#collected?.footprint) ?? 0;
  }

  /**
   * Takes one data frame piece; returns a message or message piece to deliver, if any. When an
   * extension decodes asynchronously, returns a promise of that instead; the caller must not
   * push again before it settles. Failures throw (or reject with) a {@link RemoteProtocolError}.
   */
  push(piece: FramePiece): AssembledMessage | undefined | Promise<AssembledMessage | undefined> {
    if (piece.first) this.#frameStarts(piece.opcode, piece.rsv, piece.payloadLength);
    const messageEnds = piece.last && piece.fin;
    if (this.#decoders === undefined) {
      this.#size += piece.data.length;
      return this.#deliver(piece.data, messageEnds);
    }
    const decoded = this.#decodeStage(0, piece.data, messageEnds);
    if (decoded instanceof Promise) return decoded.then((data) => this.#deliverDecoded(data, messageEnds));
    return this.#deliverDecoded(decoded, messageEnds);
  }

  /**
   * Whether {@link MessageAssembler.pushSmallFragment} may be used now: whole messages are
   * assembled (small pieces are copied, not delivered) and no extension decodes the message in
   * progress.
   */
  get takesSmallFragments(): boolean {
    return !this.#streamMessages && this.#decoders === undefined;
  }

  /**
   * Takes a fragment read by `FrameDecoder.nextSmallFragment` (a data frame without FIN and
   * without RSV bits, whole), like {@link MessageAssembler.push} would take it as one piece,
   * but its payload is copied (binary) or decoded (text) straight from the input chunk, without
   * a view of it. Only while {@link MessageAssembler.takesSmallFragments}. It never ends a
   * message, so nothing is returned. Failures throw a {@link RemoteProtocolError}.
   */
  pushSmallFragment(fragment: SmallFragment): void {
    this.#frameStarts(fragment.opcode, 0, fragment.payloadLength);
    const { source, start, end } = fragment;
    this.#size += end - start;
    if (this.#kind === Opcode.Text) {
      // Fail fast (RFC 6455 §8.1), as in #collect.
      this.#texts().push(this.#textDecoder().decodeRange(source, start, end), end - start);
    } else {
      this.#bytes().pushRange(source, start, end);
    }
  }

  /**
   * Takes a frame read by `FrameDecoder.nextSmallFrame`, like {@link MessageAssembler.push}
   * would take it as one piece, and returns the message it ends, if any. A message in one
   * frame is delivered from the input chunk at once: binary as a view of it, or as a copy when
   * it is at most `copyUpTo` bytes (see `ConnectionOptions.copyPayloadsUpTo`); text decoded
   * from it. Only while {@link MessageAssembler.takesSmallFragments}. Failures throw a
   * {@link RemoteProtocolError}.
   */
  pushSmallFrame(
    frame: SmallFrame,
    copyUpTo: number,
    decodeText?: Utf8RangeDecoder,
  ): AssembledMessage | undefined {
    if (!frame.fin) {
      this.pushSmallFragment(frame);
      return undefined;
    }
    // Nothing in progress: the message is this frame.
    if (this.#kind === 0 && frame.opcode !== Opcode.Continuation)
      return oneSmallFrameMessage(frame, copyUpTo, this.#maxMessageSize, decodeText);
    this.#frameStarts(frame.opcode, 0, frame.payloadLength);
    const { source, start, end } = frame;
    const whole = this.#size === 0;
    this.#size += end - start;
    let message: AssembledMessage;
    if (this.#kind === Opcode.Text) {
      // Validated and decoded as in #collect (RFC 6455 §8.1), from a copy when it is small (a
      // view of a fresh input chunk costs more there).
      const bytes = end - start <= copyUpTo ? copyOf(source, start, end) : source.subarray(start, end);
      const text = this.#textDecoder().decode(bytes, true);
      if (whole) message = { type: "text", data: text };
      else {
        const texts = this.#texts();
        texts.push(text, end - start);
        message = { type: "text", data: texts.take() };
      }
    } else if (whole) {
      message = {
        type: "binary",
        data: end - start <= copyUpTo ? copyOf(source, start, end) : source.subarray(start, end),
      };
    } else {
      const collected = this.#bytes();
      collected.pushRange(source, start, end);
      message = { type: "binary", data: collected.take() };
    }
    this.#reset();
    return message;
  }

  #deliverDecoded(parts: readonly Uint8Array[], messageEnds: boolean): AssembledMessage | undefined {
    let size = 0;
    for (const part of parts) size += part.length;
    this.#size += size;
    if (this.#size > this.#maxMessageSize) {
      fail(
        ErrorCode.MessageTooBig,
        CloseCode.MessageTooBig,
        `the decoded message exceeds the limit of ${this.#maxMessageSize} bytes`,
      );
    }
    if (this.#streamMessages || parts.length <= 1) return this.#deliver(join(parts), messageEnds);
    // Whole mode: an extension's output in several parts is collected part by part, as if it
    // were that many pieces, instead of being joined first (the collector keeps large parts as
    // they are, and the one copy is the join when the message is whole).
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) this.#collect(parts[i] as Uint8Array, false);
    return this.#deliver(parts[last] as Uint8Array, messageEnds);
  }

  #deliver(data: Uint8Array, messageEnds: boolean): AssembledMessage | undefined {
    const message = this.#streamMessages
      ? this.#deliverPiece(data, messageEnds)
      : this.#collect(data, messageEnds);
    if (messageEnds) this.#reset();
    return message;
  }

  #frameStarts(opcode: number, rsv: number, payloadLength: number): void {
    if (opcode === Opcode.Continuation) {
      if (this.#kind === 0)
        fail(
          ErrorCode.UnexpectedContinuation,
          CloseCode.ProtocolError,
          "a continuation frame has no message to continue",
        );
      if (rsv !== 0)
        fail(ErrorCode.ReservedBits, CloseCode.ProtocolError, "RSV bits are set on a continuation frame");
      if (++this.#fragments > this.#maxFragments) {
        fail(
          ErrorCode.TooManyFragments,
          CloseCode.PolicyViolation,
          `the message has more than ${this.#maxFragments} fragments`,
        );
      }
    } else {
      if (this.#kind !== 0)
        fail(
          ErrorCode.ExpectedContinuation,
          CloseCode.ProtocolError,
          "a new message starts before the previous one ended",
        );
      this.#kind = opcode;
      this.#fragments = 1;
      if (rsv !== 0) this.#decoders = this.#startDecoders(rsv);
    }
    // The frame's length is known now: fail before buffering or decoding it. Without an
    // extension that is the message's size so far; with one (permessage-deflate) the encoded
    // bytes count against the limit too, as in ws, so a header declaring more than the limit is
    // refused at once instead of being inflated piece by piece.
    if (this.#decoders === undefined) {
      if (this.#size + payloadLength > this.#maxMessageSize)
        tooBig(this.#size + payloadLength, this.#maxMessageSize);
    } else {
      this.#encodedSize += payloadLength;
      if (this.#encodedSize > this.#maxMessageSize) {
        fail(
          ErrorCode.MessageTooBig,
          CloseCode.MessageTooBig,
          `the encoded message is at least ${this.#encodedSize} bytes, the limit is ${this.#maxMessageSize}`,
        );
      }
    }
  }

  #startDecoders(rsv: number): MessageDecoder[] | undefined {
    const decoders: MessageDecoder[] = [];
    // Inbound, extensions apply in the reverse of their negotiated order (RFC 6455 §9.1).
    const extensions = this.#extensions;
    for (let i = extensions.length - 1; i >= 0; i--) {
      const extension = extensions[i] as Extension;
      const bits = rsv & extension.rsvMask;
      if (bits === 0) continue;
      const decoder = extension.decodeMessage(bits);
      if (decoder !== undefined) decoders.push(decoder);
    }
    return decoders.length === 0 ? undefined : decoders;
  }

  /**
   * Runs the payload through decoder `index` and the ones after it, synchronously if they are;
   * returns the last one's output parts.
   */
  #decodeStage(index: number, input: Uint8Array, last: boolean): Uint8Array[] | Promise<Uint8Array[]> {
    const decoders = this.#decoders as MessageDecoder[];
    const room = Math.max(0, this.#maxMessageSize - this.#size);
    const budget = this.#outputBudget;
    const decoder = decoders[index] as MessageDecoder;
    // Reserve what this step can really output (a bound the extension may know), not the whole
    // room: an asynchronous step holds its reservation until it settles, and many connections
    // each holding the message limit would exhaust a shared budget with no real bytes held.
    const wanted =
      budget === undefined || decoder.maxOutputFor === undefined
        ? room
        : Math.min(room, decoder.maxOutputFor(input.length));
    const granted = budget === undefined ? room : budget.take(wanted);
    let output: Uint8Array[] | Promise<Uint8Array[]>;
    try {
      output = decoder.push(input, last, granted);
    } catch (error) {
      budget?.give(granted);
      throw asExtensionFailure(error, granted < wanted);
    }
    if (output instanceof Promise) {
      return output.then(
        (parts) => {
          budget?.give(granted);
          return this.#nextStage(index + 1, parts, last);
        },
        (error: unknown) => {
          budget?.give(granted);
          throw asExtensionFailure(error, granted < wanted);
        },
      );
    }
    budget?.give(granted);
    return this.#nextStage(index + 1, output, last);
  }

  /** Hands `parts` to decoder `index` (joined), or returns them after the last decoder. */
  #nextStage(index: number, parts: Uint8Array[], last: boolean): Uint8Array[] | Promise<Uint8Array[]> {
    if (index === (this.#decoders as MessageDecoder[]).length) return parts;
    return this.#decodeStage(index, join(parts), last);
  }

  #collect(data: Uint8Array, messageEnds: boolean): AssembledMessage | undefined {
    // Nothing held yet (an empty first piece, such as the one announcing a frame the decoder
    // gathers whole, is not held): the message is this piece, without a copy.
    const whole = messageEnds && this.#size === data.length;
    if (this.#kind === Opcode.Text) {
      // Fail fast (RFC 6455 §8.1): each piece is validated and decoded as it arrives, in time
      // proportional to its bytes.
      const text = this.#textDecoder().decode(data, messageEnds);
      if (whole) return { type: "text", data: text };
      const texts = this.#texts();
      texts.push(text, data.length);
      return messageEnds ? { type: "text", data: texts.take() } : undefined;
    }
    if (whole) return { type: "binary", data };
    const collected = this.#bytes();
    collected.push(data);
    return messageEnds ? { type: "binary", data: collected.take() } : undefined;
  }

  #deliverPiece(data: Uint8Array, messageEnds: boolean): AssembledMessage | undefined {
    if (this.#kind === Opcode.Text) {
      const text = this.#textDecoder().decode(data, messageEnds);
      if (text === "" && !messageEnds) return undefined;
      return { type: "text-piece", data: text, first: this.#firstPiece(), last: messageEnds };
    }
    if (data.length === 0 && !messageEnds) return undefined;
    return { type: "binary-piece", data, first: this.#firstPiece(), last: messageEnds };
  }

  #bytes(): ByteCollector {
    this.#collected ??= new ByteCollector();
    return this.#collected;
  }

  #texts(): TextCollector {
    this.#text ??= new TextCollector();
    return this.#text;
  }

  #textDecoder(): StreamingUtf8Decoder {
    this.#utf8 ??= new StreamingUtf8Decoder();
    return this.#utf8;
  }

  #firstPiece(): boolean {
    const first = !this.#delivered;
    this.#delivered = true;
    return first;
  }

  /**
   * Drops the message in progress, freeing what it holds (the connection failed: nothing more
   * is delivered). The caller must not do it while a {@link push} it got a promise from has not
   * settled.
   */
  discard(): void {
    this.#reset();
  }

  #reset(): void {
    this.#kind = 0;
    this.#size = 0;
    this.#encodedSize = 0;
    this.#fragments = 0;
    this.#decoders = undefined;
    this.#collected?.clear();
    this.#text?.clear();
    this.#delivered = false;
  }
}

/**
 * A failure inside an extension that is not the peer's fault is an internal error (1011).
 * `budgeted`: the step was given less room than the message limit leaves (the shared
 * {@link OutputBudget} is short), so "too big" is said as such.
 */
function asExtensionFailure(error: unknown, budgeted = false): RemoteProtocolError {
  if (error instanceof RemoteProtocolError) {
    if (budgeted && error.code === ErrorCode.MessageTooBig)
      return new RemoteProtocolError(
        ErrorCode.MessageTooBig,
        CloseCode.MessageTooBig,
        "Cannot decode message: it decodes to more than the memory the server can give it now",
      );
    return error;
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new RemoteProtocolError(
    ErrorCode.ExtensionFailure,
    CloseCode.InternalError,
    `Cannot decode message: an extension failed: ${detail}`,
  );
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts);
}

/** Concatenates byte arrays into one new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
