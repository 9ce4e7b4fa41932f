/**
 * Prepared messages: a data message framed once (RFC 6455 §5.2) and, with permessage-deflate
 * (RFC 7692), compressed once, whose bytes are then written to many connections. A server's
 * frames are never masked (§5.1), so the same bytes are a correct frame on every connection
 * whose negotiated parameters agree on them:
 *
 * - without extensions, or when the message goes out uncompressed (RSV1 clear is allowed on
 *   any permessage-deflate connection, §6): one plain frame for all;
 * - compressed, only where the server compresses every message from an empty window
 *   (`server_no_context_takeover`, §7.1.1.1): a message compressed on its own then means the
 *   same thing to the peer as the one its own compressor would have made. One compressed frame
 *   per negotiated `server_max_window_bits` (§7.1.2.1), made on first use;
 * - everywhere else (context takeover, other extensions, a client's connection, which masks):
 *   the message goes through that connection's own `send()`, so every peer gets a correct frame.
 *
 * Compression happens once only when the engine can compress the message synchronously (the
 * zlib engine does up to its `syncDeflateMaxSize`, 64 KiB by default); a larger message is
 * compressed by each connection, in order with its other sends.
 *
 * @module
 */
import type { SendOptions } from "@ws/codec";
import {
  DEFAULT_DEFLATE_THRESHOLD,
  type DeflateEngine,
  PERMESSAGE_DEFLATE,
  type PermessageDeflateExtension,
} from "@ws/codec/extensions";
import { frameHeaderSize, Opcode, Rsv, writeFrameHeader } from "@ws/codec/frame";
import { isValidUtf8 } from "@ws/codec/message";
import type { MessageData, Session } from "../session.ts";
import { toBytes } from "../session.ts";

/** Options of {@link prepareMessage}. */
export interface PrepareMessageOptions {
  /** Send as a binary message. Default: text for a string, binary for bytes. */
  readonly binary?: boolean | undefined;
  /**
   * Compress with permessage-deflate where it was negotiated. Default true (messages under the
   * server's `threshold` are still sent uncompressed, as with `send`); false never compresses.
   */
  readonly compress?: boolean | undefined;
}

/** How a server compresses prepared messages: its engine and `perMessageDeflate` settings. */
export interface PreparedDeflate {
  readonly engine: DeflateEngine;
  /** Messages under this many bytes are not compressed. Default 1024. */
  readonly threshold?: number | undefined;
  /** zlib level, -1 (default, 6) to 9. */
  readonly level?: number | undefined;
  /** zlib memLevel, 1 to 9. Default 8. */
  readonly memLevel?: number | undefined;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The compressor's output as one message payload: joined, without the trailing `00 00 ff ff`
 * of the sync flush (RFC 7692 §7.2.1), or the single byte `00` when nothing is left (§7.2.3.6).
 */
function withoutTail(output: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of output) length += part.length;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of output) {
    joined.set(part, offset);
    offset += part.length;
  }
  const tail =
    length >= 4 &&
    joined[length - 4] === 0x00 &&
    joined[length - 3] === 0x00 &&
    joined[length - 2] === 0xff &&
    joined[length - 1] === 0xff;
  if (!tail) return length > 0 ? joined : new Uint8Array([0x00]);
  return length > 4 ? joined.subarray(0, length - 4) : new Uint8Array([0x00]);
}

/** `payload` framed in one buffer: header then payload (§5.2), unmasked (a server's frame). */
function frameOf(opcode: number, rsv: number, payload: Uint8Array): Uint8Array[] {
  const headerSize = frameHeaderSize(payload.length, false);
  const frame = new Uint8Array(headerSize + payload.length);
  writeFrameHeader(frame, 0, true, rsv, opcode, payload.length, undefined);
  frame.set(payload, headerSize);
  return [frame];
}

/**
 * A data message framed once for many connections. Make one with {@link prepareMessage} (or a
 * server's `prepareMessage`, which also compresses once) and send it with
 * `socket.sendPrepared(message)`; `server.publish` prepares its message itself.
 */
export class PreparedMessage {
  /** Whether the message is binary (else text). */
  readonly binary: boolean;
  /** The payload bytes (UTF-8 for text); do not modify. */
  readonly payload: Uint8Array;
  /** The `compress` option given. */
  readonly compress: boolean | undefined;
  readonly #deflate: PreparedDeflate | undefined;
  readonly #sendOptions: SendOptions | undefined;
  #text: string | undefined;
  #plain: Uint8Array[] | undefined;
  /** Compressed frames by window bits; null when this engine cannot compress it synchronously. */
  #compressed: Map<number, Uint8Array[] | null> | undefined;

  /** Use {@link prepareMessage}. */
  constructor(
    payload: Uint8Array,
    binary: boolean,
    compress: boolean | undefined,
    deflate?: PreparedDeflate,
    text?: string,
  ) {
    this.payload = payload;
    this.binary = binary;
    this.compress = compress;
    this.#deflate = deflate;
    this.#text = text;
    this.#sendOptions = compress === undefined ? undefined : { compress };
  }

  /** The message as `send()` takes it: a string for text, bytes for binary. */
  get data(): string | Uint8Array {
    if (this.binary) return this.payload;
    this.#text ??= utf8Decoder.decode(this.payload);
    return this.#text;
  }

  /** The `send()` options that go with {@link PreparedMessage.data}. */
  get sendOptions(): SendOptions | undefined {
    return this.#sendOptions;
  }

  /** The frame bytes that are correct on `session` as they are, or undefined (use `send()`). */
  framesFor(session: Session): Uint8Array[] | undefined {
    if (session.role !== "server") return undefined; // a client masks each frame (§5.3)
    const extensions = session.connection.extensions;
    if (extensions.length === 0) return this.#plainFrame();
    const extension = extensions[0] as PermessageDeflateExtension;
    if (extensions.length > 1 || extension.name !== PERMESSAGE_DEFLATE || extension.negotiated === undefined)
      return undefined;
    if (this.compress === false) return this.#plainFrame();
    const deflate = this.#deflate;
    // Without the server's settings the connection decides (its threshold, its compressor).
    if (deflate === undefined) return undefined;
    if (this.payload.length < (deflate.threshold ?? DEFAULT_DEFLATE_THRESHOLD)) return this.#plainFrame();
    const negotiated = extension.negotiated;
    if (!negotiated.serverNoContextTakeover) return undefined;
    return this.#compressedFrame(negotiated.serverMaxWindowBits, deflate);
  }

  #plainFrame(): Uint8Array[] {
    this.#plain ??= frameOf(this.binary ? Opcode.Binary : Opcode.Text, 0, this.payload);
    return this.#plain;
  }

  #compressedFrame(windowBits: number, deflate: PreparedDeflate): Uint8Array[] | undefined {
    this.#compressed ??= new Map();
    const known = this.#compressed.get(windowBits);
    if (known !== undefined) return known ?? undefined;
    const compressor = deflate.engine.createCompressor({
      windowBits,
      level: deflate.level ?? -1,
      memLevel: deflate.memLevel ?? 8,
      noContextTakeover: true,
    });
    let frame: Uint8Array[] | null = null;
    try {
      const output = compressor.compress(this.payload, true);
      if (Array.isArray(output)) {
        // RFC 7692 §6: RSV1 on the first frame of a compressed message.
        frame = frameOf(this.binary ? Opcode.Binary : Opcode.Text, Rsv.Rsv1, withoutTail(output));
      } else {
        // Too large for the engine's synchronous path: each connection compresses it.
        output.then(
          () => compressor.close(),
          () => compressor.close(),
        );
      }
    } finally {
      if (frame !== null) compressor.close();
    }
    this.#compressed.set(windowBits, frame);
    return frame ?? undefined;
  }
}

/**
 * Frames a message once, to send it to many sockets with `socket.sendPrepared(message)`.
 * Without a server's deflate settings, connections with permessage-deflate compress it
 * themselves (use the server's `prepareMessage` to compress once for all of them).
 *
 * @throws {TypeError} for data that is not a string or bytes, or text that is not UTF-8.
 */
export function prepareMessage(
  data: MessageData,
  options: PrepareMessageOptions = {},
  deflate?: PreparedDeflate,
): PreparedMessage {
  checkOptions(options);
  if (typeof data === "string") {
    return new PreparedMessage(
      utf8Encoder.encode(data),
      options.binary === true,
      options.compress,
      deflate,
      options.binary === true ? undefined : data,
    );
  }
  const bytes = toBytes(data);
  const binary = options.binary ?? true;
  if (!binary && !isValidUtf8(bytes)) {
    throw new TypeError("Cannot prepare a text message: the bytes are not valid UTF-8 (RFC 6455 §5.6)");
  }
  return new PreparedMessage(bytes, binary, options.compress, deflate);
}

const OPTION_NAMES = new Set(["binary", "compress", "except"]);

/** Throws a TypeError naming unknown or mistyped publish/prepare options. */
export function checkOptions(options: object): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot publish: options must be an object");
  }
  for (const name in options) {
    if (!OPTION_NAMES.has(name)) throw new TypeError(`Cannot publish: unknown option ${name}`);
  }
  const { binary, compress } = options as PrepareMessageOptions;
  if (binary !== undefined && typeof binary !== "boolean")
    throw new TypeError("Cannot publish: option binary must be a boolean");
  if (compress !== undefined && typeof compress !== "boolean")
    throw new TypeError("Cannot publish: option compress must be a boolean");
}

/**
 * Sends `message` on `session`: the shared bytes where they are correct as they are, else
 * through `send()`. Same return value and limits as `send()`.
 */
export function sendPreparedOn(session: Session, message: PreparedMessage): boolean {
  const frames = message.framesFor(session);
  if (frames !== undefined) {
    const sent = session.sendFrame(frames, (frames[0] as Uint8Array).length);
    if (sent !== undefined) return sent;
  }
  return session.send(message.data, message.sendOptions);
}
