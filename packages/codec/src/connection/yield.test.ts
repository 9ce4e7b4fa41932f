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

  it("with maxBytes, takes about that many received bytes per call: the frame piece that reaches it is read whole", () => {
    const server = new Connection({ role: "server" });
    const size = 40_000;
    // A binary message of four 40,000-byte fragments, in one chunk.
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 4; i++)
      parts.push(
        ...encodeFrame({
          opcode: i === 0 ? 2 : 0,
          fin: i === 3,
          payload: new Uint8Array(size).fill(i),
          maskingKey: KEY,
        }),
      );
    server.receive(concatBytes(parts));
    const total = server.bufferedAmount;
    expect(server.nextEvent(1000, 65_536)).toBe(YIELD);
    const taken = total - server.bufferedAmount;
    // Two frames: the second one reaches 65,536 bytes.
    expect(server.framesRead).toBe(2);
    expect(taken).toBeGreaterThanOrEqual(65_536);
    expect(taken).toBeLessThan(65_536 + size + 14);
    const message = server.nextEvent(1000, 65_536);
    expect(message).toMatchObject({ type: "binary" });
    const data = (message as { data: Uint8Array }).data;
    expect(data.length).toBe(4 * size);
    expect([data[0], data[size], data[2 * size], data[4 * size - 1]]).toEqual([0, 1, 2, 3]);
    expect(server.nextEvent(1000, 65_536)).toBe(NEED_DATA);
  });

  it("with maxBytes 0 or less, reads nothing while bytes are buffered", () => {
    const server = new Connection({ role: "server" });
    server.receive(tinyFragments(3));
    expect(server.nextEvent(1000, 0)).toBe(YIELD);
    expect(server.framesRead).toBe(0);
    expect(server.nextEvent(1000, 1)).toBe(YIELD);
    expect(server.framesRead).toBe(1);
    expect(server.nextEvent(1000)).toEqual({ type: "text", data: "aaa" });
  });
});
