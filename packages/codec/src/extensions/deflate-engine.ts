/**
 * The raw DEFLATE engine that permessage-deflate (RFC 7692) is built on, as an injected
 * interface: the codec implements the extension's rules (negotiation, RSV1, the
 * `00 00 ff ff` tail), the engine only compresses and decompresses raw DEFLATE data
 * (RFC 1951, no zlib or gzip wrapper). `@ws/deflate` implements it twice: `createPortableEngine`
 * (synchronous, plain JavaScript, every runtime) and `createZlibEngine` (on a
 * `node:zlib`-compatible module, which Node, Deno and Bun all provide).
 *
 * The results may be asynchronous: `node:zlib` keeps a stream's LZ77 window between calls
 * (context takeover, RFC 7692 §7.1.1) publicly only through its streaming API, which is
 * asynchronous. An engine may answer synchronously whenever it can (the portable engine always
 * does), so a caller must accept both; the codec's `Connection` keeps `PENDING` and
 * promise-returning `send()` for the asynchronous ones.
 *
 * Contract shared by {@link Compressor} and {@link Decompressor}:
 *
 * - One compressor and one decompressor serve one direction of one connection, for its
 *   lifetime (or until `close()`). Calls belong to messages: every call with `end: false`
 *   continues the current message, a call with `end: true` ends it.
 * - **Order.** Calls may be made before earlier results settle; they are processed and settle
 *   in call order. A call returns synchronously only when no earlier call on the same object is
 *   still pending, so a synchronous result never overtakes a pending one.
 * - **Inputs are borrowed** until the call settles: the caller must not modify them meanwhile.
 * - **Outputs are owned by the caller** (plain `Uint8Array`s the engine will not touch again).
 * - **No context takeover.** When created with `noContextTakeover: true`, the engine starts
 *   every message from an empty LZ77 window (RFC 7692 §7.1.1.1, §7.1.1.2): it resets or frees
 *   its state after each `end: true` call. The engine does this, not the extension, because
 *   the engine knows what is cheapest: both engines free their state between messages (an
 *   idle connection then holds no compression memory), and the zlib engine compresses small
 *   whole messages with the one-shot synchronous functions.
 *
 * @module
 */

/** Options of {@link DeflateEngine.createCompressor}. */
export interface CompressorOptions {
  /**
   * The LZ77 window the peer accepts, as a power of two, 8 to 15 (RFC 7692 §7.1.2: our
   * `*_max_window_bits`). The compressor must never refer further back than `1 << windowBits`
   * bytes. (zlib cannot create a raw deflate stream with 8; it may use 9, whose farthest
   * reference is 250 bytes.)
   */
  readonly windowBits: number;
  /** Compression level, 0 (none) to 9 (best), or -1 for the engine's default (zlib: 6). */
  readonly level: number;
  /** Memory for the compressor's internal state, 1 to 9 (zlib `memLevel`, default 8). */
  readonly memLevel: number;
  /** Start every message from an empty window (RFC 7692 §7.1.1: `*_no_context_takeover`). */
  readonly noContextTakeover: boolean;
}

/** Options of {@link DeflateEngine.createDecompressor}. */
export interface DecompressorOptions {
  /**
   * The largest LZ77 window the peer may use, 8 to 15 (RFC 7692 §7.1.2). A decompressor with a
   * larger window than the peer's always works; a smaller one fails on far references.
   */
  readonly windowBits: number;
  /** The peer starts every message from an empty window, so no state needs to be kept. */
  readonly noContextTakeover: boolean;
}

/**
 * Compresses the messages of one direction of one connection (one LZ77 stream with context
 * takeover, one per message without).
 */
export interface Compressor {
  /**
   * Compresses `input`, the next part of the current message, and flushes: the returned bytes
   * are everything the input produced, ending with an empty stored block `00 00 ff ff` (a
   * DEFLATE "sync flush", RFC 7692 §7.2.1), or nothing when there was nothing to flush. `end`
   * ends the message. The caller removes the trailing `00 00 ff ff` of the message's last
   * output (RFC 7692 §7.2.1).
   *
   * Throws or rejects with an `Error` when the compressor was closed or its engine failed.
   */
  compress(input: Uint8Array, end: boolean): Uint8Array[] | Promise<Uint8Array[]>;
  /** Frees the engine's resources. Pending calls reject; later calls throw. Idempotent. */
  close(): void;
}

/**
 * Decompresses the messages of one direction of one connection.
 */
export interface Decompressor {
  /**
   * Decompresses `input` (the chunks in order: the caller appends the `00 00 ff ff` tail to a
   * message's last call, RFC 7692 §7.2.2) and returns all the output it produces. `end` ends the
   * message.
   *
   * Must not produce more than `maxOutput` bytes for this call: when the data would inflate to
   * more, it stops inflating (memory stays within about `maxOutput` plus one output chunk) and
   * fails with a `RemoteProtocolError` (`MESSAGE_TOO_BIG`, close code 1009). Corrupt data fails
   * with a `RemoteProtocolError` (`EXTENSION_FAILURE`, close code 1007). A decompressor that
   * failed stays failed. Data after a block with `BFINAL` set (RFC 7692 §7.2.3.4) is ignored,
   * and the next message starts a new stream.
   */
  decompress(
    input: readonly Uint8Array[],
    end: boolean,
    maxOutput: number,
  ): Uint8Array[] | Promise<Uint8Array[]>;
  /** Frees the engine's resources. Pending calls reject; later calls throw. Idempotent. */
  close(): void;
}

/**
 * A raw DEFLATE implementation (RFC 1951), injected into `permessageDeflate()`. Share one engine
 * per process: an engine may hold process-wide resources such as a limit on concurrent work.
 */
export interface DeflateEngine {
  /** A compressor for the messages we send on one connection. */
  createCompressor(options: CompressorOptions): Compressor;
  /** A decompressor for the messages we receive on one connection. */
  createDecompressor(options: DecompressorOptions): Decompressor;
}
