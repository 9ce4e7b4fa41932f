/**
 * The matchers the shared scenarios (`pubsub-scenarios.ts`, `budget-scenarios.ts`,
 * `observe-scenarios.ts`, ...) use. Each suite hands in its runner's own `expect` (Vitest's,
 * bun:test's, or Jest's under Deno), so that every adapter suite asserts one way and failures
 * read as the runner's.
 */
export type Expect = (actual: unknown) => {
  toBe(expected: unknown): void;
  toStrictEqual(expected: unknown): void;
  toMatch(expected: RegExp): void;
  toBeGreaterThan(expected: number): void;
  toBeGreaterThanOrEqual(expected: number): void;
  toBeLessThan(expected: number): void;
  toBeLessThanOrEqual(expected: number): void;
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): void;
  toThrow(expected: RegExp | (abstract new (...args: never[]) => Error)): void;
  readonly not: { toMatch(expected: RegExp): void };
};
