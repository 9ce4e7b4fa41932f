import { describe, expect, it } from "vitest";
import { concatBytes } from "../../test/helpers.ts";
import { FrameDecoder, type SmallFrame } from "./decoder.ts";
import { encodeFrame, type FrameToEncode } from "./encode.ts";

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

function bytesOf(frames: readonly FrameToEncode[]): Uint8Array {
  return concatBytes(frames.flatMap((frame) => encodeFrame(frame)));
}

function payload(length: number, seed: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);
}

function frameSlot(): SmallFrame {
  return { fin: false, opcode: -1, payloadLength: -1, source: new Uint8Array(0), start: 0, end: 0 };
}

/** `bytes` copied into a larger buffer at `at`, with known bytes around it: a chunk that is a view. */
function placed(bytes: Uint8Array, at: number): { chunk: Uint8Array; buffer: Uint8Array } {
  const buffer = new Uint8Array(at + bytes.length + 7).fill(0xa5);
  buffer.set(bytes, at);
  return { chunk: buffer.subarray(at, at + bytes.length), buffer };
}

describe("FrameDecoder.nextMessageFrame", () => {
  it("reads whole messages with a 16-bit length unmasked in place, at any alignment of chunk and frame", () => {
    for (const length of [126, 127, 128, 129, 130, 131, 200, 255, 256, 257, 1023, 1024, 1025]) {
      for (const lead of [0, 1, 2, 3]) {
        for (const at of [0, 1, 2, 3]) {
          // A small frame of `lead` bytes first moves the message's payload off alignment.
          const frames: FrameToEncode[] = [
            { opcode: 2, payload: payload(lead, 9), maskingKey: KEY },
            { opcode: length % 2 === 0 ? 2 : 1, payload: payload(length, length), maskingKey: KEY },
          ];
          const { chunk, buffer } = placed(bytesOf(frames), at);
          const decoder = new FrameDecoder({ role: "server" });
          decoder.push(chunk);
          const into = frameSlot();
          expect(decoder.nextMessageFrame(into)).toBe(true);
          expect(into.source.subarray(into.start, into.end)).toEqual(payload(lead, 9));
          expect(decoder.nextMessageFrame(into)).toBe(true);
          expect(into.fin).toBe(true);
          expect(into.opcode).toBe(length % 2 === 0 ? 2 : 1);
          expect(into.payloadLength).toBe(length);
          expect(into.source).toBe(chunk);
          const name = `${length} bytes, frame at ${lead + 6}, chunk at ${at}`;
          expect(into.end - into.start, name).toBe(length);
          expect(into.source.subarray(into.start, into.end), name).toEqual(payload(length, length));
          expect(decoder.bufferedAmount).toBe(0);
          // The bytes of the buffer around the chunk are untouched.
          expect(
            [...buffer.subarray(0, at)].every((byte) => byte === 0xa5),
            name,
          ).toBe(true);
          expect(
            [...buffer.subarray(at + chunk.length)].every((byte) => byte === 0xa5),
            name,
          ).toBe(true);
        }
      }
    }
  });

  it("reads the largest message with a 16-bit length, 65,535 bytes", () => {
    const decoder = new FrameDecoder({ role: "server" });
    decoder.push(bytesOf([{ opcode: 2, payload: payload(65_535, 1), maskingKey: KEY }]));
    const into = frameSlot();
    expect(decoder.nextMessageFrame(into)).toBe(true);
    expect(into.end - into.start).toBe(65_535);
    expect(into.source.subarray(into.start, into.end)).toEqual(payload(65_535, 1));
  });

  it("reads unmasked messages in the client role, and small frames as nextSmallFrame does", () => {
    const decoder = new FrameDecoder({ role: "client" });
    decoder.push(
      bytesOf([
        { opcode: 1, payload: payload(1000, 3) },
        { opcode: 2, payload: payload(5, 4) },
      ]),
    );
    const into = frameSlot();
    expect(decoder.nextMessageFrame(into)).toBe(true);
    expect(into.source.subarray(into.start, into.end)).toEqual(payload(1000, 3));
    expect(decoder.nextMessageFrame(into)).toBe(true);
    expect([into.fin, into.opcode, into.payloadLength]).toEqual([true, 2, 5]);
    expect(into.source.subarray(into.start, into.end)).toEqual(payload(5, 4));
  });

  it("declines, consuming nothing, every 16-bit frame that is not a whole message it may take; next() then reads it or fails", () => {
    // RFC 6455 §5.2: a 125-byte payload announced with the 16-bit form is not minimal.
    const nonMinimal = new Uint8Array([0x82, 0xfe, 0x00, 125, ...KEY, ...payload(125, 0)]);
    const cases: { name: string; input: Uint8Array; options?: object; role?: "client" | "server" }[] = [
      {
        name: "no FIN",
        input: bytesOf([{ opcode: 1, fin: false, payload: payload(200, 0), maskingKey: KEY }]),
      },
      { name: "continuation", input: bytesOf([{ opcode: 0, payload: payload(200, 0), maskingKey: KEY }]) },
      { name: "RSV1", input: bytesOf([{ opcode: 1, rsv: 0x40, payload: payload(200, 0), maskingKey: KEY }]) },
      {
        name: "RSV1 an extension owns",
        input: bytesOf([{ opcode: 1, rsv: 0x40, payload: payload(200, 0), maskingKey: KEY }]),
        options: { allowedRsv: 0x40 },
      },
      {
        name: "64-bit length",
        input: bytesOf([{ opcode: 2, payload: payload(65_536, 0), maskingKey: KEY }]),
      },
      { name: "non-minimal length", input: nonMinimal },
      { name: "unmasked to a server", input: bytesOf([{ opcode: 2, payload: payload(200, 0) }]) },
      {
        name: "masked to a client",
        input: bytesOf([{ opcode: 2, payload: payload(200, 0), maskingKey: KEY }]),
        role: "client",
      },
      {
        name: "over maxFrameSize",
        input: bytesOf([{ opcode: 2, payload: payload(200, 0), maskingKey: KEY }]),
        options: { maxFrameSize: 199 },
      },
      { name: "ping", input: bytesOf([{ opcode: 9, payload: payload(100, 0), maskingKey: KEY }]) },
    ];
    for (const { name, input, options, role } of cases) {
      const decoder = new FrameDecoder({ role: role ?? "server", ...options });
      const copy = input.slice();
      decoder.push(copy);
      expect(decoder.nextMessageFrame(frameSlot()), name).toBe(false);
      expect(decoder.bufferedAmount, name).toBe(input.length);
      expect(copy, name).toEqual(input);
      try {
        expect(decoder.next(), name).toBeDefined();
      } catch (error) {
        expect((error as { closeCode?: number }).closeCode, name).toBeGreaterThanOrEqual(1002);
      }
    }
    // The non-minimal length fails the connection (1002) once next() reads it.
    const decoder = new FrameDecoder({ role: "server" });
    decoder.push(nonMinimal.slice());
    expect(() => decoder.next()).toThrow(expect.objectContaining({ closeCode: 1002 }));
  });

  it("declines a message not buffered whole, in the first chunk, and reads it once next() has", () => {
    const input = bytesOf([{ opcode: 2, payload: payload(300, 5), maskingKey: KEY }]);
    const decoder = new FrameDecoder({ role: "server" });
    decoder.push(input.slice(0, 100));
    decoder.push(input.slice(100));
    expect(decoder.nextMessageFrame(frameSlot())).toBe(false);
    expect(decoder.bufferedAmount).toBe(input.length);
    const first = decoder.next();
    expect(first?.first).toBe(true);
    let bytes = [...(first?.data ?? [])];
    for (let piece = decoder.next(); piece !== undefined; piece = decoder.next())
      bytes = [...bytes, ...piece.data];
    expect(new Uint8Array(bytes)).toEqual(payload(300, 5));
  });
});
