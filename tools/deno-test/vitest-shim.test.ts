/**
 * Self-test of the Deno `vitest` shim: the matchers the codec's tests use, `toThrowError`,
 * `expect(value, message)`, skips, nesting and hooks. Runs with `deno test` (see package.json).
 */
import { afterEach, beforeEach, describe, expect, it, test } from "vitest";

const order: string[] = [];

function failureOf(assertion: () => unknown): string {
  try {
    assertion();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error("the assertion was expected to fail but passed");
}

describe("vitest shim", () => {
  beforeEach(() => {
    order.push("outer before");
  });
  afterEach(() => {
    order.push("outer after");
  });

  describe("matchers", () => {
    it("supports the common matchers", () => {
      expect(1 + 1).toBe(2);
      expect({ a: [1, 2], b: new Uint8Array([3]) }).toEqual({ a: [1, 2], b: new Uint8Array([3]) });
      expect({ a: 1 }).toStrictEqual({ a: 1 });
      expect({ a: 1, b: { c: 2 } }).toMatchObject({ b: { c: 2 } });
      expect(new Uint8Array(1)).toBeInstanceOf(Uint8Array);
      expect(undefined).toBeUndefined();
      expect([1, 2, 3]).toContain(2);
      expect("abc").toContain("b");
      expect(3).toBeGreaterThan(2);
      expect(3).toBeGreaterThanOrEqual(3);
      expect(2).toBeLessThan(3);
      expect(2).toBeLessThanOrEqual(2);
      expect(1).not.toBe(2);
      expect(new Uint8Array([1])).not.toEqual(new Uint8Array([2]));
    });

    it("toStrictEqual tells a Uint8Array from a plain array and undefined keys from missing ones", () => {
      expect(new Uint8Array([1])).not.toStrictEqual([1]);
      expect({ a: undefined }).not.toStrictEqual({});
      expect({ a: undefined }).toEqual({});
    });

    it("toThrow and toThrowError (removed in Jest 30, kept by Vitest)", () => {
      const boom = (): never => {
        throw new RangeError("boom: out of range");
      };
      expect(boom).toThrow();
      expect(boom).toThrow(RangeError);
      expect(boom).toThrow("out of range");
      expect(boom).toThrowError();
      expect(boom).toThrowError(RangeError);
      expect(boom).toThrowError(/out of/);
      expect(boom).toThrowError("boom");
      expect(() => {}).not.toThrowError();
      expect(boom).not.toThrowError(TypeError);
      expect(failureOf(() => expect(boom).toThrowError(TypeError))).toContain("toThrowError");
      expect(failureOf(() => expect(boom).not.toThrowError())).toContain("boom");
      expect(failureOf(() => expect(() => {}).toThrowError())).toContain("did not throw");
      expect(failureOf(() => expect(42).toThrowError())).toContain("must be a function");
    });

    it("toThrowError calls the function exactly once", () => {
      let calls = 0;
      expect(() => {
        calls++;
        throw new Error("once");
      }).toThrowError("once");
      expect(calls).toBe(1);
    });

    it("rejects.toThrowError works on promises", async () => {
      await expect(Promise.reject(new TypeError("nope"))).rejects.toThrowError(TypeError);
      await expect(Promise.reject(new TypeError("nope"))).rejects.toThrow("nope");
      await expect(Promise.resolve(5)).resolves.toBe(5);
    });

    it("expect(value, message) prefixes the failure with the message", () => {
      expect(1, "one is one").toBe(1);
      expect(failureOf(() => expect(1, "the answer").toBe(2))).toContain("the answer: ");
      expect(failureOf(() => expect(1, "negated").not.toBe(1))).toContain("negated: ");
    });

    it("keeps Jest's asymmetric matchers", () => {
      expect({ code: 1002, reason: "x" }).toEqual({ code: 1002, reason: expect.any(String) });
      expect([1, 2, 3]).toEqual(expect.arrayContaining([2]));
    });
  });

  describe("hooks", () => {
    beforeEach(() => {
      order.push("inner before");
    });
    it("runs beforeEach hooks from the outside in", () => {
      expect(order.slice(-2)).toEqual(["outer before", "inner before"]);
    });
  });

  it("ran the afterEach hooks of the earlier tests", () => {
    expect(order).toContain("outer after");
  });

  it.skip("it.skip registers an ignored test", () => {
    throw new Error("a skipped test ran");
  });

  describe.skip("describe.skip", () => {
    it("skips everything inside", () => {
      throw new Error("a test in a skipped describe ran");
    });
  });

  it.skipIf(true)("it.skipIf(true) skips", () => {
    throw new Error("it.skipIf(true) ran");
  });

  it.todo("it.todo registers an ignored test");

  it("accepts a timeout after the function", () => {
    expect(true).toBe(true);
  }, 10_000);

  it("accepts Vitest's options object before the function", { timeout: 10_000 }, () => {
    expect(true).toBe(true);
  });

  test("test is an alias of it", async () => {
    await Promise.resolve();
    expect(Deno.version.deno).toContain(".");
  });
});
