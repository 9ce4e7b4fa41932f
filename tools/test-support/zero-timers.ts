/**
 * Counts the zero-delay timers set while `run` runs: where a runtime's fair-turns tick is a timer
 * (`setTimeout(0)`), each tick sets one; tests use it to tell which tick the run queue used.
 * Runtime-neutral (Node, Deno, Bun). The waits inside `run` must use timers with a delay.
 */
export async function countZeroTimers(run: () => Promise<void>): Promise<number> {
  const original = globalThis.setTimeout;
  let zeroTimers = 0;
  globalThis.setTimeout = ((callback: () => void, delay?: number, ...rest: unknown[]) => {
    if (!delay) zeroTimers++;
    // Called through a rest-typed view: Node's and Deno's `setTimeout` types differ.
    return (original as (...args: unknown[]) => ReturnType<typeof setTimeout>)(callback, delay, ...rest);
  }) as typeof setTimeout;
  try {
    await run();
  } finally {
    globalThis.setTimeout = original;
  }
  return zeroTimers;
}
