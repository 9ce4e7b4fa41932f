/**
 * A synchronous {@link DeflateEngine} in plain JavaScript, on public APIs only: it runs in every
 * JavaScript runtime, browsers and workers included, and answers every call synchronously.
 *
 * It is built on pako (a line-by-line port of zlib to JavaScript), driven through pako's zlib
 * API (`zlibDeflate` / `zlibInflate` on a `ZStream`) exactly as C code drives zlib:
 *
 * - **Why pako.** permessage-deflate needs a raw DEFLATE stream that outlives a message
 *   (context takeover, RFC 7692 §7.1.1), a sync flush at the end of every message (the empty
 *   stored block `00 00 ff ff`, RFC 7692 §7.2.1), a compressor window of 8 to 15 bits
 *   (`server_max_window_bits` / `client_max_window_bits`, RFC 7692 §7.1.2) and an inflater that
 *   stops at a size limit. pako has all four, being zlib. fflate (the other well-kept candidate,
 *   and faster) was measured and rejected: it has no window-bits option (its compressor always
 *   uses 32 KiB, which breaks a peer that negotiated less), and its `flush(true)` output of
 *   consecutive messages did not inflate as one stream (zlib: "invalid stored block lengths").
 *   The comparison is in the package README.
 * - **Output is counted as it is produced.** zlib writes into one output buffer per call; the
 *   inflater checks the running total after every call and stops as soon as it passes the
 *   message's limit, so a decompression bomb costs at most the limit plus one buffer.
 * - **One scratch buffer per process.** The engine is synchronous and JavaScript runs one call
 *   at a time on a thread, so zlib's output goes to one shared buffer and is copied out at its
 *   real size (compressed output is a fraction of the buffer).
 * - **Window bits.** zlib maps a raw deflate window of 8 bits to 9 (see `zlibWindowBits`); the
 *   inflater takes 8 to 15 as they are.
 *
 * @module
 */
import { CloseCode, ErrorCode, RemoteProtocolError } from "@ws/codec";
import type {
  Compressor,
  CompressorOptions,
  Decompressor,
  DecompressorOptions,
  DeflateEngine,
} from "@ws/codec/extensions";
import {
  Z_BUF_ERROR,
  Z_DATA_ERROR,
  Z_DEFAULT_STRATEGY,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
  ZStream,
  zlibDeflate,
  zlibDeflateEnd,
  zlibDeflateInit2,
  zlibInflate,
  zlibInflateEnd,
  zlibInflateInit2,
} from "pako";
import { checkInteger, tooBig, zlibWindowBits } from "./common.ts";

/** zlib's only compression method (RFC 1951 §3.2.5 "compression method 8"). */
const Z_DEFLATED = 8;

/** Size of the shared output buffer, and so the most a bomb can cost beyond the limit. */
const SCRATCH_SIZE = 64 * 1024;
let scratch: Uint8Array | undefined;

/**
 * Creates the portable engine. It holds no process-wide state besides one 64 KiB output buffer,
 * so one engine may be shared or several created.
 *
 * @example
 * ```ts
 * import { createPortableEngine } from "@ws/deflate";
 * const engine = createPortableEngine();
 * const compressor = engine.createCompressor({ windowBits: 15, level: -1, memLevel: 8, noContextTakeover: false });
 * const bytes = compressor.compress(new TextEncoder().encode("Hello"), true); // [f2 48 cd c9 c9 07 00 00 00 ff ff]
 * compressor.close();
 * ```
 */
export function createPortableEngine(): DeflateEngine {
  return {
    createCompressor: (options) => new PortableCompressor(options),
    createDecompressor: (options) => new PortableDecompressor(options),
  };
}

function closedError(what: string): Error {
  return new Error(`Cannot ${what}: the deflate engine was closed`);
}

/**
 * Runs `step` (one `zlibDeflate` or `zlibInflate` call) on `input` until zlib has consumed it
 * and has no more output, collecting copies of the output. Returns zlib's last status.
 * `onOutput` sees the running total after each call and may throw to stop.
 */
function drive(
  stream: ZStream,
  input: Uint8Array,
  step: (stream: ZStream) => number,
  out: Uint8Array[],
  onOutput: (produced: number) => void,
): number {
  scratch ??= new Uint8Array(SCRATCH_SIZE);
  const buffer = scratch;
  stream.input = input;
  stream.next_in = 0;
  stream.avail_in = input.length;
  for (;;) {
    // pako's types ask for an ArrayBuffer-backed array; this one is.
    stream.output = buffer as Uint8Array<ArrayBuffer>;
    stream.next_out = 0;
    stream.avail_out = buffer.length;
    const before = stream.avail_in;
    const status = step(stream);
    const produced = stream.next_out;
    if (produced > 0) {
      onOutput(produced);
      out.push(buffer.slice(0, produced));
    }
    if (status !== Z_OK) return status;
    // Output space left over: zlib consumed all the input it could and flushed (or, making no
    // progress at all, has nothing more to give).
    if (stream.avail_out !== 0 && (stream.avail_in === 0 || stream.avail_in === before)) return status;
  }
}

class PortableCompressor implements Compressor {
  readonly #windowBits: number;
  readonly #level: number;
  readonly #memLevel: number;
  readonly #noContextTakeover: boolean;
  #stream: ZStream | undefined;
  #closed = false;

  constructor(options: CompressorOptions) {
    checkInteger("windowBits", options.windowBits, 8, 15);
    checkInteger("level", options.level, -1, 9);
    checkInteger("memLevel", options.memLevel, 1, 9);
    this.#windowBits = zlibWindowBits(options.windowBits);
    this.#level = options.level;
    this.#memLevel = options.memLevel;
    this.#noContextTakeover = options.noContextTakeover;
  }

  compress(input: Uint8Array, end: boolean): Uint8Array[] {
    if (this.#closed) throw closedError("compress");
    let stream = this.#stream;
    if (stream === undefined) {
      stream = new ZStream();
      const status = zlibDeflateInit2(
        stream,
        this.#level,
        Z_DEFLATED,
        -this.#windowBits, // negative: raw DEFLATE, no zlib header (RFC 7692 §7.2.1)
        this.#memLevel,
        Z_DEFAULT_STRATEGY,
      );
      if (status !== Z_OK) throw new Error(`Cannot compress: zlib refused the settings (${stream.msg})`);
      this.#stream = stream;
    }
    const out: Uint8Array[] = [];
    const status = drive(
      stream,
      input,
      (s) => zlibDeflate(s, Z_SYNC_FLUSH),
      out,
      () => {},
    );
    // Z_BUF_ERROR: nothing to do (no input and everything already flushed), not an error.
    if (status !== Z_OK && status !== Z_BUF_ERROR) {
      this.#drop();
      throw new Error(`Cannot compress: zlib failed (${stream.msg || status})`);
    }
    // RFC 7692 §7.1.1: without context takeover, the next message starts from an empty window.
    // Dropping the stream (instead of resetting it) leaves an idle connection holding nothing.
    if (end && this.#noContextTakeover) this.#drop();
    return out;
  }

  #drop(): void {
    if (this.#stream !== undefined) zlibDeflateEnd(this.#stream);
    this.#stream = undefined;
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }
}

class PortableDecompressor implements Decompressor {
  readonly #windowBits: number;
  readonly #noContextTakeover: boolean;
  #stream: ZStream | undefined;
  /** The DEFLATE stream ended (a block with BFINAL set): the rest of the message is ignored. */
  #ended = false;
  #closed = false;
  #failure: RemoteProtocolError | undefined;

  constructor(options: DecompressorOptions) {
    checkInteger("windowBits", options.windowBits, 8, 15);
    this.#windowBits = options.windowBits;
    this.#noContextTakeover = options.noContextTakeover;
  }

  decompress(input: readonly Uint8Array[], end: boolean, maxOutput: number): Uint8Array[] {
    if (this.#closed) throw closedError("decompress");
    if (this.#failure !== undefined) throw this.#failure;
    const out: Uint8Array[] = [];
    let total = 0;
    const count = (produced: number): void => {
      total += produced;
      if (total > maxOutput) throw tooBig(maxOutput);
    };
    try {
      for (const chunk of input) {
        if (this.#ended || chunk.length === 0) continue;
        const stream = this.#open();
        const status = drive(stream, chunk, (s) => zlibInflate(s, Z_SYNC_FLUSH), out, count);
        if (status === Z_STREAM_END) {
          // RFC 7692 §7.2.3.4: a block with BFINAL set ends the DEFLATE stream; data after it in
          // this message is ignored and the next message starts a new stream.
          this.#ended = true;
        } else if (status !== Z_OK && status !== Z_BUF_ERROR) {
          throw inflateFailure(status, stream.msg);
        }
      }
    } catch (error) {
      this.#drop();
      this.#failure =
        error instanceof RemoteProtocolError
          ? error
          : new RemoteProtocolError(
              ErrorCode.ExtensionFailure,
              CloseCode.InternalError,
              `Cannot inflate message: ${error instanceof Error ? error.message : String(error)}`,
            );
      throw this.#failure;
    }
    if (end && (this.#noContextTakeover || this.#ended)) {
      this.#drop();
      this.#ended = false;
    }
    return out;
  }

  #open(): ZStream {
    let stream = this.#stream;
    if (stream === undefined) {
      stream = new ZStream();
      const status = zlibInflateInit2(stream, -this.#windowBits);
      if (status !== Z_OK) throw new Error(`zlib refused the settings (${stream.msg})`);
      this.#stream = stream;
    }
    return stream;
  }

  #drop(): void {
    if (this.#stream !== undefined) zlibInflateEnd(this.#stream);
    this.#stream = undefined;
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }
}

function inflateFailure(status: number, message: string): RemoteProtocolError {
  // RFC 7692 §8 leaves the code to the implementation; corrupt data is "inconsistent with the
  // type of the message" (RFC 6455 §7.4.1), as the zlib engine and ws answer. Anything else
  // (out of memory) is not the data's fault.
  return status === Z_DATA_ERROR
    ? new RemoteProtocolError(
        ErrorCode.ExtensionFailure,
        CloseCode.InvalidFramePayloadData,
        `Cannot inflate message: ${message || "invalid data"}`,
      )
    : new RemoteProtocolError(
        ErrorCode.ExtensionFailure,
        CloseCode.InternalError,
        `Cannot inflate message: zlib status ${status} ${message}`,
      );
}
