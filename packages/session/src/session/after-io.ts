/**
 * How the fair turns (`turns.ts`) wait for the runtime to poll for I/O: the one runtime
 * difference of the run queue, injected by the adapter through its transport
 * (`Transport.afterIo`), as `copyPayloadsUpTo` and `copiesWrites` are.
 *
 * A waiting session is served at the run queue's next tick. The tick must come after the
 * runtime has polled for I/O again, so that a fresh client's accept and read get their turn
 * while busy sessions wait (RFC 6455 §10.4); beyond that, the sooner it comes the better: while
 * every busy session waits for it and nothing else is ready, the process sits idle.
 *
 * - {@link afterTimer}, the default: a `setTimeout(0)` timer is a task, and every runtime polls
 *   for I/O between tasks (HTML "timers"). Portable, but a timer step is the runtime's timer
 *   resolution (Node clamps 0 to 1 ms; Deno rounds up to its timer wheel), however idle the
 *   process.
 * - {@link afterImmediate}, for Node and Bun: Node runs an immediate queued while immediates run
 *   in the next iteration of its event loop, after that iteration's poll for I/O (Node's
 *   "event loop" guide, `setImmediate()` vs `setTimeout()`); Bun's event loop polls for I/O
 *   between two such immediates as well. A step costs microseconds.
 * - Not `setImmediate` on Deno: Deno's immediates are tasks of its async runtime, which checks
 *   its I/O driver only every few dozen tasks while tasks are ready, so a chain of ticks would
 *   hold fresh clients back for many turns. Not `MessageChannel` either: on Node, Deno and Bun a
 *   chain of port messages kept socket I/O out for as long as it went on. `@ws/deno` gives a
 *   loopback TCP pair of its own while a server listens (its `after-io.ts`).
 *   (`packages/session/src/turns.test.ts` and the adapters' turn tests check this.)
 *
 * @module
 */

/** Calls `callback` once, in a later task, after the runtime has polled for I/O. */
export type AfterIo = (callback: () => void) => void;

/** A `setTimeout(0)` timer: portable (see the module's comment). */
export const afterTimer: AfterIo = (callback) => {
  setTimeout(callback, 0);
};

/**
 * The runtime's `setImmediate` (Node's `node:timers`, Bun's global) as an {@link AfterIo}, for
 * the runtimes whose immediates let I/O in between (see the module's comment).
 */
export function afterImmediate(setImmediate: (callback: () => void) => unknown): AfterIo {
  return (callback) => {
    setImmediate(callback);
  };
}
