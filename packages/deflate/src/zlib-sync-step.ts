/**
 * The synchronous step of the zlib engine: the one place this package uses internals of
 * `node:zlib` (the stream's native handle `_handle.writeSync()` and its `_writeState`).
 *
 * - **Why.** `node:zlib` has no public synchronous streaming call: the one-shot `*Sync`
 *   functions close their handle after one call, and a stream is asynchronous (one round trip
 *   to the thread pool per write). With context takeover (RFC 7692 §7.1.1) the LZ77 window
 *   must outlive a message, so it lives in a stream. For a 2 KiB echo the round trip and the
 *   stream machinery around it cost about as much as zlib's own work, and none of the public
 *   routes (the asynchronous stream, the one-shot calls with the last 32 KiB as a dictionary,
 *   or the portable engine `./portable-engine.ts`) came within 80 % of this step on the
 *   compressed-echo benchmark (figures in the package README). `writeSync()` is the internal
 *   call `node:zlib`'s own `*Sync` functions are built on; Node, Bun and Deno all have it.
 * - **Probe.** {@link hasSyncStep} checks once per zlib module that the handle exists, inflates
 *   a valid stored block with the expected `[availOut, availIn]`, and reports corrupt data
 *   before `writeSync()` returns: either the stream is destroyed (Node, Bun) or the handle's
 *   `onerror` was called (Deno calls it at once and destroys the stream a tick later; the step
 *   wraps `onerror` while it runs, to see it). A runtime that fails any of this gets the
 *   fallback.
 * - **Fallback.** Without the step, the engine uses the public asynchronous stream API for
 *   every message (`StreamRunner.run` in `./zlib-engine.ts`); `syncDeflateMaxSize` and
 *   `syncInflateMaxSize` of 0 choose it explicitly.
 * - **Test.** `./zlib-sync-step.test.ts` runs the probe and the step on every runtime the test
 *   command covers, Node 24 (the newest available) included, so a change in the internals'
 *   meaning shows up there.
 *
 * @module
 */
import type { ZlibLike, ZlibStreamLike } from "./zlib-engine.ts";

/**
 * The native handle of a `node:zlib` stream, as its synchronous functions use it internally:
 * `writeSync()` runs zlib once on the calling thread, leaves `[availOut, availIn]` in the
 * stream's `_writeState` and reports a failure through `onerror` before it returns (which
 * destroys the stream at once on Node and Bun, a tick later on Deno).
 */
interface ZlibHandle {
  /** Called by the handle with zlib's message, error number and (Node) code on a failure. */
  onerror?: ((message: string, errno: number, code?: string) => void) | null | undefined;
  /** Runs `inflate()`/`deflate()` with the given flush on the input and output ranges. */
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
}

/** A `node:zlib` stream with the internals the step reads. */
interface StepStream extends ZlibStreamLike {
  readonly _handle?: ZlibHandle | null;
  /** `[availOut, availIn]` after the handle's last `writeSync()`. */
  readonly _writeState?: Uint32Array;
}

/**
 * Where the synchronous step writes zlib's output: one buffer for the process (a step uses it
 * only while `SyncStep.run` runs, on the calling thread). A full one becomes the output as it
 * is and is replaced; what a partly filled one holds is copied out.
 */
let stepOutput: Uint8Array | undefined;
const STEP_OUTPUT_SIZE = 64 * 1024;

// Whether each zlib module's streams have a synchronous step that reports errors at once.
const syncSteps = new WeakMap<object, boolean>();

/**
 * Whether the streams of `zlib` can be driven synchronously through their native handle: it
 * has `writeSync()` and `_writeState`, inflates a valid stored block, and reports corrupt data
 * before `writeSync()` returns (see {@link watchErrors}; Node, Bun and Deno do). Probed once
 * per module with a throwaway inflater. (Internal: not exported by the package.)
 */
export function hasSyncStep(zlib: ZlibLike): boolean {
  return probedOnce(syncSteps, zlib, probeSyncStep);
}

/** What `probe` says of `zlib`, probed the first time it is asked for that module. */
function probedOnce(
  cache: WeakMap<object, boolean>,
  zlib: ZlibLike,
  probe: (zlib: ZlibLike) => boolean,
): boolean {
  let result = cache.get(zlib);
  if (result === undefined) {
    result = probe(zlib);
    cache.set(zlib, result);
  }
  return result;
}

/** A stored block (RFC 1951 §3.2.4) holding "hi", not the last one: the probes' valid input. */
const STORED_HI = new Uint8Array([0x00, 0x02, 0x00, 0xfd, 0xff, 0x68, 0x69]);

function probeSyncStep(zlib: ZlibLike): boolean {
  let stream: StepStream | undefined;
  try {
    stream = zlib.createInflateRaw({ windowBits: 15 }) as StepStream;
    stream.on("error", () => {}); // the probe's own corrupt block
    const handle = stream._handle;
    const state = stream._writeState;
    if (typeof handle?.writeSync !== "function" || !(state instanceof Uint32Array)) return false;
    const flush = zlib.constants.Z_SYNC_FLUSH;
    const out = new Uint8Array(16);
    handle.writeSync(flush, STORED_HI, 0, STORED_HI.length, out, 0, out.length);
    if (stream.destroyed === true || state[0] !== out.length - 2 || state[1] !== 0) return false;
    if (out[0] !== 0x68 || out[1] !== 0x69) return false;
    // A block of the reserved type 11 (RFC 1951 §3.2.3): corrupt.
    const corrupt = new Uint8Array([0x06]);
    const watch = watchErrors(stream);
    try {
      handle.writeSync(flush, corrupt, 0, corrupt.length, out, 0, out.length);
      const failure = watch.failure();
      return failure !== undefined && errorCode(failure) === "Z_DATA_ERROR";
    } finally {
      watch.stop();
    }
  } catch {
    return false;
  } finally {
    try {
      stream?.close();
    } catch {
      // Already closed.
    }
  }
}

// Whether each zlib module's stream writes run zlib on the calling thread.
const inlineWrites = new WeakMap<object, boolean>();

/**
 * Whether the public, "asynchronous" `write()` of `zlib`'s streams runs zlib on the calling
 * thread before it returns (Deno: its callbacks then follow on `process.nextTick`, so a long
 * chain of them holds the event loop without a turn), rather than on a thread pool (Node, Bun).
 * Seen in the stream's `_writeState` (see {@link hasSyncStep}): already updated when `write()`
 * returns. Probed once per module. (Internal: not exported by the package.)
 */
export function writesInline(zlib: ZlibLike): boolean {
  return probedOnce(inlineWrites, zlib, (module) => hasSyncStep(module) && probeInlineWrites(module));
}

function probeInlineWrites(zlib: ZlibLike): boolean {
  let stream: StepStream | undefined;
  try {
    stream = zlib.createInflateRaw({ windowBits: 15 }) as StepStream;
    stream.on("error", () => {});
    const state = stream._writeState as Uint32Array;
    // zlib leaves room for all but the 2 bytes of the stored block's output.
    stream.write(STORED_HI.slice());
    return state[0] !== 0;
  } catch {
    return false;
  } finally {
    try {
      stream?.close();
    } catch {
      // Already closed.
    }
  }
}

/** What {@link stepSync} produced. */
export interface StepResult {
  /** Copies of the output, in order. */
  readonly output: Uint8Array[];
  /** The DEFLATE stream ended (a block with BFINAL set): input after it was left unread. */
  readonly ended: boolean;
}

/**
 * Input is handed to zlib at most this many bytes per `writeSync()`, so that one call's work is
 * bounded by its input as well as by the 64 KiB of output it can write, and a
 * {@link SyncStep} can stop between calls.
 */
const STEP_INPUT_SIZE = 64 * 1024;

/**
 * Runs `input` through `stream` synchronously, like {@link stepSync}, in as many calls of
 * {@link SyncStep.run} as the caller wants: each call stops as soon as `stop()` says so
 * (checked after each `writeSync()`, which writes at most 64 KiB of output from at most
 * {@link STEP_INPUT_SIZE} bytes of input), and the next one takes over where it stopped. zlib
 * keeps its own state between the calls (input it holds, output it has not written yet). The
 * stream must not be used otherwise until the step is done. Pieces of input before the last are
 * written with `Z_NO_FLUSH` (zlib chooses its blocks), the last with `flush`.
 */
export class SyncStep implements StepResult {
  readonly output: Uint8Array[] = [];
  ended = false;
  readonly #stream: StepStream;
  readonly #flush: number;
  readonly #input: readonly Uint8Array[];
  readonly #maxOutput: number;
  readonly #tooMuch: () => unknown;
  #total = 0;
  #chunk = 0;
  #offset = 0;
  #done = false;

  constructor(
    stream: ZlibStreamLike,
    flush: number,
    input: readonly Uint8Array[],
    maxOutput: number,
    tooMuch: () => unknown,
  ) {
    this.#stream = stream as StepStream;
    this.#flush = flush;
    // Nothing to write (an empty last fragment): a flush alone.
    this.#input = input.length === 0 ? [new Uint8Array(0)] : input;
    this.#maxOutput = maxOutput;
    this.#tooMuch = tooMuch;
  }

  /** Whether all the input went through zlib and its output is in {@link SyncStep.output}. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Goes on until done or `stop()` returns true; returns {@link SyncStep.done}. Throws the
   * stream's error when zlib failed, and `tooMuch()` as soon as the output passes `maxOutput`
   * (so memory stays within the limit plus one 64 KiB buffer); the caller closes the stream
   * after either.
   */
  run(stop: () => boolean): boolean {
    if (this.#done) return true;
    const stream = this.#stream;
    const handle = stream._handle as ZlibHandle;
    const state = stream._writeState as Uint32Array;
    stepOutput ??= new Uint8Array(STEP_OUTPUT_SIZE);
    let scratch = stepOutput;
    const input = this.#input;
    const watch = watchErrors(stream);
    try {
      while (this.#chunk < input.length) {
        const chunk = input[this.#chunk] as Uint8Array;
        const lastChunk = this.#chunk === input.length - 1;
        // What is left of this chunk, in pieces of at most STEP_INPUT_SIZE.
        const left = chunk.length - this.#offset;
        if (left === 0 && !lastChunk) {
          // Written (zlib writes what it still holds before it reads more): the next chunk.
          this.#chunk++;
          this.#offset = 0;
          continue;
        }
        const piece = Math.min(left, STEP_INPUT_SIZE);
        const lastPiece = lastChunk && piece === left;
        handle.writeSync(
          lastPiece ? this.#flush : Z_NO_FLUSH,
          chunk,
          this.#offset,
          piece,
          scratch,
          0,
          scratch.length,
        );
        const failure = watch.failure();
        if (failure !== undefined) throw failure;
        const availOut = state[0] as number;
        const availIn = state[1] as number;
        const produced = scratch.length - availOut;
        if (produced > 0) {
          this.#total += produced;
          if (this.#total > this.#maxOutput) throw this.#tooMuch();
          if (produced === scratch.length) {
            // A full buffer becomes the output as it is, and the next call gets a new one.
            this.output.push(scratch);
            scratch = new Uint8Array(STEP_OUTPUT_SIZE);
            stepOutput = scratch;
          } else {
            this.output.push(scratch.slice(0, produced));
          }
        }
        this.#offset += piece - availIn;
        if (availOut !== 0) {
          // Room left in the output: zlib consumed what it could. Input it left unread means
          // the DEFLATE stream ended (a block with BFINAL set); the rest is ignored.
          if (availIn > 0) {
            this.ended = true;
            break;
          }
          // The last piece, written with `flush`: everything is out.
          if (lastPiece) break;
        }
        // Output full: the same input goes on (or, all read, zlib writes what it holds).
        if (stop()) return false;
      }
    } finally {
      watch.stop();
    }
    this.#done = true;
    return true;
  }
}

/** zlib's `Z_NO_FLUSH` (zlib.h): zlib decides how much to buffer and when to write a block. */
const Z_NO_FLUSH = 0;

/** Never stops: a {@link SyncStep} run to its end in one call. */
const NEVER = (): boolean => false;

/**
 * Runs `input` through `stream` synchronously with `flush`, on the calling thread (only where
 * {@link hasSyncStep}, and only while no asynchronous operation is in progress on the stream:
 * the handle takes one write at a time). Throws the stream's error when zlib failed, and
 * `tooMuch()` as soon as the output passes `maxOutput` (so memory stays within the limit plus
 * one 64 KiB buffer); the caller closes the stream after either.
 */
export function stepSync(
  stream: ZlibStreamLike,
  flush: number,
  input: readonly Uint8Array[],
  maxOutput: number,
  tooMuch: () => unknown,
): StepResult {
  const step = new SyncStep(stream, flush, input, maxOutput, tooMuch);
  step.run(NEVER);
  return step;
}

/** zlib's error numbers (zlib.h), for a runtime whose handle reports only the number (Deno). */
const ZLIB_ERRORS: Readonly<Record<number, string>> = {
  2: "Z_NEED_DICT",
  [-2]: "Z_STREAM_ERROR",
  [-3]: "Z_DATA_ERROR",
  [-4]: "Z_MEM_ERROR",
  [-5]: "Z_BUF_ERROR",
  [-6]: "Z_VERSION_ERROR",
};

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown } | null | undefined)?.code;
}

/**
 * Sees a failure of the handle's `writeSync()` as soon as it returns: wraps the handle's
 * `onerror` (still calling the stream's own, which destroys the stream) until `stop()`. Node
 * and Bun also destroy the stream at once, Deno a tick later; either sign counts.
 */
function watchErrors(stream: StepStream): { failure(): unknown; stop(): void } {
  const handle = stream._handle as ZlibHandle;
  const own = handle.onerror;
  let failure: Error | undefined;
  handle.onerror = function (this: unknown, message: string, errno: number, code?: string) {
    failure ??= Object.assign(new Error(message), { errno, code: code ?? ZLIB_ERRORS[errno] ?? "Z_ERRNO" });
    own?.call(this, message, errno, code);
  };
  return {
    failure: () => {
      if (stream.destroyed === true)
        return stream.errored ?? failure ?? new Error("the zlib stream was destroyed");
      return failure;
    },
    stop: () => {
      handle.onerror = own;
    },
  };
}
