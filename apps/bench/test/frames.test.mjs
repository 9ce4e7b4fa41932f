// The load generator's frame reader must count the same messages however the bytes are split.

import { describe, expect, it } from "vitest";
import { FrameReader, maskedFrame, OP_BINARY, OP_CONTINUATION, OP_PING, OP_TEXT } from "../src/frames.mjs";

/**
 * An unmasked server frame.
 * @param {number} opcode
 * @param {number} size
 * @param {boolean} [fin]
 */
function serverFrame(opcode, size, fin = true) {
  const head = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const f = Buffer.alloc(head + size, 0x61);
  f[0] = (fin ? 0x80 : 0) | opcode;
  if (size < 126) f[1] = size;
  else if (size < 65536) {
    f[1] = 126;
    f.writeUInt16BE(size, 2);
  } else {
    f[1] = 127;
    f.writeUInt32BE(0, 2);
    f.writeUInt32BE(size, 6);
  }
  return f;
}

describe("FrameReader", () => {
  const stream = Buffer.concat([
    serverFrame(OP_BINARY, 16),
    serverFrame(OP_TEXT, 0),
    serverFrame(OP_BINARY, 125),
    serverFrame(OP_TEXT, 126),
    serverFrame(OP_PING, 3),
    serverFrame(OP_BINARY, 65535),
    serverFrame(OP_BINARY, 70_000),
    serverFrame(OP_TEXT, 10, false),
    serverFrame(OP_PING, 0),
    serverFrame(OP_CONTINUATION, 10, false),
    serverFrame(OP_CONTINUATION, 5, true),
    maskedFrame(OP_BINARY, Buffer.alloc(300)), // what tcp-ceiling echoes
  ]);

  for (const chunk of [1, 2, 3, 7, 13, 100, 4096, stream.length]) {
    it(`counts 8 messages and 2 pings with ${chunk}-byte chunks`, () => {
      let pings = 0;
      const reader = new FrameReader({ onPing: () => pings++ });
      let done = 0;
      for (let i = 0; i < stream.length; i += chunk) done += reader.push(stream.subarray(i, i + chunk));
      expect(done).toBe(8);
      expect(reader.messages).toBe(8);
      expect(pings).toBe(2);
    });
  }

  it("flags echoes of the wrong length", () => {
    const reader = new FrameReader();
    reader.expectedLength = 16;
    reader.push(Buffer.concat([serverFrame(OP_BINARY, 16), serverFrame(OP_BINARY, 15)]));
    expect(reader.mismatches).toBe(1);
  });

  it("does not count messages under minLength (a fan-out warm-up), fragmented ones by their total", () => {
    const reader = new FrameReader();
    reader.minLength = 16;
    for (let i = 0; i < stream.length; i += 5) reader.push(stream.subarray(i, i + 5));
    // The empty one is short; 16 bytes and the fragmented one (10 + 10 + 5) are not.
    expect(reader.messages).toBe(7);
    expect(reader.shortMessages).toBe(1);
  });
});
