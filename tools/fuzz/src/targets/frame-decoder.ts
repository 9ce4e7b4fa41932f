/**
 * The frame decoder (RFC 6455 §5.2): mutated frame streams and random bytes in any split, and
 * valid frames that must round-trip through `encodeFrame`.
 *
 * Invariants: only `RemoteProtocolError` (1002 or 1009) is thrown, and it sticks; pieces obey
 * the header they came with (control frames whole and at most 125 bytes, payload sizes add up,
 * nothing above `maxFrameSize`, RSV bits only those allowed); chunking never changes the frames
 * or the error; valid frames come back as they were sent.
 */
import { RemoteProtocolError } from "@ws/codec";
import { encodeFrame, FrameDecoder, type FrameDecoderOptions, isControlOpcode } from "@ws/codec/frame";
import fc from "fast-check";
import { check, checkSame, concatBytes, onlyDocumented } from "../check.ts";
import { seeds } from "../corpus.ts";
import { chunk, cutsArb, mutateAll, mutationsArb } from "../mutate.ts";
import type { FuzzTarget } from "../target.ts";

interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Uint8Array;
}

interface Outcome {
  frames: Frame[];
  error?: { code: string; closeCode: number } | undefined;
}

/** Decodes `chunks`, checking every piece against its header. */
export function decodeAll(options: FrameDecoderOptions, chunks: readonly Uint8Array[]): Outcome {
  const decoder = new FrameDecoder(options);
  const maxFrameSize = options.maxFrameSize ?? Number.MAX_SAFE_INTEGER;
  const frames: Frame[] = [];
  let pieces: Uint8Array[] = [];
  let seen = 0;
  for (const bytes of chunks) {
    decoder.push(bytes);
    for (;;) {
      let piece: ReturnType<FrameDecoder["next"]>;
      try {
        piece = decoder.next();
      } catch (error) {
        onlyDocumented(error, [RemoteProtocolError], "FrameDecoder.next");
        const failure = error as RemoteProtocolError;
        check([1002, 1009].includes(failure.closeCode), `unexpected close code ${failure.closeCode}`);
        let again: unknown;
        try {
          decoder.next();
        } catch (repeat) {
          again = repeat;
        }
        check(again === failure, "a failed decoder must throw the same error again");
        return { frames, error: { code: failure.code, closeCode: failure.closeCode } };
      }
      if (piece === undefined) {
        // Memory: a data frame's payload comes out as soon as it arrives; only a partial header
        // (at most 13 bytes) or a partial control frame (at most 124 bytes) may wait.
        check(decoder.bufferedAmount <= 124, () => `the decoder holds ${decoder.bufferedAmount} bytes`);
        break;
      }
      check(piece.first === (pieces.length === 0 && seen === 0), "`first` marks exactly the first piece");
      check(piece.payloadLength <= maxFrameSize, "a frame above maxFrameSize was accepted");
      check((piece.rsv & ~(options.allowedRsv ?? 0)) === 0, "RSV bits not allowed were accepted");
      check(
        piece.opcode <= 2 || (piece.opcode >= 8 && piece.opcode <= 10),
        `reserved opcode ${piece.opcode} accepted`,
      );
      if (isControlOpcode(piece.opcode)) {
        check(piece.fin && piece.first && piece.last, "a control frame must be one whole, final piece");
        check(piece.payloadLength <= 125, "a control frame above 125 bytes was accepted");
      }
      pieces.push(piece.data.slice());
      seen += piece.data.length;
      check(seen <= piece.payloadLength, "pieces hold more than the frame's payload length");
      if (piece.last) {
        check(seen === piece.payloadLength, "pieces hold less than the frame's payload length");
        frames.push({ fin: piece.fin, rsv: piece.rsv, opcode: piece.opcode, payload: concatBytes(pieces) });
        pieces = [];
        seen = 0;
      }
    }
  }
  return { frames };
}

const decoderOptions = fc.record({
  role: fc.constantFrom<"client" | "server">("client", "server"),
  allowedRsv: fc.constantFrom(0, 0x40, 0x70),
  maxFrameSize: fc.constantFrom(0, 125, 126, 1000, 65_536, 64 * 1024 * 1024),
});

export const frameDecoderMutated: FuzzTarget = {
  name: "frame-decoder/mutated",
  modules: ["frame/decoder.ts"],
  property: () =>
    fc.property(decoderOptions, fc.nat(), mutationsArb(), cutsArb, (options, pick, mutations, cuts) => {
      const group = seeds(options.role === "server" ? "frames-masked" : "frames-unmasked");
      const bytes = mutateAll(group[pick % group.length] as Uint8Array, mutations, group);
      const whole = decodeAll(options, [bytes.slice()]);
      const split = decodeAll(options, chunk(bytes, cuts));
      checkSame(whole, split, "frames decoded whole and in chunks");
    }),
};

export const frameDecoderRandom: FuzzTarget = {
  name: "frame-decoder/random",
  modules: ["frame/decoder.ts"],
  property: () =>
    fc.property(decoderOptions, fc.uint8Array({ maxLength: 300 }), cutsArb, (options, bytes, cuts) => {
      const whole = decodeAll(options, [bytes.slice()]);
      const split = decodeAll(options, chunk(bytes, cuts));
      checkSame(whole, split, "frames decoded whole and in chunks");
    }),
};

const validFrame = fc.oneof(
  fc.record({
    fin: fc.boolean(),
    rsv: fc.constantFrom(0, 0x40),
    opcode: fc.constantFrom(0, 1, 2),
    payload: fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 200 }) },
      fc.integer({ min: 65_530, max: 65_540 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
    ),
  }),
  fc.record({
    fin: fc.constant(true),
    rsv: fc.constant(0),
    opcode: fc.constantFrom(8, 9, 10),
    payload: fc.uint8Array({ maxLength: 125 }),
  }),
);

export const frameRoundTrip: FuzzTarget = {
  name: "frame-decoder/round-trip",
  modules: ["frame/decoder.ts", "frame/encode.ts", "frame/mask.ts", "frame/header.ts"],
  property: () =>
    fc.property(
      fc.constantFrom<"client" | "server">("client", "server"),
      fc.array(validFrame, { minLength: 1, maxLength: 6 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      cutsArb,
      (receiver, frames, maskingKey, cuts) => {
        const wire = concatBytes(
          frames.flatMap((frame) => encodeFrame(receiver === "server" ? { ...frame, maskingKey } : frame)),
        );
        const decoded = decodeAll({ role: receiver, allowedRsv: 0x40 }, chunk(wire, cuts));
        checkSame(decoded, { frames }, "frames sent and received");
      },
    ),
};
