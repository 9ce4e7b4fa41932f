/**
 * Chunking invariance (h11's tr(), as a property): for any valid byte stream and any way of
 * splitting it, a connection yields identical events — cuts inside headers, 16/64-bit lengths,
 * masking keys and UTF-8 code points included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Connection, type InboundEvent, type OutboundEvent } from "../src/index.ts";
import { concatBytes, feed, normalize, splitAt, sync } from "./helpers.ts";

const text = fc.string({ unit: "grapheme", maxLength: 60 });
const bytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constant(new Uint8Array(70000).fill(3)));

/** A sequence of outbound events that a client may legally send, ending with a close. */
const script = fc
  .array(
    fc.oneof(
      text.map((data): OutboundEvent[] => [{ type: "text", data }]),
      bytes.map((data): OutboundEvent[] => [{ type: "binary", data }]),
      fc.uint8Array({ maxLength: 125 }).map((payload): OutboundEvent[] => [{ type: "ping", payload }]),
      fc
        .array(text, { minLength: 1, maxLength: 4 })
        .map((parts): OutboundEvent[] =>
          parts.map((data, i) => ({ type: "text-piece", data, last: i === parts.length - 1 })),
        ),
    ),
    { maxLength: 8 },
  )
  .map((groups) => [...groups.flat(), { type: "close", code: 1000, reason: "bye" } as OutboundEvent]);

/** Joins streamed pieces back into whole messages for comparison. */
function joinPieces(events: readonly InboundEvent[]): InboundEvent[] {
  const out: InboundEvent[] = [];
  let text = "";
  let binary: Uint8Array[] = [];
  for (const e of events) {
    if (e.type === "text-piece") {
      text += e.data;
      if (e.last) {
        out.push({ type: "text", data: text });
        text = "";
      }
    } else if (e.type === "binary-piece") {
      binary.push(e.data.slice());
      if (e.last) {
        out.push({ type: "binary", data: concatBytes(binary) });
        binary = [];
      }
    } else out.push(e);
  }
  return out;
}

describe("chunking invariance", () => {
  it("any split of a client's byte stream gives the server the same events", () => {
    fc.assert(
      fc.property(script, fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), (events, cuts, stream) => {
        const client = new Connection({ role: "client" });
        const wire = concatBytes(events.flatMap((e) => sync(client.send(e))));
        const reference = feed(new Connection({ role: "server" }), [wire]);
        const split = splitAt(
          wire,
          cuts.map((c) => c % (wire.length + 1)),
        );
        const chunked = feed(new Connection({ role: "server", streamMessages: stream }), split);
        expect(normalize(joinPieces(chunked))).toEqual(normalize(reference));
        expect(reference.at(-1)).toEqual({ type: "close", code: 1000, reason: "bye" });
      }),
      { numRuns: 200 },
    );
  });

  it("one byte at a time gives the same events as all at once", () => {
    fc.assert(
      fc.property(script, (events) => {
        const client = new Connection({ role: "client" });
        const wire = concatBytes(events.flatMap((e) => sync(client.send(e))));
        const reference = feed(new Connection({ role: "server" }), [wire]);
        const head: Uint8Array[] = Array.from(wire.subarray(0, 20000), (b) => new Uint8Array([b]));
        const tail: Uint8Array[] = wire.length > 20000 ? [wire.subarray(20000)] : [];
        const bytewise = feed(new Connection({ role: "server" }), [...head, ...tail]);
        expect(normalize(bytewise)).toEqual(normalize(reference));
      }),
      { numRuns: 40 },
    );
  });

  it("a text message survives fragmentation at arbitrary byte offsets, even inside code points", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (message, cuts) => {
          const utf8 = new TextEncoder().encode(message);
          const parts = splitAt(
            utf8,
            cuts.map((c) => c % (utf8.length + 1)),
          );
          const client = new Connection({ role: "client" });
          const wire = parts.flatMap((part, i) =>
            sync(client.send({ type: "binary-piece", data: part, last: i === parts.length - 1 })),
          );
          // Re-label the frames as text: the first frame's opcode 2 → 1.
          const first = wire[0] as Uint8Array;
          first[0] = ((first[0] as number) & 0xf0) | 0x1;
          expect(feed(new Connection({ role: "server" }), wire)).toEqual([{ type: "text", data: message }]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
