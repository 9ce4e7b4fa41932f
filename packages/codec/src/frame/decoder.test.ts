import { describe, expect, it } from "vitest";
import { concatBytes, decodeFrames, hex } from "../../test/helpers.ts";
import { FRAME_EXAMPLES } from "../../test/vectors/rfc6455.ts";
import { RemoteProtocolError } from "../errors.ts";
import { FrameDecoder, type FramePiece, type SmallFrame } from "./decoder.ts";
import { encodeFrame } from "./encode.ts";

function decodeError(
  role: "client" | "server",
  bytes: string,
  options: { maxFrameSize?: number; allowedRsv?: number } = {},
) {
  const decoder = new FrameDecoder({ role, ...options });
  try {
    decodeFrames(decoder, [hex(bytes)]);
  } catch (error) {
    expect(error).toBeInstanceOf(RemoteProtocolError);
    return error as RemoteProtocolError;
  }
  throw new Error("expected a RemoteProtocolError");
}

describe("FrameDecoder", () => {
  it("decodes the RFC 6455 §5.7 single-frame unmasked text message", () => {
    const [frame] = decodeFrames(new FrameDecoder({ role: "client" }), [hex(FRAME_EXAMPLES.unmaskedText)]);
    expect(frame).toMatchObject({ fin: true, rsv: 0, opcode: 1 });
    expect(new TextDecoder().decode(frame?.payload)).toBe("Hello");
  });

  it("decodes and unmasks the RFC 6455 §5.7 single-frame masked text message", () => {
    const [frame] = decodeFrames(new FrameDecoder({ role: "server" }), [hex(FRAME_EXAMPLES.maskedText)]);
    expect(new TextDecoder().decode(frame?.payload)).toBe("Hello");
  });

  it("decodes the RFC 6455 §5.7 fragmented text message as two frames", () => {
    const frames = decodeFrames(new FrameDecoder({ role: "client" }), FRAME_EXAMPLES.fragmentedText.map(hex));
    expect(frames.map((f) => [f.fin, f.opcode, new TextDecoder().decode(f.payload)])).toEqual([
      [false, 1, "Hel"],
      [true, 0, "lo"],
    ]);
  });

  it("decodes the RFC 6455 §5.7 ping and masked pong", () => {
    const [ping] = decodeFrames(new FrameDecoder({ role: "client" }), [hex(FRAME_EXAMPLES.unmaskedPing)]);
    const [pong] = decodeFrames(new FrameDecoder({ role: "server" }), [hex(FRAME_EXAMPLES.maskedPong)]);
    expect(ping?.opcode).toBe(0x9);
    expect(pong?.opcode).toBe(0xa);
    expect(pong?.payload).toEqual(ping?.payload);
  });

  it("decodes the RFC 6455 §5.7 256-byte and 64 KiB binary frames", () => {
    const small = new Uint8Array(256).fill(7);
    const big = new Uint8Array(65536).fill(9);
    const frames = decodeFrames(new FrameDecoder({ role: "client" }), [
      hex(FRAME_EXAMPLES.binary256Header),
      small,
      hex(FRAME_EXAMPLES.binary64KiBHeader),
      big,
    ]);
    expect(frames.map((f) => f.payload.length)).toEqual([256, 65536]);
    expect(frames[1]?.payload.every((b) => b === 9)).toBe(true);
  });

  it("delivers a data frame that spans chunks as pieces without buffering it whole", () => {
    const decoder = new FrameDecoder({ role: "client" });
    decoder.push(hex("827e0100"));
    decoder.push(new Uint8Array(100));
    const piece = decoder.next();
    expect(piece).toMatchObject({ first: true, last: false, payloadLength: 256 });
    expect(piece?.data.length).toBe(100);
    expect(decoder.next()).toBeUndefined();
    decoder.push(new Uint8Array(156));
    expect(decoder.next()).toMatchObject({ first: false, last: true });
  });

  describe("gatherDataFrames", () => {
    const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    function maskedFrame(payload: Uint8Array, rsv = 0): Uint8Array {
      const parts = encodeFrame({ opcode: 2, rsv, payload, maskingKey: key });
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
      }
      return out;
    }
    const payload = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);

    it("announces a frame spanning chunks with an empty first piece, then delivers it whole and unmasked", () => {
      const frame = maskedFrame(payload);
      for (const cut of [8, 14, 15, 1000, 65536, frame.length - 1]) {
        const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true });
        decoder.push(frame.slice(0, cut));
        const announced = decoder.next();
        if (cut >= 14) {
          expect(announced).toMatchObject({ first: true, last: false, payloadLength: payload.length });
          expect(announced?.data.length).toBe(0);
        } else {
          expect(announced).toBeUndefined();
        }
        expect(decoder.next()).toBeUndefined();
        decoder.push(frame.slice(cut));
        const whole = decoder.next();
        expect(whole).toMatchObject({ first: cut < 14, last: true, fin: true, opcode: 2 });
        expect(whole?.data).toEqual(payload);
        expect(decoder.next()).toBeUndefined();
        expect(decoder.bufferedAmount).toBe(0);
      }
    });

    it("gathers a frame from many small chunks, and leaves a frame within one chunk as a view", () => {
      const frames = new Uint8Array([...maskedFrame(payload), ...maskedFrame(payload.subarray(0, 300))]);
      const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true });
      const pieces = [];
      for (let offset = 0; offset < 70_014; offset += 4093) {
        decoder.push(frames.slice(offset, Math.min(70_014, offset + 4093)));
        for (let piece = decoder.next(); piece !== undefined; piece = decoder.next()) pieces.push(piece);
      }
      const rest = frames.slice(70_014);
      decoder.push(rest);
      const small = decoder.next();
      expect(pieces.map((piece) => piece.data.length)).toEqual([0, payload.length]);
      expect(pieces[1]?.data).toEqual(payload);
      expect(small?.data).toEqual(payload.subarray(0, 300));
      expect(small?.data.buffer).toBe(rest.buffer);
    });

    it("leaves text frames and continuations in pieces, so that invalid UTF-8 fails fast", () => {
      for (const opcode of [1, 0]) {
        const parts = encodeFrame({ opcode, fin: opcode === 1, payload, maskingKey: key });
        const frame = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let offset = 0;
        for (const part of parts) {
          frame.set(part, offset);
          offset += part.length;
        }
        const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true });
        decoder.push(frame.slice(0, 1000));
        expect(decoder.next()?.data).toEqual(payload.subarray(0, 1000 - 14));
      }
    });

    it("gathers into the array `allocate` makes, overwriting every byte it held, masked or not", () => {
      const sizes: number[] = [];
      // Arrays full of stale bytes, as an allocator that skips zero-filling may hand out.
      const allocate = (size: number): Uint8Array => {
        sizes.push(size);
        return new Uint8Array(size).fill(0xa5);
      };
      for (const role of ["server", "client"] as const) {
        const parts = encodeFrame(
          role === "server" ? { opcode: 2, payload, maskingKey: key } : { opcode: 2, payload },
        );
        const frame = concatBytes(parts);
        const decoder = new FrameDecoder({ role, gatherDataFrames: true, allocate });
        const pieces = [];
        for (let offset = 0; offset < frame.length; offset += 65536) {
          decoder.push(frame.slice(offset, offset + 65536));
          for (let piece = decoder.next(); piece !== undefined; piece = decoder.next()) pieces.push(piece);
        }
        expect(pieces.map((piece) => piece.data.length)).toEqual([0, payload.length]);
        expect(pieces[1]?.data).toEqual(payload);
      }
      // One array per gathered frame; a frame within one chunk stays a view (no allocation).
      expect(sizes).toEqual([payload.length, payload.length]);
    });

    it("leaves a frame with RSV bits (an extension's) in pieces as they arrive", () => {
      const frame = maskedFrame(payload, 0x40);
      const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true, allowedRsv: 0x40 });
      decoder.push(frame.slice(0, 1000));
      expect(decoder.next()?.data.length).toBe(1000 - 14);
    });
  });

  describe("releaseInput", () => {
    const maskingKey = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    const payloadOf = (size: number, seed: number) =>
      Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);
    const frameOf = (opcode: number, payload: Uint8Array, fin = true) =>
      concatBytes(encodeFrame({ opcode, fin, payload, maskingKey }));
    /** Frames of every kind a server reads: large binary ones (gathered), small, text, fragments, a ping. */
    const large = [65_536, 70_000, 65_536, 200_000, 65_536].map((size, i) => frameOf(2, payloadOf(size, i)));
    const mixed = concatBytes([
      ...large.slice(0, 2),
      frameOf(2, payloadOf(10, 7)),
      frameOf(1, payloadOf(300, 8)),
      frameOf(9, payloadOf(5, 9)),
      frameOf(2, payloadOf(5000, 10), false),
      frameOf(0, payloadOf(90_000, 11)),
      ...large.slice(2),
    ]);

    const sameBytes = (a: Uint8Array, b: Uint8Array) =>
      a.length === b.length && a.every((byte, i) => byte === b[i]);
    /**
     * Decodes `stream` read `step` bytes at a time into one buffer, reused whenever the
     * decoder releases it (scribbled over first, as a socket read would); returns each frame's
     * payload (its pieces joined at the end, after every reuse) and how many reads were reused.
     */
    function decodeThroughOneBuffer(stream: Uint8Array, step: number) {
      const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true });
      const pieces: FramePiece[] = [];
      let buffer = new Uint8Array(step);
      let reused = 0;
      for (let at = 0; at < stream.length; at += step) {
        const bytes = stream.subarray(at, at + step);
        buffer.set(bytes);
        decoder.push(buffer.subarray(0, bytes.length));
        for (let piece = decoder.next(); piece !== undefined; piece = decoder.next()) pieces.push(piece);
        if (decoder.releaseInput()) {
          reused++;
          buffer.fill(0xee);
        } else {
          buffer = new Uint8Array(step);
        }
      }
      expect(decoder.bufferedAmount).toBe(0);
      const frames: Uint8Array[] = [];
      let current: Uint8Array[] = [];
      for (const piece of pieces) {
        current.push(piece.data);
        if (piece.last) {
          frames.push(concatBytes(current));
          current = [];
        }
      }
      return { frames, reused };
    }

    it("copies what it keeps of a released chunk: the same payloads as from fresh chunks, at every read size", () => {
      const expected = decodeFrames(new FrameDecoder({ role: "server" }), [mixed.slice()]).map(
        (f) => f.payload,
      );
      for (const step of [1000, 4093, 16_384, 65_536, 70_013, 131_072]) {
        const { frames } = decodeThroughOneBuffer(mixed, step);
        expect(frames.length).toBe(expected.length);
        // Compared byte by byte in a loop: `toEqual` on a few hundred KiB is slow.
        const differ = frames.findIndex((frame, i) => !sameBytes(frame, expected[i] as Uint8Array));
        expect(differ, `read size ${step}: frame ${differ} differs`).toBe(-1);
      }
    });

    it("releases every read of a stream of large binary frames, and none that a view of went out", () => {
      const reads = Math.ceil(concatBytes(large).length / 65_536);
      expect(decodeThroughOneBuffer(concatBytes(large), 65_536).reused).toBe(reads);
      const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true });
      decoder.push(frameOf(2, payloadOf(10, 1)));
      expect(decoder.next()?.data.length).toBe(10);
      expect(decoder.releaseInput()).toBe(false);
      const text = frameOf(1, payloadOf(10, 1));
      decoder.push(text.subarray(0, 8));
      expect(decoder.next()?.data.length).toBe(2);
      expect(decoder.releaseInput()).toBe(false);
      decoder.push(text.subarray(8));
      expect(decoder.next()?.data.length).toBe(8);
      expect(decoder.releaseInput()).toBe(false);
      const small: SmallFrame = {
        fin: false,
        opcode: 0,
        payloadLength: 0,
        source: new Uint8Array(0),
        start: 0,
        end: 0,
      };
      decoder.push(frameOf(2, payloadOf(10, 1)));
      expect(decoder.nextSmallFrame(small)).toBe(true);
      expect(decoder.releaseInput()).toBe(false);
      decoder.push(frameOf(10, payloadOf(3, 1)));
      expect(decoder.next()?.opcode).toBe(10);
      expect(decoder.releaseInput()).toBe(false);
    });

    it("starts a gathered frame's payload buffer once a quarter has come, and counts that buffer whole as buffered", () => {
      const frame = frameOf(2, payloadOf(70_000, 3));
      const decoder = new FrameDecoder({ role: "server", gatherDataFrames: true });
      decoder.push(frame.slice(0, 14 + 1000));
      expect(decoder.next()?.data.length).toBe(0);
      expect(decoder.releaseInput()).toBe(true);
      expect(decoder.bufferedAmount).toBe(1000);
      const chunk = frame.slice(14 + 1000, 14 + 30_000);
      decoder.push(chunk);
      expect(decoder.next()).toBeUndefined();
      expect(decoder.releaseInput()).toBe(true);
      chunk.fill(0);
      // The payload buffer is held whole.
      expect(decoder.bufferedAmount).toBe(70_000);
      decoder.push(frame.slice(14 + 30_000));
      expect(decoder.next()?.data).toEqual(payloadOf(70_000, 3));
      expect(decoder.bufferedAmount).toBe(0);
    });
  });

  describe("copyPayloadsUpTo", () => {
    /** Masked frames of every size from 0 to 80 bytes, with a key that is not symmetric. */
    const sizes = Array.from({ length: 81 }, (_, i) => i);
    const maskingKey = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    const payloadOf = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
    const stream = concatBytes(
      sizes.map((size) => encodeFrame({ opcode: 2, payload: payloadOf(size), maskingKey })[0] as Uint8Array),
    );

    it("decodes the same payloads as views do, for every split of masked frames", () => {
      for (const step of [1, 3, 7, 64, stream.length]) {
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < stream.length; at += step) chunks.push(stream.subarray(at, at + step));
        const copied = decodeFrames(new FrameDecoder({ role: "server", copyPayloadsUpTo: 32 }), chunks);
        expect(copied.map((frame) => frame.payload)).toEqual(sizes.map(payloadOf));
      }
    });

    it("delivers short payloads as fresh arrays and leaves the received chunk as it was", () => {
      const chunk = stream.slice();
      const decoder = new FrameDecoder({ role: "server", copyPayloadsUpTo: 32 });
      decoder.push(chunk);
      const pieces = sizes.map(() => decoder.next()?.data as Uint8Array);
      for (const [size, data] of pieces.entries()) {
        expect(data.buffer === chunk.buffer).toBe(size > 32 && size > 0);
      }
      // The copied payloads were unmasked into their own arrays, not in the chunk.
      const first = encodeFrame({ opcode: 2, payload: payloadOf(16), maskingKey })[0] as Uint8Array;
      const at = sizes.slice(0, 16).reduce((sum, size) => sum + size + 6, 0);
      expect(chunk.subarray(at, at + first.length)).toEqual(first);
    });

    it("copies unmasked payloads as they are (client role)", () => {
      const decoder = new FrameDecoder({ role: "client", copyPayloadsUpTo: 125 });
      const frames = decodeFrames(decoder, [hex(FRAME_EXAMPLES.unmaskedText)]);
      expect(new TextDecoder().decode(frames[0]?.payload)).toBe("Hello");
    });
  });

  it("decodes an empty frame as one empty piece", () => {
    const decoder = new FrameDecoder({ role: "client" });
    decoder.push(hex("8200"));
    expect(decoder.next()).toMatchObject({ opcode: 2, first: true, last: true, payloadLength: 0 });
    expect(decoder.next()).toBeUndefined();
  });

  it("rejects RSV bits without an extension with 1002", () => {
    for (const byte of ["c1", "a1", "91"]) {
      expect(decodeError("client", `${byte}00`)).toMatchObject({ code: "RESERVED_BITS", closeCode: 1002 });
    }
  });

  it("accepts RSV bits an extension owns", () => {
    const frames = decodeFrames(new FrameDecoder({ role: "client", allowedRsv: 0x40 }), [hex("c100")]);
    expect(frames[0]?.rsv).toBe(0x40);
  });

  it("rejects reserved opcodes with 1002", () => {
    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      const error = decodeError("client", `8${opcode.toString(16)}00`);
      expect(error).toMatchObject({ code: "INVALID_OPCODE", closeCode: 1002 });
    }
  });

  it("rejects a fragmented control frame with 1002", () => {
    expect(decodeError("client", "0900")).toMatchObject({
      code: "FRAGMENTED_CONTROL_FRAME",
      closeCode: 1002,
    });
  });

  it("rejects a control frame longer than 125 bytes before reading its payload", () => {
    expect(decodeError("client", "897e007e")).toMatchObject({
      code: "CONTROL_FRAME_TOO_LONG",
      closeCode: 1002,
    });
  });

  it("rejects an unmasked frame in server mode and a masked frame in client mode", () => {
    expect(decodeError("server", "8100")).toMatchObject({ code: "MISSING_MASK", closeCode: 1002 });
    expect(decodeError("client", "818000000000")).toMatchObject({ code: "UNEXPECTED_MASK", closeCode: 1002 });
  });

  it("rejects a 64-bit length with the most significant bit set", () => {
    expect(decodeError("client", "827f8000000000000000")).toMatchObject({
      code: "INVALID_LENGTH",
      closeCode: 1002,
    });
  });

  it("rejects non-minimal length encodings", () => {
    expect(decodeError("client", "827e007d")).toMatchObject({ code: "NON_MINIMAL_LENGTH", closeCode: 1002 });
    expect(decodeError("client", "827f000000000000ffff")).toMatchObject({ code: "NON_MINIMAL_LENGTH" });
  });

  it("rejects a frame over maxFrameSize with 1009 as soon as the length is read", () => {
    expect(decodeError("client", "827e0100", { maxFrameSize: 255 })).toMatchObject({
      code: "FRAME_TOO_BIG",
      closeCode: 1009,
    });
    expect(decodeError("client", "827f7fffffffffffffff")).toMatchObject({
      code: "FRAME_TOO_BIG",
      closeCode: 1009,
    });
  });

  it("stays failed and throws the same error again", () => {
    const decoder = new FrameDecoder({ role: "client" });
    decoder.push(hex("8300"));
    let first: unknown;
    try {
      decoder.next();
    } catch (error) {
      first = error;
    }
    expect(decoder.state).toBe("failed");
    decoder.push(hex("8100"));
    expect(() => decoder.next()).toThrow(first as Error);
  });
});
