import { describe, expect, it } from "vitest";
import { concatBytes, drain, feed, hex } from "../../test/helpers.ts";
import { Connection, NEED_DATA } from "../connection/connection.ts";
import { encodeFrame } from "../frame/encode.ts";
import { ByteCollector, COALESCE_BELOW, PART_OVERHEAD, TAIL_SIZE } from "./collector.ts";
import { JOIN_EVERY, TextCollector } from "./text-collector.ts";

const KEY = hex("37fa213d");
const masked = (opcode: number, payload: Uint8Array, fin = true) =>
  concatBytes(encodeFrame({ opcode, payload, fin, rsv: 0, maskingKey: KEY }));

/** A message as one frame per `size` bytes of `payload`, all frames in one buffer. */
function fragmented(opcode: number, payload: Uint8Array, size: number): Uint8Array {
  const frames: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += size) {
    const end = Math.min(payload.length, at + size);
    frames.push(masked(at === 0 ? opcode : 0, payload.subarray(at, end), end === payload.length));
  }
  return concatBytes(frames);
}

describe("ByteCollector", () => {
  it("joins small and large pieces in order, copying only the small ones", () => {
    const collector = new ByteCollector();
    const large = new Uint8Array(COALESCE_BELOW).fill(7);
    const expected: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const piece = new Uint8Array([i & 0xff]);
      collector.push(piece);
      expected.push(i & 0xff);
      if (i % 1000 === 999) {
        collector.push(large);
        expected.push(...large);
      }
    }
    expect(collector.length).toBe(expected.length);
    expect(Array.from(collector.take())).toEqual(expected);
    expect(collector.length).toBe(0);
    expect(collector.footprint).toBe(0);
  });

  it("holds tiny pieces in few parts: the footprint is bounded by the bytes, not the piece count", () => {
    const collector = new ByteCollector();
    const one = new Uint8Array([0x61]);
    for (let i = 0; i < 100_000; i++) collector.push(one);
    expect(collector.length).toBe(100_000);
    // Full tails of TAIL_SIZE bytes, each counted with its overhead, and one tail not full.
    const parts = Math.ceil(100_000 / TAIL_SIZE);
    expect(collector.footprint).toBeLessThanOrEqual(parts * (TAIL_SIZE + PART_OVERHEAD));
    expect(collector.footprint).toBeLessThan(2 * 100_000);
  });

  it("returns a single large piece as it is, without a copy", () => {
    const collector = new ByteCollector();
    const large = new Uint8Array(COALESCE_BELOW * 2);
    collector.push(large);
    expect(collector.take()).toBe(large);
  });
});

describe("TextCollector", () => {
  it("joins the strings of small and large pieces in order", () => {
    const collector = new TextCollector();
    let expected = "";
    for (let i = 0; i < 3 * JOIN_EVERY + 5; i++) {
      const small = String.fromCharCode(0x61 + (i % 26));
      collector.push(small, 1);
      expected += small;
      if (i % 1000 === 0) {
        const large = "€".repeat(COALESCE_BELOW);
        collector.push(large, 3 * COALESCE_BELOW);
        expected += large;
      }
    }
    expect(collector.take()).toBe(expected);
    expect(collector.footprint).toBe(0);
  });

  it("charges two bytes per character and a bounded overhead, not one node per piece", () => {
    const collector = new TextCollector();
    for (let i = 0; i < 100_000; i++) collector.push("a", 1);
    const parts = Math.ceil(100_000 / JOIN_EVERY);
    expect(collector.footprint).toBeGreaterThanOrEqual(2 * 100_000);
    expect(collector.footprint).toBeLessThanOrEqual(2 * 100_000 + parts * PART_OVERHEAD + JOIN_EVERY * 32);
  });
});

describe("fragmented messages (RFC 6455 §5.4)", () => {
  it("delivers a binary message in 100,000 one-byte fragments", () => {
    const payload = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff);
    const conn = new Connection({ role: "server" });
    const events = feed(conn, [fragmented(2, payload, 1)]);
    expect(events).toHaveLength(1);
    const event = events[0] as { type: string; data: Uint8Array };
    expect(event.type).toBe("binary");
    expect(event.data).toEqual(payload);
  });

  it("delivers a text message in 100,000 one-byte fragments, holding its bytes, not the fragments", () => {
    const text = "a".repeat(100_000);
    const wire = fragmented(1, new TextEncoder().encode(text), 1);
    const conn = new Connection({ role: "server" });
    // All but the last frame (7 bytes: 2 header, 4 key, 1 payload).
    conn.receive(wire.slice(0, wire.length - 7));
    expect(drain(conn)).toEqual([]);
    // Charged at two bytes per character, with a small overhead per part: not per fragment.
    expect(conn.heldMessageBytes).toBeGreaterThanOrEqual(2 * 99_999);
    expect(conn.heldMessageBytes).toBeLessThan(2 * 99_999 + 64 * 1024);
    conn.receive(wire.slice(wire.length - 7));
    expect(drain(conn)).toEqual([{ type: "text", data: text }]);
    expect(conn.heldMessageBytes).toBe(0);
  });

  it("delivers a 4 MiB message in 64-byte fragments with the default limits (Autobahn 9.3.1, 9.4.1)", () => {
    const payload = new Uint8Array(4 * 1024 * 1024).fill(0x2a);
    for (const opcode of [1, 2]) {
      const events = feed(new Connection({ role: "server" }), [fragmented(opcode, payload, 64)]);
      expect(events).toHaveLength(1);
      const event = events[0] as { type: string; data: string | Uint8Array };
      expect(event.type).toBe(opcode === 1 ? "text" : "binary");
      expect(event.data.length).toBe(payload.length);
    }
  });

  it("decodes multi-byte UTF-8 split across one-byte fragments and chunks", () => {
    const text = "é€𝄞 – ünïcødé ✓ ".repeat(200);
    const wire = fragmented(1, new TextEncoder().encode(text), 1);
    // Chunks of 5 bytes: boundaries fall inside frame headers, keys and code points.
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < wire.length; at += 5) chunks.push(wire.subarray(at, at + 5));
    expect(feed(new Connection({ role: "server" }), chunks)).toEqual([{ type: "text", data: text }]);
  });

  it("mixes small and large fragments of multi-byte text", () => {
    const text = "€".repeat(10_000);
    const bytes = new TextEncoder().encode(text);
    const frames: Uint8Array[] = [];
    let at = 0;
    for (const size of [1, 5000, 2, 7, 9000, 1, 1]) {
      frames.push(masked(at === 0 ? 1 : 0, bytes.subarray(at, at + size), false));
      at += size;
    }
    frames.push(masked(0, bytes.subarray(at), true));
    expect(feed(new Connection({ role: "server" }), frames)).toEqual([{ type: "text", data: text }]);
  });

  it("fails fast with 1007 on invalid UTF-8 in a late fragment, before the message ends", () => {
    const conn = new Connection({ role: "server" });
    const valid = fragmented(1, new TextEncoder().encode("a".repeat(50_000)), 1);
    // Cut off the last frame's FIN: the message goes on.
    const open = valid.slice();
    open[open.length - 7] = 0x00;
    conn.receive(open);
    expect(drain(conn)).toEqual([]);
    conn.receive(masked(0, hex("ff"), false));
    expect(conn.nextEvent()).toMatchObject({
      type: "failed",
      error: { code: "INVALID_UTF8", closeCode: 1007 },
    });
  });

  it("fails fast with 1007 on a code point cut by a late fragment that starts a new one", () => {
    const conn = new Connection({ role: "server" });
    conn.receive(fragmented(1, new TextEncoder().encode("b".repeat(20_000)), 1).slice(0, -7));
    conn.receive(concatBytes([masked(0, hex("e2"), false), masked(0, hex("41"), false)]));
    expect(conn.nextEvent()).toMatchObject({ type: "failed", error: { closeCode: 1007 } });
  });

  it("fails with 1009 when tiny fragments add up past maxMessageSize", () => {
    const conn = new Connection({ role: "server", limits: { maxMessageSize: 10_000 } });
    const events = feed(conn, [fragmented(2, new Uint8Array(20_000), 1)]);
    expect(events).toMatchObject([{ type: "failed", error: { code: "MESSAGE_TOO_BIG", closeCode: 1009 } }]);
    expect(conn.nextEvent()).toBe(NEED_DATA);
  });

  it("still honours a maxFragments that is set", () => {
    const conn = new Connection({ role: "server", limits: { maxFragments: 1000 } });
    expect(feed(conn, [fragmented(2, new Uint8Array(2000), 1)])).toMatchObject([
      { type: "failed", error: { code: "TOO_MANY_FRAGMENTS", closeCode: 1008 } },
    ]);
  });

  it("delivers a message in one frame without a copy", () => {
    const conn = new Connection({ role: "server" });
    const wire = masked(2, new Uint8Array(100).fill(1));
    conn.receive(wire);
    const event = conn.nextEvent() as { data: Uint8Array };
    // A view of the received chunk, unmasked in place.
    expect(event.data.buffer).toBe(wire.buffer);
  });
});
