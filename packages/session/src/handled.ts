/**
 * Never crash the user's process (issue 12): every promise the public API hands out is marked
 * handled when it is made, and exceptions thrown by the user's listeners are reported instead
 * of being thrown into the event loop.
 *
 * - {@link handled}: a caller who ignores the promise gets no `unhandledRejection` (which
 *   ends the process on Node ≥ 15, Deno and Bun); a caller who awaits it still sees the failure.
 * - {@link reportListenerError}: where an exception from a listener goes when no server's
 *   `error` event takes it: to the console, as a browser reports an exception thrown by an
 *   `EventTarget` listener (WHATWG "report an exception"). We do not call the runtime's
 *   `reportError`: on Deno (and Bun) an unhandled report ends the process, which is exactly what
 *   this module prevents.
 *
 * @module
 */

function ignore(): void {}

/** Marks `promise` handled (a branch that swallows the rejection) and returns it unchanged. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(ignore);
  return promise;
}

/** A rejected promise, already marked handled. */
export function rejected<T = never>(error: unknown): Promise<T> {
  return handled(Promise.reject(error));
}

/** Reports an exception thrown by a listener when nobody else takes it: to the console. */
export function reportListenerError(error: unknown): void {
  console.error(error);
}
