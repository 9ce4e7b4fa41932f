/** Round-trip properties of the frame layer (RFC 6455 §5.2). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder } from "../src/frame/index.ts";
import { concatBytes, decodeFrames, splitAt } from "./helpers.ts";

const payloadLength = fc.oneof(
  fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 70000),
  fc.integer({ min: 0, max: 300 }),
);

/** Any frame a decoder accepts (RSV allowed as if extensions owned all three bits). */
const frameArb = fc
  .record({
    opcode: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa),
    fin: fc.boolean(),
    rsv: fc.constantFrom(0, 0x10, 0x20, 0x40, 0x70),
    masked: fc.boolean(),
    length: payloadLength,
    seed: fc.integer({ min: 0, max: 255 }),
    key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  })
  .map(({ opcode, fin, rsv, masked, length, seed, key }) => {
    const control = opcode >= 0x8;
    const size = control ? length % 126 : length;
    const payload = new Uint8Array(size).map((_, i) => (i * 31 + seed) & 0xff);
    return { opcode, fin: control ? true : fin, rsv, payload, ...(masked ? { maskingKey: key } : {}) };
  });

describe("frame round trip", () => {
  it("decode(encode(frame)) gives the frame back, for any split of the bytes", () => {
    fc.assert(
      fc.property(frameArb, fc.array(fc.nat(), { maxLength: 5 }), (frame, cuts) => {
        const bytes = concatBytes(encodeFrame(frame));
        const role = frame.maskingKey === undefined ? "client" : "server";
        const decoder = new FrameDecoder({ role, allowedRsv: 0x70 });
        const [decoded, ...rest] = decodeFrames(
          decoder,
          splitAt(
            bytes,
            cuts.map((c) => c % (bytes.length + 1)),
          ),
        );
        expect(rest).toEqual([]);
        expect(decoded).toEqual({
          fin: frame.fin,
          rsv: frame.rsv,
          opcode: frame.opcode,
          payload: frame.payload,
        });
      }),
      { numRuns: 300 },
    );
  });

  it("encode(decode(bytes)) gives the same bytes: lengths are canonical (minimal)", () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        const { maskingKey: _unused, ...unmasked } = frame;
        const bytes = concatBytes(encodeFrame(unmasked));
        const [decoded] = decodeFrames(new FrameDecoder({ role: "client", allowedRsv: 0x70 }), [bytes]);
        if (decoded === undefined) throw new Error("no frame");
        expect(concatBytes(encodeFrame(decoded))).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it("a stream of frames decodes the same at once and one byte at a time", () => {
    fc.assert(
      fc.property(
        fc.array(
          frameArb.filter((f) => f.payload.length < 1000 && f.maskingKey === undefined),
          { maxLength: 6 },
        ),
        (frames) => {
          const bytes = concatBytes(frames.flatMap((f) => encodeFrame(f)));
          const whole = decodeFrames(new FrameDecoder({ role: "client", allowedRsv: 0x70 }), [bytes]);
          const single = decodeFrames(
            new FrameDecoder({ role: "client", allowedRsv: 0x70 }),
            Array.from(bytes, (b) => new Uint8Array([b])),
          );
          expect(single).toEqual(whole);
          expect(whole.length).toBe(frames.length);
        },
      ),
      { numRuns: 100 },
    );
  });
});
