import { describe, expect, it } from "vitest";
import { concatBytes } from "../../test/helpers.ts";
import { FrameDecoder, type SmallFragment } from "./decoder.ts";
import { encodeFrame, type FrameToEncode } from "./encode.ts";

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

function bytesOf(frames: readonly FrameToEncode[]): Uint8Array {
  return concatBytes(frames.flatMap((frame) => encodeFrame(frame)));
}

function payload(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);
}

function fragment(): SmallFragment {
  return { opcode: -1, payloadLength: -1, source: new Uint8Array(0), start: 0, end: 0 };
}

/** Each frame as [opcode, fin, payload], read with the small path first, as `Connection` does. */
function readAll(decoder: FrameDecoder, chunks: readonly Uint8Array[]): [number, boolean, number[]][] {
  const out: [number, boolean, number[]][] = [];
  const into = fragment();
  const pieces = new Map<number, number[]>();
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (;;) {
      if (decoder.nextSmallFragment(into)) {
        out.push([into.opcode, false, [...into.source.subarray(into.start, into.end)]]);
        continue;
      }
      const piece = decoder.next();
      if (piece === undefined) break;
      // A frame spanning chunks comes in pieces: join them per frame.
      const bytes = [...(pieces.get(out.length) ?? []), ...piece.data];
      pieces.set(out.length, bytes);
      if (piece.last) {
        out.push([piece.opcode, piece.fin, bytes]);
        pieces.delete(out.length - 1);
      }
    }
  }
  return out;
}

describe("FrameDecoder.nextSmallFragment", () => {
  it("reads small fragments without FIN whole and unmasked, as views of the input chunk", () => {
    const frames: FrameToEncode[] = [];
    for (let length = 0; length <= 125; length++) {
      frames.push({
        opcode: length === 0 ? 1 : 0,
        fin: false,
        payload: payload(length, length),
        maskingKey: KEY,
      });
    }
    const input = bytesOf(frames);
    const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true });
    decoder.push(input);
    const into = fragment();
    for (let length = 0; length <= 125; length++) {
      expect(decoder.nextSmallFragment(into)).toBe(true);
      expect(into.opcode).toBe(length === 0 ? 1 : 0);
      expect(into.payloadLength).toBe(length);
      expect(into.source).toBe(input);
      expect(into.source.subarray(into.start, into.end)).toEqual(payload(length, length));
    }
    expect(decoder.nextSmallFragment(into)).toBe(false);
    expect(decoder.bufferedAmount).toBe(0);
  });

  it("reads unmasked fragments in the client role", () => {
    const decoder = new FrameDecoder({ role: "client" });
    decoder.push(bytesOf([{ opcode: 2, fin: false, payload: payload(7, 1) }]));
    const into = fragment();
    expect(decoder.nextSmallFragment(into)).toBe(true);
    expect(into.source.subarray(into.start, into.end)).toEqual(payload(7, 1));
  });

  it("declines, consuming nothing, every frame it does not take; next() then reads it or fails", () => {
    const cases: { name: string; frame: FrameToEncode; options?: object; role?: "client" | "server" }[] = [
      { name: "FIN", frame: { opcode: 0, fin: true, payload: payload(3, 0), maskingKey: KEY } },
      { name: "ping", frame: { opcode: 9, payload: payload(3, 0), maskingKey: KEY } },
      { name: "RSV1", frame: { opcode: 1, fin: false, rsv: 0x40, payload: payload(3, 0), maskingKey: KEY } },
      {
        name: "RSV1 an extension owns",
        frame: { opcode: 1, fin: false, rsv: 0x40, payload: payload(3, 0), maskingKey: KEY },
        options: { allowedRsv: 0x40 },
      },
      { name: "16-bit length", frame: { opcode: 0, fin: false, payload: payload(126, 0), maskingKey: KEY } },
      { name: "unmasked to a server", frame: { opcode: 0, fin: false, payload: payload(3, 0) } },
      {
        name: "masked to a client",
        frame: { opcode: 0, fin: false, payload: payload(3, 0), maskingKey: KEY },
        role: "client",
      },
      {
        name: "over maxFrameSize",
        frame: { opcode: 2, fin: false, payload: payload(10, 0), maskingKey: KEY },
        options: { maxFrameSize: 9 },
      },
      { name: "reserved opcode", frame: { opcode: 3, fin: false, payload: payload(3, 0), maskingKey: KEY } },
    ];
    for (const { name, frame, options, role } of cases) {
      const decoder = new FrameDecoder({ role: role ?? "server", ...options });
      const input = bytesOf([frame]);
      decoder.push(input);
      expect(decoder.nextSmallFragment(fragment()), name).toBe(false);
      expect(decoder.bufferedAmount, name).toBe(input.length);
      try {
        expect(decoder.next(), name).toBeDefined();
      } catch (error) {
        expect((error as { closeCode?: number }).closeCode, name).toBeGreaterThanOrEqual(1002);
      }
    }
  });

  it("declines a fragment that is not buffered whole, and one whose header was read by next()", () => {
    const input = bytesOf([
      { opcode: 1, fin: false, payload: payload(20, 0), maskingKey: KEY },
      { opcode: 0, fin: false, payload: payload(20, 1), maskingKey: KEY },
    ]);
    const decoder = new FrameDecoder({ role: "server" });
    decoder.push(input.slice(0, 10));
    expect(decoder.nextSmallFragment(fragment())).toBe(false);
    expect(decoder.bufferedAmount).toBe(10);
    // next() reads the header and the first payload bytes: the frame is in progress.
    expect(decoder.next()?.data).toEqual(payload(20, 0).subarray(0, 4));
    decoder.push(input.slice(10));
    expect(decoder.nextSmallFragment(fragment())).toBe(false);
    expect(decoder.next()?.last).toBe(true);
    const into = fragment();
    expect(decoder.nextSmallFragment(into)).toBe(true);
    expect(into.source.subarray(into.start, into.end)).toEqual(payload(20, 1));
  });

  it("gives the same frames as next() alone, for any split of mixed frames", () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const role = random(2) === 0 ? "server" : "client";
      const maskingKey = role === "server" ? KEY : undefined;
      const frames: FrameToEncode[] = [];
      for (let i = 0; i < 30; i++) {
        const kind = random(5);
        const length = kind === 4 ? 126 + random(300) : random(126);
        frames.push(
          kind === 3
            ? { opcode: 9, payload: payload(random(126), i), ...(maskingKey && { maskingKey }) }
            : {
                opcode: random(3),
                fin: random(3) === 0,
                payload: payload(length, i),
                ...(maskingKey && { maskingKey }),
              },
        );
      }
      const input = bytesOf(frames);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < input.length; ) {
        const size = 1 + random(200);
        chunks.push(input.slice(at, at + size));
        at += size;
      }
      const expected = readAll(new FrameDecoder({ role }), [input.slice()]);
      // next() alone, on one chunk: the small path never applies to a frame it declines.
      const alone: [number, boolean, number[]][] = [];
      const plain = new FrameDecoder({ role });
      plain.push(input.slice());
      for (let piece = plain.next(); piece !== undefined; piece = plain.next())
        alone.push([piece.opcode, piece.fin, [...piece.data]]);
      expect(expected).toEqual(alone);
      expect(readAll(new FrameDecoder({ role, gatherDataFrames: true }), chunks)).toEqual(alone);
    }
  });
});
