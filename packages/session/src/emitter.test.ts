import { describe, expect, it } from "vitest";
import { Emitter } from "./emitter.ts";

type Events = { data: [value: number]; error: [error: Error]; done: [] };

describe("Emitter", () => {
  it("calls listeners in order with the arguments; once runs once; off removes the latest registration", () => {
    const emitter = new Emitter<Events>();
    const seen: string[] = [];
    const a = (value: number) => seen.push(`a${value}`);
    emitter.on("data", a);
    emitter.once("data", (value) => seen.push(`once${value}`));
    emitter.addListener("data", a);
    expect(emitter.listenerCount("data")).toBe(3);
    expect(emitter.emit("data", 1)).toBe(true);
    expect(emitter.emit("data", 2)).toBe(true);
    emitter.off("data", a);
    emitter.emit("data", 3);
    expect(seen).toEqual(["a1", "once1", "a1", "a2", "a2", "a3"]);
    expect(emitter.listeners("data")).toEqual([a]);
    emitter.removeAllListeners("data");
    expect(emitter.emit("data", 4)).toBe(false);
    expect(emitter.emit("done")).toBe(false);
  });

  it("removes a once listener with off before it runs", () => {
    const emitter = new Emitter<Events>();
    let calls = 0;
    const listener = () => calls++;
    emitter.once("done", listener);
    emitter.off("done", listener);
    emitter.emit("done");
    expect(calls).toBe(0);
  });

  it("reports a listener's exception to the error listeners; the other listeners still run", () => {
    const emitter = new Emitter<Events>();
    const errors: Error[] = [];
    const thrown = new Error("listener failed");
    emitter.on("error", (error) => errors.push(error));
    emitter.on("data", () => {
      throw thrown;
    });
    const after: number[] = [];
    emitter.on("data", (value) => after.push(value));
    expect(() => emitter.emit("data", 1)).not.toThrow();
    expect(errors).toEqual([thrown]);
    expect(after).toEqual([1]);
  });

  it("sends an error without listeners (or thrown by an error listener) to the console, never throws", () => {
    // What reaches the console, caught for the test.
    const logged: unknown[] = [];
    const original = globalThis.console.error;
    globalThis.console.error = (value: unknown) => logged.push(value);
    try {
      const emitter = new Emitter<Events>();
      const lost = new Error("nobody listens");
      expect(emitter.emit("error", lost)).toBe(false);
      expect(logged).toEqual([lost]);
      const broken = new Error("error listener failed");
      emitter.on("error", () => {
        throw broken;
      });
      expect(() => emitter.emit("error", lost)).not.toThrow();
      expect(logged).toEqual([lost, broken]);
    } finally {
      globalThis.console.error = original;
    }
  });

  it("refuses a listener that is not a function", () => {
    expect(() => new Emitter<Events>().on("data", "nope" as never)).toThrow(TypeError);
  });
});
