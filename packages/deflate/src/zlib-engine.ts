/**
 * A {@link DeflateEngine} on top of an injected `node:zlib`-compatible module (Node, Deno and
 * Bun all provide one). `@ws/deflate/node-zlib` passes the runtime's `node:zlib`:
 *
 * ```ts
 * import * as zlib from "node:zlib";
 * const engine = createZlibEngine(zlib); // one per process
 * ```
 *
 * How it works:
 *
 * - **Streams for context takeover.** With context takeover (RFC 7692 §7.1.1) the LZ77 window
 *   outlives a message, so each direction keeps one `DeflateRaw` / `InflateRaw` stream for the
 *   connection's lifetime. Every call writes its input and flushes with `Z_SYNC_FLUSH`
 *   (RFC 7692 §7.2.1), then returns what the stream emitted.
 * - **A synchronous step for small messages** (`./zlib-sync-step.ts`, the one file that uses
 *   `node:zlib` internals, with its probe, fallback and reasons): a whole message of at most
 *   `syncDeflateMaxSize` bytes (compressed: `syncInflateMaxSize`) is run through the stream on
 *   the calling thread where the probe allows it, and only when no asynchronous call is in
 *   flight on that stream (the handle takes one write at a time).
 * - **Slices.** The step can stop between zlib calls and go on later (`SyncStep`). Inflating, a
 *   small input can still make a lot of output (a bomb), so the step stops after about 1 ms
 *   and the rest goes on in turns of the event loop (`inTurns` in `./limiter.ts`: one queue for
 *   the process, about 4 ms of such work per turn for all connections together), so that other
 *   sockets' I/O runs in between. Where the runtime's stream writes run zlib on the calling
 *   thread anyway (Deno: `writesInline`; they call back on `process.nextTick`, so a chain of
 *   them holds the event loop however large), every call goes through the step in slices
 *   instead of the stream API.
 * - **Otherwise one thread-pool round trip per call**, through the public stream API. The
 *   streams are created with `flush: Z_SYNC_FLUSH`, so a `write()` is a write and a flush at
 *   once, and its callback marks the end of its output; small inputs in several pieces (a
 *   message and the `00 00 ff ff` tail) are joined into one write. The usual `write()` +
 *   `flush()` pair would be two hops to the thread pool (`ws` makes two to deflate and three to
 *   inflate).
 * - **Order.** Calls on one compressor or decompressor are chained: each starts when the one
 *   before has settled, so output comes out in input order whatever the caller does.
 * - **A process-wide limit on concurrent zlib work** (`./limiter.ts`, default 10, like `ws`'s
 *   `Limiter`): asynchronous zlib calls run on the runtime's thread pool, and many at once
 *   fragment memory badly on Linux (nodejs/node#8871, websockets/ws#1202). The limit is shared
 *   by every engine made from the same zlib module.
 * - **A synchronous fast path** without context takeover: a whole message within the same
 *   sizes is compressed with `deflateRawSync` or inflated with `inflateRawSync`
 *   (`maxOutputLength` caps the output), both public. Inflating blocks the event loop for at
 *   most the limit: DEFLATE expands at most about 1032:1, so 16 KiB of input inflates to at most
 *   about 16 MiB.
 * - **The decompressed-size cap** stops a decompression bomb as the output arrives: output
 *   chunks (16 KiB, zlib's default `chunkSize`; 64 KiB in the synchronous step) are counted as
 *   they come and the stream is closed as soon as the count passes the limit, so memory stays
 *   within the limit plus one chunk.
 * - **No context takeover** frees the streams after each message (an idle connection then holds
 *   no zlib memory); the next large message creates new ones, which costs about what a reset
 *   does.
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
import { checkInteger, tooBig, zlibWindowBits } from "./common.ts";
import { firstSlice, inTurns, Limiter } from "./limiter.ts";
import { hasSyncStep, SyncStep, writesInline } from "./zlib-sync-step.ts";

/** The options this engine passes to a {@link ZlibLike} module (a subset of `node:zlib`'s). */
export interface ZlibOptionsLike {
  /** zlib `windowBits` (8–15 for raw streams). */
  windowBits?: number;
  /** zlib compression level (-1 to 9). */
  level?: number;
  /** zlib `memLevel` (1–9). */
  memLevel?: number;
  /** The flush used by one-shot calls (`Z_SYNC_FLUSH` here). */
  finishFlush?: number;
  /** The flush every `write()` on a stream does (`Z_SYNC_FLUSH` here). */
  flush?: number;
  /** One-shot calls stop with an error past this many output bytes. */
  maxOutputLength?: number;
}

/** The parts of a `node:zlib` `DeflateRaw` / `InflateRaw` stream this engine uses. */
export interface ZlibStreamLike {
  /** `data` (an output chunk), `error` and `end` events. */
  on(event: string, listener: (...args: never[]) => void): unknown;
  /** Feeds input to the stream; the callback runs once its output was emitted. */
  write(chunk: Uint8Array, callback?: (error?: unknown) => void): unknown;
  /** Flushes with the given flush kind; the callback runs once the output was emitted. */
  flush(kind: number, callback: () => void): void;
  /** Frees the stream's zlib memory. */
  close(): void;
  /** True once the stream was destroyed (after an error or `close()`). */
  readonly destroyed?: boolean;
  /** The error that destroyed the stream, where the runtime reports it. */
  readonly errored?: unknown;
  /** True once the inflater met the end of the DEFLATE stream (a block with `BFINAL` set). */
  readonly readableEnded?: boolean;
  /** Input bytes zlib has consumed so far (`zlib.bytesWritten`). */
  readonly bytesWritten?: number;
}

/**
 * The parts of `node:zlib` this engine uses; pass the module itself
 * (`import * as zlib from "node:zlib"`). The `*Sync` functions enable the synchronous fast path.
 */
export interface ZlibLike {
  /** Creates a raw deflate stream (RFC 1951, no zlib header). */
  createDeflateRaw(options: ZlibOptionsLike): ZlibStreamLike;
  /** Creates a raw inflate stream. */
  createInflateRaw(options: ZlibOptionsLike): ZlibStreamLike;
  /** zlib constants; only `Z_SYNC_FLUSH` is used. */
  readonly constants: { readonly Z_SYNC_FLUSH: number };
  /** One-shot raw deflate, for the synchronous fast path. */
  deflateRawSync?(input: Uint8Array, options: ZlibOptionsLike): Uint8Array;
  /** One-shot raw inflate, for the synchronous fast path. */
  inflateRawSync?(input: Uint8Array, options: ZlibOptionsLike): Uint8Array;
}

/** Options of {@link createZlibEngine}. */
export interface ZlibEngineOptions {
  /**
   * The most zlib operations running at once, process-wide: shared by every engine created
   * from the same zlib module (the last value given applies). Default 10.
   */
  readonly maxConcurrency?: number;
  /**
   * Whole messages up to this many bytes are compressed on the calling thread instead of the
   * thread pool: by the one-shot `deflateRawSync` without context takeover, and by a
   * synchronous step on the connection's stream with context takeover (where the runtime
   * allows it; see the module comment). A 64 KiB message is compressed in one step on the
   * calling thread, which holds the event loop for as long as zlib takes at the chosen level.
   * 0 disables. Default 65536.
   */
  readonly syncDeflateMaxSize?: number;
  /**
   * Whole compressed messages up to this many bytes are inflated on the calling thread, as
   * above, in slices: DEFLATE expands up to about 1032:1, so 16 KiB can inflate to about
   * 16 MiB (never past the size limit, or the room the server's memory budget gives the step);
   * what one slice of about 1 ms does not finish goes on in turns of the event loop. 0
   * disables (and, on Deno, the slicing of larger messages too: see the module comment).
   * Default 16384.
   */
  readonly syncInflateMaxSize?: number;
}

/** The default of {@link ZlibEngineOptions.maxConcurrency}. */
export const DEFAULT_ZLIB_CONCURRENCY = 10;
/** The default of {@link ZlibEngineOptions.syncDeflateMaxSize}. */
export const DEFAULT_SYNC_DEFLATE_MAX_SIZE: number = 64 * 1024;
/** The default of {@link ZlibEngineOptions.syncInflateMaxSize}. */
export const DEFAULT_SYNC_INFLATE_MAX_SIZE: number = 16 * 1024;

// One limiter per zlib module, i.e. per process: the thread pool is what is shared.
const limiters = new WeakMap<object, Limiter>();

function limiterFor(zlib: ZlibLike, concurrency: number | undefined): Limiter {
  let limiter = limiters.get(zlib);
  if (limiter === undefined) {
    limiter = new Limiter(concurrency ?? DEFAULT_ZLIB_CONCURRENCY);
    limiters.set(zlib, limiter);
  } else if (concurrency !== undefined) {
    limiter.setConcurrency(concurrency);
  }
  return limiter;
}

/**
 * Creates a {@link DeflateEngine} on an injected `node:zlib`-compatible module. Create one per
 * process and share it between connections.
 *
 * @example
 * ```ts
 * import * as zlib from "node:zlib";
 * import { createZlibEngine } from "./zlib-engine.ts";
 * const engine = createZlibEngine(zlib, { maxConcurrency: 10 });
 * const compressor = engine.createCompressor({ windowBits: 15, level: -1, memLevel: 8, noContextTakeover: true });
 * const bytes = await compressor.compress(new TextEncoder().encode("Hello"), true); // f2 48 cd c9 c9 07 00 00 00 ff ff
 * compressor.close();
 * ```
 */
export function createZlibEngine(zlib: ZlibLike, options: ZlibEngineOptions = {}): DeflateEngine {
  if (options.maxConcurrency !== undefined)
    checkInteger("maxConcurrency", options.maxConcurrency, 1, 2 ** 31 - 1);
  const syncDeflateMaxSize = options.syncDeflateMaxSize ?? DEFAULT_SYNC_DEFLATE_MAX_SIZE;
  checkInteger("syncDeflateMaxSize", syncDeflateMaxSize, 0, 2 ** 31 - 1);
  const syncInflateMaxSize = options.syncInflateMaxSize ?? DEFAULT_SYNC_INFLATE_MAX_SIZE;
  checkInteger("syncInflateMaxSize", syncInflateMaxSize, 0, 2 ** 31 - 1);
  const limiter = limiterFor(zlib, options.maxConcurrency);
  return {
    createCompressor: (compressorOptions) =>
      new ZlibCompressor(zlib, limiter, syncDeflateMaxSize, compressorOptions),
    createDecompressor: (decompressorOptions) =>
      new ZlibDecompressor(zlib, limiter, syncInflateMaxSize, decompressorOptions),
  };
}

/** A plain `Uint8Array` view of a runtime's `Buffer` (no copy), so callers never get a `Buffer`. */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function closedError(what: string): Error {
  return new Error(`Cannot ${what}: the zlib engine was closed`);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Maps an inflate failure to the error the connection fails with. */
function inflateError(error: unknown): RemoteProtocolError {
  if (error instanceof RemoteProtocolError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  if (code === undefined || code === "Z_MEM_ERROR" || !code.startsWith("Z_")) {
    // Not the data's fault (out of memory, or an engine failure): an internal error.
    return new RemoteProtocolError(
      ErrorCode.ExtensionFailure,
      CloseCode.InternalError,
      `Cannot inflate message: ${message}`,
    );
  }
  // RFC 7692 §8 leaves the code to the implementation; corrupt data is "inconsistent with the
  // type of the message" (RFC 6455 §7.4.1, 1007), as ws and most implementations answer.
  return new RemoteProtocolError(
    ErrorCode.ExtensionFailure,
    CloseCode.InvalidFramePayloadData,
    `Cannot inflate message: ${message}`,
  );
}

/**
 * The most a one-shot inflate without context takeover writes (see `#inflateSync`): what a first
 * slice of sliced work writes (four zlib calls of up to 64 KiB each, `limiter.ts`).
 */
const ONE_SHOT_OUTPUT_MAX = 256 * 1024;

/** Inputs up to this size in several pieces are joined into one write (one thread-pool hop). */
const JOIN_MAX_SIZE = 64 * 1024;

/** The non-empty pieces of `chunks`, joined into one when there are several small ones. */
function joinSmall(chunks: readonly Uint8Array[]): readonly Uint8Array[] {
  let count = 0;
  let size = 0;
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    count++;
    size += chunk.length;
  }
  if (count <= 1 || size > JOIN_MAX_SIZE)
    return count === chunks.length ? chunks : chunks.filter((chunk) => chunk.length > 0);
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return [joined];
}

/** The operation in progress on a stream. */
interface StreamOp {
  data(chunk: Uint8Array): void;
  fail(error: unknown): void;
}

/** One zlib stream with persistent listeners, driven one flush at a time. */
class StreamRunner {
  readonly #stream: ZlibStreamLike;
  readonly #flushKind: number;
  #op: StreamOp | undefined;
  #ended = false;
  #closed = false;

  constructor(stream: ZlibStreamLike, flushKind: number) {
    this.#stream = stream;
    this.#flushKind = flushKind;
    stream.on("data", (chunk: Uint8Array) => this.#op?.data(chunk));
    // Kept for the stream's lifetime so that a late error is never unhandled.
    stream.on("error", (error: unknown) => this.#op?.fail(error));
    stream.on("end", () => {
      this.#ended = true;
    });
  }

  /** Whether the DEFLATE stream ended (a block with BFINAL set was inflated). */
  get ended(): boolean {
    return this.#ended || this.#stream.readableEnded === true;
  }

  /**
   * Writes `chunks`, flushes, and resolves with the output. More than `maxOutput` bytes of
   * output close the stream and reject with `tooMuch()`. A stream error rejects with it.
   */
  run(chunks: readonly Uint8Array[], maxOutput: number, tooMuch: () => unknown): Promise<Uint8Array[]> {
    return new Promise<Uint8Array[]>((resolve, reject) => {
      const out: Uint8Array[] = [];
      let total = 0;
      const finish = (error: unknown, result: Uint8Array[] | undefined): void => {
        if (this.#op !== op) return;
        this.#op = undefined;
        if (result !== undefined) resolve(result);
        else reject(error);
      };
      const op: StreamOp = {
        data: (chunk) => {
          total += chunk.length;
          if (total > maxOutput) {
            // Stop inflating now: closing the handle ends zlib's output loop.
            finish(tooMuch(), undefined);
            this.close();
            return;
          }
          out.push(plain(chunk));
        },
        fail: (error) => {
          finish(error, undefined);
          this.close();
        },
      };
      this.#op = op;
      const stream = this.#stream;
      const input = joinSmall(chunks);
      let size = 0;
      for (const chunk of input) size += chunk.length;
      const consumedBefore = stream.bytesWritten;
      const settle = (): void => {
        // Deno calls back after an error (the stream is destroyed); Node and Bun only emit it.
        if (stream.destroyed === true) {
          finish(stream.errored ?? new Error("the zlib stream was destroyed"), undefined);
          this.close();
        } else {
          finish(undefined, out);
        }
      };
      const done = (): void => {
        // Deno's node:zlib may call back before zlib consumed all the input, when the output
        // buffer filled up and the rest of the input is corrupt: the error is emitted right
        // after the callback, in the same turn. Input left over is the sign: settle after
        // that turn (a microtask), so the error wins. (Input is also left over when the
        // DEFLATE stream ended, BFINAL, before it: then the output is complete as it is.)
        const consumed =
          consumedBefore === undefined || stream.bytesWritten === undefined
            ? size
            : stream.bytesWritten - consumedBefore;
        if (consumed < size) void Promise.resolve().then(settle);
        else settle();
      };
      if (input.length === 0) {
        // Nothing to write (an empty last fragment): flush alone.
        stream.flush(this.#flushKind, settle);
        return;
      }
      // The streams are created with `flush: Z_SYNC_FLUSH`: the last write's callback
      // runs once all the output was emitted.
      const last = input.length - 1;
      for (let i = 0; i < last; i++) stream.write(input[i] as Uint8Array);
      stream.write(input[last] as Uint8Array, done);
    });
  }

  /**
   * {@link run} synchronously, through the synchronous step (`./zlib-sync-step.ts`: only where
   * `hasSyncStep`, and only while no asynchronous operation is in progress on this stream).
   * Throws what `run` would reject with.
   */
  runSync(chunks: readonly Uint8Array[], maxOutput: number, tooMuch: () => unknown): Uint8Array[] {
    const step = this.step(chunks, maxOutput, tooMuch);
    this.advance(step, () => false);
    return step.output;
  }

  /**
   * A synchronous step over `chunks` (see {@link run}), to be driven by {@link advance}: the
   * stream takes nothing else until it is done.
   */
  step(chunks: readonly Uint8Array[], maxOutput: number, tooMuch: () => unknown): SyncStep {
    return new SyncStep(this.#stream, this.#flushKind, joinSmall(chunks), maxOutput, tooMuch);
  }

  /**
   * Runs `step` until it is done or `stop()`; returns whether it is done. Throws what `run`
   * would reject with (and closes the stream), or a closed error once the stream was closed.
   */
  advance(step: SyncStep, stop: () => boolean): boolean {
    if (this.#closed) throw closedError("finish the zlib operation");
    let done: boolean;
    try {
      done = step.run(stop);
    } catch (error) {
      this.close();
      throw error;
    }
    if (done && step.ended) this.#ended = true;
    return done;
  }

  /**
   * {@link run} on the calling thread in slices: the first at once, the rest in turns of the
   * event loop (`inTurns`), so that a large or hostile input never holds the event loop for
   * long. For runtimes whose stream writes run zlib on the calling thread anyway (Deno), where
   * {@link run} would hold the event loop until all the input is through.
   */
  async runInTurns(
    chunks: readonly Uint8Array[],
    maxOutput: number,
    tooMuch: () => unknown,
  ): Promise<Uint8Array[]> {
    const step = this.step(chunks, maxOutput, tooMuch);
    const stop = firstSlice();
    if (stop !== undefined && this.advance(step, stop)) return step.output;
    return this.finishInTurns(step);
  }

  /** Runs `step` in turns of the event loop (`inTurns`) until it is done; resolves with its output. */
  async finishInTurns(step: SyncStep): Promise<Uint8Array[]> {
    await inTurns((stop) => this.advance(step, stop));
    return step.output;
  }

  /** Frees the handle; a pending operation rejects. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const op = this.#op;
    if (op !== undefined) op.fail(closedError("finish the zlib operation"));
    this.#stream.close();
  }
}

/** Operations a {@link Lane} runs back to back in one slot of the limiter. */
const OPS_PER_SLOT = 8;

/**
 * The queue of one compressor's or decompressor's operations: they run one at a time, in call
 * order, inside a slot of the process-wide {@link Limiter}. Operations queued while one runs
 * follow it in the same slot (up to {@link OPS_PER_SLOT}, then the lane queues again behind
 * the others): a burst of messages on one connection then works on one zlib stream while its
 * state (about 300 KiB with 15 window bits) is in the CPU's caches, instead of alternating
 * between connections. Measured on this machine with 64 connections of 16 echoes of 16 KiB
 * each, taking a slot per operation made zlib about 10% slower.
 */
class Lane {
  readonly #limiter: Limiter;
  readonly #queue: (() => Promise<void>)[] = [];
  #active = false;

  constructor(limiter: Limiter) {
    this.#limiter = limiter;
  }

  /** True when nothing is queued or running. */
  get idle(): boolean {
    return !this.#active;
  }

  add<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(() => task().then(resolve, reject));
      if (!this.#active) {
        this.#active = true;
        void this.#limiter.run(this.#drain);
      }
    });
  }

  readonly #drain = async (): Promise<void> => {
    for (let ran = 0; ran < OPS_PER_SLOT; ran++) {
      const next = this.#queue.shift();
      if (next === undefined) break;
      await next();
    }
    if (this.#queue.length > 0) void this.#limiter.run(this.#drain);
    else this.#active = false;
  };
}

class ZlibCompressor implements Compressor {
  readonly #zlib: ZlibLike;
  readonly #syncMaxSize: number;
  readonly #options: ZlibOptionsLike;
  readonly #noContextTakeover: boolean;
  readonly #lane: Lane;
  /** Largest message compressed by the synchronous step on the stream (-1: never). */
  readonly #stepMaxSize: number;
  /** As the decompressor's: the step does all the work, in slices. */
  readonly #inline: boolean;
  #runner: StreamRunner | undefined;
  #inMessage = false;
  #closed = false;

  constructor(zlib: ZlibLike, limiter: Limiter, syncMaxSize: number, options: CompressorOptions) {
    checkInteger("windowBits", options.windowBits, 8, 15);
    checkInteger("level", options.level, -1, 9);
    checkInteger("memLevel", options.memLevel, 1, 9);
    this.#zlib = zlib;
    this.#lane = new Lane(limiter);
    this.#syncMaxSize = zlib.deflateRawSync === undefined ? -1 : syncMaxSize;
    this.#options = {
      windowBits: zlibWindowBits(options.windowBits),
      level: options.level,
      memLevel: options.memLevel,
    };
    this.#noContextTakeover = options.noContextTakeover;
    this.#stepMaxSize = !options.noContextTakeover && syncMaxSize > 0 && hasSyncStep(zlib) ? syncMaxSize : -1;
    this.#inline = syncMaxSize > 0 && writesInline(zlib);
  }

  compress(input: Uint8Array, end: boolean): Uint8Array[] | Promise<Uint8Array[]> {
    if (this.#closed) throw closedError("compress");
    const starts = !this.#inMessage;
    this.#inMessage = !end;
    if (starts && end && input.length <= this.#stepMaxSize && this.#lane.idle) {
      // Context takeover: a whole, small message through the stream's synchronous step.
      try {
        return this.#stream().runSync([input], Number.POSITIVE_INFINITY, () => undefined);
      } catch (error) {
        this.#drop();
        throw error instanceof Error ? error : new Error(`Cannot compress: ${String(error)}`);
      }
    }
    if (starts && end && this.#noContextTakeover && input.length <= this.#syncMaxSize && this.#lane.idle) {
      // The synchronous fast path (see the module comment): a whole, small message.
      const deflateRawSync = this.#zlib.deflateRawSync as NonNullable<ZlibLike["deflateRawSync"]>;
      const output = deflateRawSync(input, {
        ...this.#options,
        finishFlush: this.#zlib.constants.Z_SYNC_FLUSH,
      });
      return [plain(output)];
    }
    return this.#lane.add(() => this.#compress(input, end));
  }

  #stream(): StreamRunner {
    let runner = this.#runner;
    if (runner === undefined) {
      runner = new StreamRunner(
        this.#zlib.createDeflateRaw({ ...this.#options, flush: this.#zlib.constants.Z_SYNC_FLUSH }),
        this.#zlib.constants.Z_SYNC_FLUSH,
      );
      this.#runner = runner;
    }
    return runner;
  }

  async #compress(input: Uint8Array, end: boolean): Promise<Uint8Array[]> {
    if (this.#closed) throw closedError("compress");
    const runner = this.#stream();
    try {
      const never = (): undefined => undefined;
      return this.#inline
        ? await runner.runInTurns([input], Number.POSITIVE_INFINITY, never)
        : await runner.run([input], Number.POSITIVE_INFINITY, never);
    } catch (error) {
      this.#drop();
      throw error instanceof Error ? error : new Error(`Cannot compress: ${String(error)}`);
    } finally {
      // RFC 7692 §7.1.1: without context takeover, the next message starts from an empty window.
      if (end && this.#noContextTakeover) this.#drop();
    }
  }

  #drop(): void {
    this.#runner?.close();
    this.#runner = undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drop();
  }
}

class ZlibDecompressor implements Decompressor {
  readonly #zlib: ZlibLike;
  readonly #syncMaxSize: number;
  readonly #windowBits: number;
  readonly #noContextTakeover: boolean;
  readonly #lane: Lane;
  /** Largest compressed message inflated by the synchronous step on the stream (-1: never). */
  readonly #stepMaxSize: number;
  /**
   * The runtime's stream writes run zlib on the calling thread (`writesInline`): then the
   * synchronous step does all the work, in slices (`StreamRunner.runInTurns`).
   */
  readonly #inline: boolean;
  #runner: StreamRunner | undefined;
  #inMessage = false;
  #closed = false;
  #failure: RemoteProtocolError | undefined;

  constructor(zlib: ZlibLike, limiter: Limiter, syncMaxSize: number, options: DecompressorOptions) {
    checkInteger("windowBits", options.windowBits, 8, 15);
    this.#zlib = zlib;
    this.#lane = new Lane(limiter);
    this.#syncMaxSize = zlib.inflateRawSync === undefined ? -1 : syncMaxSize;
    this.#windowBits = options.windowBits;
    this.#noContextTakeover = options.noContextTakeover;
    this.#stepMaxSize = !options.noContextTakeover && syncMaxSize > 0 && hasSyncStep(zlib) ? syncMaxSize : -1;
    this.#inline = syncMaxSize > 0 && writesInline(zlib);
  }

  decompress(
    input: readonly Uint8Array[],
    end: boolean,
    maxOutput: number,
  ): Uint8Array[] | Promise<Uint8Array[]> {
    if (this.#closed) throw closedError("decompress");
    if (this.#failure !== undefined) throw this.#failure;
    const starts = !this.#inMessage;
    this.#inMessage = !end;
    if (starts && end && this.#lane.idle && (this.#noContextTakeover || this.#stepMaxSize >= 0)) {
      let size = 0;
      for (const chunk of input) size += chunk.length;
      if (this.#noContextTakeover) {
        if (size <= this.#syncMaxSize) {
          const output = this.#inflateSync(input, size, maxOutput);
          if (output !== undefined) return output;
        }
      } else if (size <= this.#stepMaxSize) {
        return this.#inflateStep(input, maxOutput);
      }
    }
    return this.#lane.add(() => this.#decompress(input, end, maxOutput));
  }

  /**
   * Context takeover: a whole, small message through the stream's synchronous step. Small as
   * its input is, its output can be a thousand times larger (an inflate bomb): past one slice of
   * work the rest is done in turns of the event loop, queued on the lane so that later calls
   * wait for it.
   */
  #inflateStep(input: readonly Uint8Array[], maxOutput: number): Uint8Array[] | Promise<Uint8Array[]> {
    const runner = this.#stream();
    // After a block with BFINAL set the DEFLATE stream is over (see #decompress).
    if (runner.ended) {
      this.#drop();
      return [];
    }
    const step = runner.step(input, maxOutput, () => tooBig(maxOutput));
    const stop = firstSlice();
    let done = false;
    try {
      if (stop !== undefined) done = runner.advance(step, stop);
    } catch (error) {
      this.#drop();
      this.#failure = inflateError(error);
      throw this.#failure;
    }
    if (done) {
      if (runner.ended) this.#drop();
      return step.output;
    }
    return this.#lane.add(async () => {
      try {
        const output = await runner.finishInTurns(step);
        if (runner.ended) this.#drop();
        return output;
      } catch (error) {
        throw this.#failed(error);
      }
    });
  }

  #stream(): StreamRunner {
    let runner = this.#runner;
    if (runner === undefined) {
      runner = new StreamRunner(
        this.#zlib.createInflateRaw({
          windowBits: this.#windowBits,
          flush: this.#zlib.constants.Z_SYNC_FLUSH,
        }),
        this.#zlib.constants.Z_SYNC_FLUSH,
      );
      this.#runner = runner;
    }
    return runner;
  }

  /**
   * Without context takeover: a whole, small message in one synchronous call, if it inflates to
   * at most {@link ONE_SHOT_OUTPUT_MAX}. Undefined when it inflates to more (while the message
   * limit allows more): small as the input is, the output can be a thousand times larger (an
   * inflate bomb), so the caller inflates it again on the lane, where long work is sliced or
   * runs on the thread pool. At most one first slice's worth of work is done twice.
   */
  #inflateSync(input: readonly Uint8Array[], size: number, maxOutput: number): Uint8Array[] | undefined {
    let joined: Uint8Array;
    if (input.length === 1) {
      joined = input[0] as Uint8Array;
    } else {
      joined = new Uint8Array(size);
      let offset = 0;
      for (const chunk of input) {
        joined.set(chunk, offset);
        offset += chunk.length;
      }
    }
    const inflateRawSync = this.#zlib.inflateRawSync as NonNullable<ZlibLike["inflateRawSync"]>;
    const limit = Math.max(0, Math.floor(maxOutput));
    const capped = limit > ONE_SHOT_OUTPUT_MAX;
    let output: Uint8Array;
    try {
      output = inflateRawSync(joined, {
        windowBits: this.#windowBits,
        finishFlush: this.#zlib.constants.Z_SYNC_FLUSH,
        // One byte more than allowed, so that "exactly the limit" passes and "more" fails.
        maxOutputLength: (capped ? ONE_SHOT_OUTPUT_MAX : limit) + 1,
      });
    } catch (error) {
      const tooLarge = errorCode(error) === "ERR_BUFFER_TOO_LARGE";
      if (tooLarge && capped) return undefined;
      const failure = tooLarge ? tooBig(maxOutput) : inflateError(error);
      this.#failure = failure;
      throw failure;
    }
    if (output.length > ONE_SHOT_OUTPUT_MAX && capped) return undefined;
    if (output.length > maxOutput) {
      this.#failure = tooBig(maxOutput);
      throw this.#failure;
    }
    return [plain(output)];
  }

  async #decompress(input: readonly Uint8Array[], end: boolean, maxOutput: number): Promise<Uint8Array[]> {
    if (this.#closed) throw closedError("decompress");
    if (this.#failure !== undefined) throw this.#failure;
    const runner = this.#stream();
    try {
      // After a block with BFINAL set (RFC 7692 §7.2.3.4) the DEFLATE stream is over: the rest
      // of the message (at least the 00 00 ff ff we append) is ignored, as zlib would.
      const tooMuch = (): RemoteProtocolError => tooBig(maxOutput);
      const output = runner.ended
        ? []
        : this.#inline
          ? await runner.runInTurns(input, maxOutput, tooMuch)
          : await runner.run(input, maxOutput, tooMuch);
      if (end && (this.#noContextTakeover || runner.ended)) this.#drop();
      return output;
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /**
   * An inflate step failed: the stream goes, and the failure is kept for the calls after it
   * (returned, to be thrown). After `close()` the error is passed on as it is.
   */
  #failed(error: unknown): unknown {
    this.#drop();
    if (this.#closed) return error;
    this.#failure = inflateError(error);
    return this.#failure;
  }

  #drop(): void {
    this.#runner?.close();
    this.#runner = undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drop();
  }
}
