import { describe, expect, it } from "vitest";
import { concatBytes } from "../../test/helpers.ts";
import { encodeFrame } from "../frame/encode.ts";
import { Connection, NEED_DATA, YIELD } from "./connection.ts";

const KEY = new Uint8Array([1, 2, 3, 4]);

/** A text message of `count` one-byte fragments ("a" each), masked, as one chunk. */
function tinyFragments(count: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(
      ...encodeFrame({
        opcode: i === 0 ? 1 : 0,
        fin: i === count - 1,
        payload: new Uint8Array([0x61]),
        maskingKey: KEY,
      }),
    );
  }
  return concatBytes(parts);
}

describe("Connection.nextEvent(maxFrames)", () => {
  it("reads at most maxFrames frames per call, returns YIELD, and goes on where it stopped", () => {
    const server = new Connection({ role: "server" });
    server.receive(tinyFragments(2500));
    const results: unknown[] = [];
    for (;;) {
      const before = server.framesRead;
      const event = server.nextEvent(1000);
      expect(server.framesRead - before).toBeLessThanOrEqual(1000);
      if (event === NEED_DATA) break;
      results.push(event === YIELD ? "yield" : event);
    }
    expect(results).toEqual(["yield", "yield", { type: "text", data: "a".repeat(2500) }]);
    expect(server.framesRead).toBe(2500);
  });

  it("returns NEED_DATA, not YIELD, when the frames it read leave nothing buffered", () => {
    const server = new Connection({ role: "server" });
    const message = tinyFragments(10);
    server.receive(message.subarray(0, 9 * 7));
    expect(server.nextEvent(9)).toBe(NEED_DATA);
    server.receive(message.slice(9 * 7));
    expect(server.nextEvent(9)).toEqual({ type: "text", data: "a".repeat(10) });
  });

  it("without maxFrames reads everything buffered, as before", () => {
    const server = new Connection({ role: "server" });
    server.receive(tinyFragments(5000));
    expect(server.nextEvent()).toEqual({ type: "text", data: "a".repeat(5000) });
  });
});
