/**
 * Process-wide scheduling of zlib work for the zlib engine (`./zlib-engine.ts`): a limit on
 * concurrent zlib work ({@link Limiter}), and turns of the event loop for the work the engine
 * does on the calling thread in slices ({@link inTurns}). The only place this package reads the
 * runtime's timers (`setImmediate`, else `setTimeout`) and clock (`performance.now()`).
 *
 * @module
 */

/**
 * Jobs the limiter starts before it lets the event loop take a turn (timers, socket I/O). On
 * Deno, zlib's "asynchronous" calls run on the main thread and call back without a turn of the
 * event loop, so a queue of a thousand jobs would run back to back and hold every socket's I/O
 * for hundreds of milliseconds (measured: 64 connections × 16 echoes of 16 KiB came back in
 * bursts half a second apart). On Node and Bun the callbacks arrive as I/O events, and this
 * rarely triggers.
 */
const JOBS_PER_TURN = 4;

/** The timer functions and clock used here (the engines compile without any runtime's types). */
const timers = globalThis as unknown as {
  setImmediate?: (callback: () => void) => unknown;
  setTimeout: (callback: () => void, ms: number) => unknown;
  performance: { now(): number };
};

/** Runs `callback` after the event loop's I/O: `setImmediate` where there is one. */
const afterIo: (callback: () => void) => void =
  typeof timers.setImmediate === "function"
    ? (callback) => {
        (timers.setImmediate as (callback: () => void) => unknown)(callback);
      }
    : (callback) => {
        timers.setTimeout(callback, 0);
      };

/**
 * A FIFO job queue that runs at most `concurrency` jobs at once, and lets the event loop take a
 * turn every {@link JOBS_PER_TURN} job starts.
 */
export class Limiter {
  #concurrency: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #startedThisTurn = 0;
  #turnScheduled = false;

  constructor(concurrency: number) {
    this.#concurrency = concurrency;
  }

  setConcurrency(value: number): void {
    this.#concurrency = value;
    this.#next();
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.#running--;
            this.#next();
          });
      };
      this.#waiting.push(start);
      this.#next();
    });
  }

  #next(): void {
    while (this.#running < this.#concurrency && this.#waiting.length > 0) {
      // The count restarts on the event loop's next turn; past the allowance, wait for it.
      if (!this.#turnScheduled) {
        this.#turnScheduled = true;
        afterIo(this.#newTurn);
      }
      if (this.#startedThisTurn >= JOBS_PER_TURN) return;
      this.#startedThisTurn++;
      (this.#waiting.shift() as () => void)();
    }
  }

  readonly #newTurn = (): void => {
    this.#turnScheduled = false;
    this.#startedThisTurn = 0;
    this.#next();
  };
}

/**
 * Milliseconds of synchronous zlib work a slice may take before it stops for the event loop
 * (checked between zlib calls, each of which writes at most 64 KiB).
 */
export const SLICE_MS = 1;

/**
 * Milliseconds of sliced zlib work one turn runs, summed over every step waiting in it: with
 * many connections inflating at once, a turn still hands the event loop back after about this
 * long, so other sockets' I/O (a new client's handshake, an echo) waits for at most one turn.
 * This is for turns a timer starts: the event loop waits for the timer between two of them, and
 * serves other sockets meanwhile.
 */
export const TURN_MS = 4;

/**
 * The same for turns a cheap tick starts ({@link TurnTick}): they follow each other with no
 * wait, so a fresh client's accept, handshake and echo each wait for a whole turn; shorter turns
 * keep that wait short at little cost, since a tick costs microseconds.
 */
export const CHEAP_TURN_MS = 1;

/**
 * A tick of the event loop an adapter gives the turns ({@link setTurnTick}) when its runtime
 * has one cheaper than a timer that still lets other sockets' I/O in first (Deno: a loopback
 * TCP pair while a server listens, see `@ws/deno`'s `after-io.ts`).
 */
export interface TurnTick {
  /** Calls `callback` once, in a later task, after the runtime has polled for I/O. */
  readonly afterIo: (callback: () => void) => void;
  /** Whether a tick costs microseconds now; when false, `afterIo` is a timer. */
  readonly cheap: boolean;
}

/** The adapter's tick, if it gave one; otherwise turns wait for a `setTimeout(0)` timer. */
let turnTick: TurnTick | undefined;

/**
 * Sets the tick the turns wait for (process-wide, as the queue is; undefined: the timer). The
 * adapter of a runtime whose timers are slow calls this once.
 */
export function setTurnTick(tick: TurnTick | undefined): void {
  turnTick = tick;
}

/** zlib calls (each up to 64 KiB of output) a first slice makes before it looks at the clock. */
const FIRST_SLICE_CALLS = 4;

/**
 * A stop function for a first slice run at once, outside the turns: true once {@link SLICE_MS}
 * have passed since it was made. Undefined while other work waits for a turn: then the caller
 * queues behind it ({@link inTurns}), so that under load (many connections inflating at once)
 * every slice is counted in a turn's {@link TURN_MS}, first come first served.
 */
export function firstSlice(): (() => boolean) | undefined {
  if (waiting.length > 0) return undefined;
  const end = timers.performance.now() + SLICE_MS;
  let calls = 0;
  // The first few zlib calls never stop (an ordinary message is done in one or two), so that a
  // busy machine pausing the process mid-message does not send ordinary messages to a turn.
  return () => ++calls > FIRST_SLICE_CALLS && timers.performance.now() >= end;
}

/**
 * A slice of work: runs until `stop()` says so or it is done, and returns whether it is done.
 * It may throw (the work failed).
 */
export type Slice = (stop: () => boolean) => boolean;

interface Waiting {
  readonly slice: Slice;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Work waiting for a turn, first come first served (one queue for the process). */
const waiting: Waiting[] = [];
let turnScheduled = false;

/**
 * Runs `slice` in turns of the event loop until it is done: one slice per turn and step, after
 * the turn's timer (or the adapter's {@link TurnTick}) fires, for at most {@link TURN_MS} (or
 * {@link CHEAP_TURN_MS}) per turn over every waiting step (a step not done goes to the back of
 * the queue). A timer, not `setImmediate`: on Deno, immediates queued from I/O callbacks run
 * before the next poll for I/O, so they would not let other sockets through. Resolves once
 * done; rejects with what the slice threw.
 */
export function inTurns(slice: Slice): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    waiting.push({ slice, resolve, reject });
    scheduleTurn();
  });
}

function scheduleTurn(): void {
  if (turnScheduled || waiting.length === 0) return;
  turnScheduled = true;
  if (turnTick !== undefined) turnTick.afterIo(runTurn);
  else timers.setTimeout(runTurn, 0);
}

function runTurn(): void {
  turnScheduled = false;
  const end = timers.performance.now() + (turnTick?.cheap === true ? CHEAP_TURN_MS : TURN_MS);
  const stop = (): boolean => timers.performance.now() >= end;
  // Each step waiting when the turn starts gets at most one slice in it.
  for (let count = waiting.length; count > 0 && !stop(); count--) {
    const next = waiting.shift() as Waiting;
    let done: boolean;
    try {
      done = next.slice(stop);
    } catch (error) {
      next.reject(error);
      continue;
    }
    if (done) next.resolve();
    else waiting.push(next);
  }
  scheduleTurn();
}
