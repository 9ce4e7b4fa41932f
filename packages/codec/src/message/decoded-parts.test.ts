import { describe, expect, it } from "vitest";
import { ErrorCode, RemoteProtocolError } from "../errors.ts";
import type { Extension, MessageDecoder } from "../extensions/extension.ts";
import { MessageAssembler } from "./assembler.ts";
import { PART_OVERHEAD } from "./collector.ts";

/**
 * A stand-in for permessage-deflate (RSV1) whose decoder returns each piece's payload (`times`
 * over) split in `parts` parts, as a zlib engine returns its output in chunks. With `times`
 * above 1 it ignores `maxOutput`, so that the assembler's own check of the limit shows.
 */
function splitting(parts: number, times = 1): Extension {
  const decoder: MessageDecoder = {
    push(piece, _last, maxOutput) {
      const decoded = new Uint8Array(piece.length * times);
      for (let i = 0; i < times; i++) decoded.set(piece, i * piece.length);
      if (times === 1 && decoded.length > maxOutput)
        throw new RemoteProtocolError(ErrorCode.MessageTooBig, 1009, `decodes past ${maxOutput}`);
      const size = Math.ceil(decoded.length / parts);
      const out: Uint8Array[] = [];
      for (let at = 0; at < decoded.length; at += size) out.push(decoded.slice(at, at + size));
      return out;
    },
  };
  return {
    name: "test-split",
    rsvMask: 0x40,
    params: [],
    decodeMessage: () => decoder,
    encodeMessage: () => undefined,
  };
}

const piece = (opcode: number, data: Uint8Array, first: boolean, fin: boolean) => ({
  opcode,
  rsv: first ? 0x40 : 0,
  payloadLength: data.length,
  data,
  first: true,
  last: true,
  fin,
});

function assembler(parts: number, maxMessageSize = 1 << 20, times = 1): MessageAssembler {
  return new MessageAssembler({
    maxMessageSize,
    maxFragments: Number.POSITIVE_INFINITY,
    streamMessages: false,
    extensions: [splitting(parts, times)],
  });
}

describe("an extension's output in several parts", () => {
  it("makes the same binary message, the parts kept as they are until it is whole", () => {
    const a = assembler(3);
    const bytes = Uint8Array.from({ length: 3 * 8192 }, (_, i) => i & 0xff);
    expect(a.push(piece(0x2, bytes.subarray(0, 3 * 4096), true, false))).toBeUndefined();
    // Three parts of 4096 bytes each, kept (not joined into one first).
    expect(a.heldBytes).toBe(3 * (4096 + PART_OVERHEAD));
    const message = a.push(piece(0x0, bytes.subarray(3 * 4096), false, true));
    expect(message).toMatchObject({ type: "binary" });
    expect(Array.from((message as { data: Uint8Array }).data)).toEqual(Array.from(bytes));
  });

  it("decodes text split inside a character across parts", () => {
    const text = "é€😀".repeat(1000);
    const encoded = new TextEncoder().encode(text);
    for (const parts of [2, 7, 1000]) {
      const a = assembler(parts);
      expect(a.push(piece(0x1, encoded, true, true))).toEqual({ type: "text", data: text });
    }
  });

  it("counts every part against the message size limit", () => {
    // 300 + 300 bytes received, each decoding to twice as many, in 4 parts: 1200 > 1000.
    const a = assembler(4, 1000, 2);
    expect(a.push(piece(0x2, new Uint8Array(300), true, false))).toBeUndefined();
    expect(() => a.push(piece(0x0, new Uint8Array(300), false, true))).toThrow(
      /decoded message exceeds the limit of 1000/,
    );
  });
});
