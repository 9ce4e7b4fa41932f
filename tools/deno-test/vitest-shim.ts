/**
 * A small stand-in for the parts of `vitest` that the codec's tests use, so the very same test
 * files run under `deno test` (the import map in ./deno.json points `vitest` here).
 *
 * Supported: `describe` (nested, `.skip`, `.only`, `.skipIf`, `.runIf`), `it` / `test` (`.skip`,
 * `.only`, `.todo`, `.skipIf`, `.runIf`), `beforeEach` / `afterEach`, and `expect` — Jest's
 * `expect` from npm (the package Jest itself uses), plus `toThrowError` (removed in Jest 30,
 * still in Vitest) and Vitest's optional second argument `expect(value, message)`.
 *
 * Each `it` becomes one `Deno.test` named `outer > inner > test`, as Vitest and Bun print it.
 * Anything else Vitest offers is deliberately absent: importing it fails at load time with
 * "does not provide an export named ...", which is clearer than a silent difference.
 *
 * @module
 */
import { expect as jestExpect, type MatcherContext } from "expect";

type TestFn = () => unknown;
type Hook = () => unknown;

interface Suite {
  readonly name: string;
  readonly skip: boolean;
  readonly only: boolean;
  readonly beforeEach: Hook[];
  readonly afterEach: Hook[];
}

const root: Suite = { name: "", skip: false, only: false, beforeEach: [], afterEach: [] };
const stack: Suite[] = [root];

function current(): Suite {
  // The stack always holds the root suite.
  return stack[stack.length - 1] as Suite;
}

function register(name: string, fn: TestFn | undefined, mode: { skip?: boolean; only?: boolean }): void {
  const suites = stack.slice();
  const fullName = [...suites.map((s) => s.name).filter((n) => n !== ""), name].join(" > ");
  const ignore = mode.skip === true || fn === undefined || suites.some((s) => s.skip);
  const only = mode.only === true || suites.some((s) => s.only);
  Deno.test({
    name: fullName,
    ignore,
    only,
    async fn() {
      for (const suite of suites) {
        for (const hook of suite.beforeEach) await hook();
      }
      try {
        await fn?.();
      } finally {
        for (const suite of suites.slice().reverse()) {
          for (const hook of suite.afterEach.slice().reverse()) await hook();
        }
      }
    },
  });
}

function defineSuite(name: string, fn: () => unknown, mode: { skip?: boolean; only?: boolean }): void {
  const parent = current();
  const suite: Suite = {
    name,
    skip: parent.skip || mode.skip === true,
    only: parent.only || mode.only === true,
    beforeEach: [],
    afterEach: [],
  };
  stack.push(suite);
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new TypeError(
        `describe("${name}") returned a promise; the Deno shim collects tests synchronously`,
      );
    }
  } finally {
    stack.pop();
  }
}

/** A test function, or Vitest's options object / timeout in either of the two argument slots. */
type TestArg = TestFn | number | object;

/** Vitest accepts `it(name, fn, timeout)` and `it(name, options, fn)`; returns the function. */
function pickFn(a: TestArg | undefined, b: TestArg | undefined): TestFn | undefined {
  if (typeof a === "function") return a as TestFn;
  if (typeof b === "function") return b as TestFn;
  return undefined;
}

interface TestApi {
  (name: string, fn?: TestArg, timeoutOrFn?: TestArg): void;
  skip(name: string, fn?: TestArg, timeoutOrFn?: TestArg): void;
  only(name: string, fn?: TestArg, timeoutOrFn?: TestArg): void;
  todo(name: string, fn?: TestFn): void;
  skipIf(condition: unknown): (name: string, fn?: TestArg, timeoutOrFn?: TestArg) => void;
  runIf(condition: unknown): (name: string, fn?: TestArg, timeoutOrFn?: TestArg) => void;
}

interface SuiteApi {
  (name: string, fn: () => unknown): void;
  skip(name: string, fn: () => unknown): void;
  only(name: string, fn: () => unknown): void;
  skipIf(condition: unknown): (name: string, fn: () => unknown) => void;
  runIf(condition: unknown): (name: string, fn: () => unknown) => void;
}

/** Vitest's `it`: one `Deno.test` per call. Timeouts and options are accepted and ignored. */
export const it: TestApi = Object.assign(
  (name: string, a?: TestArg, b?: TestArg) => register(name, pickFn(a, b), {}),
  {
    skip: (name: string, a?: TestArg, b?: TestArg) => register(name, pickFn(a, b), { skip: true }),
    only: (name: string, a?: TestArg, b?: TestArg) => register(name, pickFn(a, b), { only: true }),
    todo: (name: string) => register(name, undefined, { skip: true }),
    skipIf: (condition: unknown) => (name: string, a?: TestArg, b?: TestArg) =>
      register(name, pickFn(a, b), { skip: !!condition }),
    runIf: (condition: unknown) => (name: string, a?: TestArg, b?: TestArg) =>
      register(name, pickFn(a, b), { skip: !condition }),
  },
);

/** Vitest's `test`, the same as {@link it}. */
export const test: TestApi = it;

/** Vitest's `describe`: names nest as `outer > inner`. */
export const describe: SuiteApi = Object.assign(
  (name: string, fn: () => unknown) => defineSuite(name, fn, {}),
  {
    skip: (name: string, fn: () => unknown) => defineSuite(name, fn, { skip: true }),
    only: (name: string, fn: () => unknown) => defineSuite(name, fn, { only: true }),
    skipIf: (condition: unknown) => (name: string, fn: () => unknown) =>
      defineSuite(name, fn, { skip: !!condition }),
    runIf: (condition: unknown) => (name: string, fn: () => unknown) =>
      defineSuite(name, fn, { skip: !condition }),
  },
);

/** Vitest's `beforeEach`, scoped to the enclosing `describe` (or the whole file). */
export function beforeEach(hook: Hook): void {
  current().beforeEach.push(hook);
}

/** Vitest's `afterEach`, scoped to the enclosing `describe` (or the whole file). */
export function afterEach(hook: Hook): void {
  current().afterEach.push(hook);
}

// Jest 30 dropped the `toThrowError` alias that Vitest keeps. Re-add it on top of `toThrow`,
// calling the function under test exactly once.
jestExpect.extend({
  toThrowError(this: MatcherContext, received: unknown, expected?: unknown) {
    let thrown = false;
    let error: unknown;
    if (this.promise === "rejects") {
      thrown = true;
      error = received;
    } else if (typeof received === "function") {
      try {
        received();
      } catch (e) {
        thrown = true;
        error = e;
      }
    } else {
      const message = `expect(received).toThrowError(): received value must be a function, got ${typeof received}`;
      // Fails whether or not the assertion is negated.
      return { pass: this.isNot === true, message: () => message };
    }
    const replay = thrown
      ? () => {
          throw error;
        }
      : () => {};
    try {
      jestExpect(replay).toThrow(expected as never);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return { pass: false, message: () => message.replaceAll(".toThrow(", ".toThrowError(") };
    }
    let inverse = "expected the function not to throw";
    try {
      jestExpect(replay).not.toThrow(expected as never);
    } catch (e) {
      inverse = e instanceof Error ? e.message : String(e);
    }
    return { pass: true, message: () => inverse.replaceAll(".toThrow(", ".toThrowError(") };
  },
});

declare module "expect" {
  interface Matchers<R extends void | Promise<void>, T = unknown> {
    toThrowError(expected?: unknown): R;
  }
}

/** Prefixes assertion failures with Vitest's optional `expect(value, message)` text. */
function withMessage<T extends object>(target: T, message: string): T {
  const prefix = (e: unknown): unknown => {
    if (e instanceof Error) e.message = `${message}: ${e.message}`;
    return e;
  };
  return new Proxy(target, {
    get(object, key, receiver) {
      const value: unknown = Reflect.get(object, key, receiver);
      if (typeof value === "function") {
        return (...args: unknown[]) => {
          try {
            const result: unknown = value.apply(object, args);
            return result instanceof Promise
              ? result.catch((e: unknown) => {
                  throw prefix(e);
                })
              : result;
          } catch (e) {
            throw prefix(e);
          }
        };
      }
      return typeof value === "object" && value !== null ? withMessage(value, message) : value;
    },
  });
}

type ShimExpect = typeof jestExpect & (<T>(actual: T, message?: string) => ReturnType<typeof jestExpect<T>>);

/** Jest's `expect` (npm `expect`), accepting Vitest's optional failure message. */
export const expect: ShimExpect = Object.assign(<T>(actual: T, message?: string) => {
  const matchers = jestExpect(actual);
  return message === undefined ? matchers : withMessage(matchers, message);
}, jestExpect) as ShimExpect;
