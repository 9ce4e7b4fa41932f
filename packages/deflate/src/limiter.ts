/**
 * A process-wide limit on concurrent zlib work for the zlib engine (`./zlib-engine.ts`), and
 * the only place this package reads the runtime's timers (`setImmediate`, else `setTimeout`).
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

/** The timer functions used here (the codec compiles without any runtime's types). */
const timers = globalThis as unknown as {
  setImmediate?: (callback: () => void) => unknown;
  setTimeout: (callback: () => void, ms: number) => unknown;
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
