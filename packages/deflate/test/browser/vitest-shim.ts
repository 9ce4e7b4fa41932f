/**
 * The parts of `vitest` this package's tests use, for the browser bundle (`run.mjs` maps the
 * `vitest` import here): `describe`, `it` (with `.skipIf`), and Vitest's own `expect` from
 * `@vitest/expect` (chai with the Jest-style matchers, which has no Node dependency). Tests are
 * collected while the bundle loads and run in order by {@link runAll}.
 */
import {
  chai,
  GLOBAL_EXPECT,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  setState,
} from "@vitest/expect";

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type TestFn = () => unknown;
interface Test {
  readonly name: string;
  readonly fn: TestFn;
  readonly skip: boolean;
}

const tests: Test[] = [];
const suites: string[] = [];

function register(name: string, fn: TestFn, skip: boolean): void {
  tests.push({ name: [...suites, name].join(" > "), fn, skip });
}

type It = ((name: string, fn: TestFn, timeout?: number) => void) & {
  skipIf(condition: boolean): (name: string, fn: TestFn, timeout?: number) => void;
};

export const it: It = Object.assign((name: string, fn: TestFn) => register(name, fn, false), {
  skipIf: (condition: boolean) => (name: string, fn: TestFn) => register(name, fn, condition),
});
export const test: It = it;

export function describe(name: string, body: () => void): void {
  suites.push(name);
  try {
    body();
  } finally {
    suites.pop();
  }
}

export const expect = ((value: unknown, message?: string) =>
  chai.expect(value, message)) as unknown as Chai.ExpectStatic;
Object.assign(expect, chai.expect);
setState(
  { assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null },
  expect as never,
);
(globalThis as Record<symbol, unknown>)[GLOBAL_EXPECT] = expect;

/** One test's outcome. */
export interface Outcome {
  readonly name: string;
  readonly status: "passed" | "failed" | "skipped";
  readonly error?: string;
}

/** Runs every collected test in order. */
export async function runAll(): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const t of tests) {
    if (t.skip) {
      outcomes.push({ name: t.name, status: "skipped" });
      continue;
    }
    try {
      await t.fn();
      outcomes.push({ name: t.name, status: "passed" });
    } catch (error) {
      const text = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
      outcomes.push({ name: t.name, status: "failed", error: text });
    }
  }
  return outcomes;
}
