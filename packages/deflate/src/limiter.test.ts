/**
 * The turns of sliced zlib work (`inTurns`): with an adapter's tick (`setTurnTick`), a turn waits
 * for that tick instead of a timer, and a cheap tick's turns end after `CHEAP_TURN_MS`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CHEAP_TURN_MS, inTurns, setTurnTick, TURN_MS } from "./limiter.ts";

const clock = globalThis.performance;
const realNow = clock.now.bind(clock);

/** Makes `performance.now()` read `at()` (the limiter reads the clock at call time). */
function fakeClock(at: () => number): void {
  clock.now = at;
}

afterEach(() => {
  setTurnTick(undefined);
  clock.now = realNow;
});

/**
 * Runs one slice through `inTurns` with the fake clock at 0 when the turn starts; returns what
 * the slice's `stop()` said at each time of `times`, and how many ticks were asked for.
 */
async function stopsAt(
  cheap: boolean,
  times: readonly number[],
): Promise<{ said: boolean[]; ticks: number }> {
  const ticks: (() => void)[] = [];
  setTurnTick({ afterIo: (callback) => ticks.push(callback), cheap });
  let now = 0;
  fakeClock(() => now);
  const said: boolean[] = [];
  const done = inTurns((stop) => {
    for (const time of times) {
      now = time;
      said.push(stop());
    }
    return true;
  });
  // Nothing runs before the tick: no timer starts the turn.
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(said).toStrictEqual([]);
  const asked = ticks.length;
  now = 0;
  (ticks.shift() as () => void)();
  await done;
  return { said, ticks: asked };
}

describe("inTurns with an adapter's tick", () => {
  it("a cheap tick starts the turn, which stops after CHEAP_TURN_MS", async () => {
    const { said, ticks } = await stopsAt(true, [0, CHEAP_TURN_MS - 0.01, CHEAP_TURN_MS]);
    expect(ticks).toBe(1);
    expect(said).toStrictEqual([false, false, true]);
  });

  it("while the tick is not cheap (it is a timer), the turn runs TURN_MS", async () => {
    const { said, ticks } = await stopsAt(false, [CHEAP_TURN_MS, TURN_MS - 0.01, TURN_MS]);
    expect(ticks).toBe(1);
    expect(said).toStrictEqual([false, false, true]);
  });
});
