/** Event helpers for the adapters' tests (runtime-neutral: Node, Deno and Bun suites). */

/** Resolves with the first event of `type` on `target`. */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) =>
    target.addEventListener(type, (event) => resolve(event as E), { once: true }),
  );
}
