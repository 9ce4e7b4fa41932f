// The small-frame path of `Connection.nextEvent` (`FrameDecoder.nextSmallFrame` and
// `MessageAssembler.pushSmallFrame`): a data frame of at most 125 bytes, without RSV bits and
// whole in one input chunk, is read without a piece object. These tests pin what it delivers
// against what the general path gives for the same bytes.
import { describe, expect, it } from "vitest";
import { concatBytes, drain, hex } from "../../test/helpers.ts";
import { FrameDecoder, type SmallFrame } from "../frame/decoder.ts";
import { encodeFrame } from "../frame/encode.ts";
import { Connection } from "./connection.ts";

const KEY = hex("37fa213d");
const utf8 = (text: string) => new TextEncoder().encode(text);
const masked = (opcode: number, payload: Uint8Array, fin = true, rsv = 0) =>
  concatBytes(encodeFrame({ opcode, payload, fin, rsv, maskingKey: KEY }));
const bytes = (length: number) => new Uint8Array(length).map((_, i) => (i * 7 + 3) & 0xff);

function smallFrame(): SmallFrame {
  return { fin: false, opcode: -1, payloadLength: -1, source: new Uint8Array(0), start: 0, end: 0 };
}

describe("FrameDecoder.nextSmallFrame", () => {
  it("reads small data frames with and without FIN, unmasked in place", () => {
    const decoder = new FrameDecoder({ role: "server" });
    decoder.push(concatBytes([masked(1, utf8("ab"), false), masked(0, utf8("c")), masked(2, bytes(125))]));
    const into = smallFrame();
    const read: [boolean, number, number[]][] = [];
    while (decoder.nextSmallFrame(into))
      read.push([into.fin, into.opcode, [...into.source.subarray(into.start, into.end)]]);
    expect(read).toEqual([
      [false, 1, [...utf8("ab")]],
      [true, 0, [...utf8("c")]],
      [true, 2, [...bytes(125)]],
    ]);
    expect(decoder.bufferedAmount).toBe(0);
  });

  it("declines control frames, RSV bits, long lengths and frames not buffered whole, consuming nothing", () => {
    for (const frame of [
      masked(9, bytes(4)),
      masked(1, utf8("x"), true, 0x40),
      masked(2, bytes(126)),
      masked(2, bytes(20)).subarray(0, 10),
    ]) {
      const decoder = new FrameDecoder({ role: "server" });
      decoder.push(frame.slice());
      expect(decoder.nextSmallFrame(smallFrame())).toBe(false);
      expect(decoder.bufferedAmount).toBe(frame.length);
    }
  });
});

describe("Connection: messages in small frames", () => {
  it("delivers a one-frame binary message as a copy up to copyPayloadsUpTo, and as a view beyond", () => {
    const server = new Connection({ role: "server", copyPayloadsUpTo: 64 });
    const chunk = concatBytes([masked(2, bytes(64)), masked(2, bytes(65))]);
    server.receive(chunk);
    const [small, large] = drain(server) as { type: string; data: Uint8Array }[];
    expect(small).toEqual({ type: "binary", data: bytes(64) });
    expect(large).toEqual({ type: "binary", data: bytes(65) });
    expect(small?.data.buffer).not.toBe(chunk.buffer);
    expect(large?.data.buffer).toBe(chunk.buffer);
    // Without the hint, both are views of the input chunk, as the general path gives.
    const plain = new Connection({ role: "server" });
    const again = concatBytes([masked(2, bytes(16))]);
    plain.receive(again);
    expect((drain(plain)[0] as { data: Uint8Array }).data.buffer).toBe(again.buffer);
  });

  it("decodes one-frame text messages, and fails with 1007 on invalid UTF-8", () => {
    const server = new Connection({ role: "server", copyPayloadsUpTo: 64 });
    server.receive(concatBytes([masked(1, utf8("héllo €")), masked(1, utf8("")), masked(1, hex("c328"))]));
    expect(drain(server)).toMatchObject([
      { type: "text", data: "héllo €" },
      { type: "text", data: "" },
      { type: "failed", error: { code: "INVALID_UTF8", closeCode: 1007 } },
    ]);
  });

  it("ends a fragmented message with a small last frame, text cut inside a code point and binary", () => {
    const euro = utf8("€");
    const server = new Connection({ role: "server", copyPayloadsUpTo: 64 });
    server.receive(
      concatBytes([
        masked(1, euro.subarray(0, 1), false),
        masked(0, euro.subarray(1, 2), false),
        masked(0, euro.subarray(2)),
        masked(2, bytes(10), false),
        masked(0, bytes(5)),
      ]),
    );
    expect(drain(server)).toEqual([
      { type: "text", data: "€" },
      { type: "binary", data: concatBytes([bytes(10), bytes(5)]) },
    ]);
  });

  it("keeps the rules: a continuation with no message, a new message inside one, maxMessageSize", () => {
    const lone = new Connection({ role: "server" });
    lone.receive(masked(0, bytes(3)));
    expect(drain(lone)).toMatchObject([{ type: "failed", error: { closeCode: 1002 } }]);

    const interleaved = new Connection({ role: "server" });
    interleaved.receive(concatBytes([masked(2, bytes(3), false), masked(2, bytes(3))]));
    expect(drain(interleaved)).toMatchObject([{ type: "failed", error: { closeCode: 1002 } }]);

    const limited = new Connection({ role: "server", limits: { maxMessageSize: 10 } });
    limited.receive(concatBytes([masked(2, bytes(10)), masked(2, bytes(6), false), masked(0, bytes(5))]));
    expect(drain(limited)).toMatchObject([
      { type: "binary", data: bytes(10) },
      { type: "failed", error: { closeCode: 1009 } },
    ]);
  });

  it("serves one-frame messages without a message in progress, then every other frame as before (the assembler is made on first need)", () => {
    // Each connection starts with one-frame messages (no assembler needed), then gets what
    // needs one: fragments, a frame over 125 bytes, a message over the limit, streaming.
    const server = new Connection({ role: "server", limits: { maxMessageSize: 200 } });
    expect(server.inMessage).toBe(false);
    expect(server.heldMessageBytes).toBe(0);
    server.receive(concatBytes([masked(2, bytes(16)), masked(1, utf8("hé"))]));
    expect(drain(server)).toEqual([
      { type: "binary", data: bytes(16) },
      { type: "text", data: "hé" },
    ]);
    server.receive(masked(2, bytes(7), false));
    expect(drain(server)).toEqual([]);
    expect(server.inMessage).toBe(true);
    expect(server.heldMessageBytes).toBeGreaterThanOrEqual(7);
    server.receive(concatBytes([masked(0, bytes(3)), masked(2, bytes(150)), masked(1, utf8("ok"))]));
    expect(drain(server)).toEqual([
      { type: "binary", data: concatBytes([bytes(7), bytes(3)]) },
      { type: "binary", data: bytes(150) },
      { type: "text", data: "ok" },
    ]);
    expect(server.inMessage).toBe(false);

    // The limit and the continuation rule hold on a connection's very first frame.
    const limited = new Connection({ role: "server", limits: { maxMessageSize: 10 } });
    limited.receive(masked(2, bytes(11)));
    expect(drain(limited)).toMatchObject([
      {
        type: "failed",
        error: {
          closeCode: 1009,
          message: "Cannot assemble message: the message is at least 11 bytes, the limit is 10",
        },
      },
    ]);
    const first = new Connection({ role: "server" });
    first.receive(masked(0, bytes(3)));
    expect(drain(first)).toMatchObject([
      { type: "failed", error: { code: "UNEXPECTED_CONTINUATION", closeCode: 1002 } },
    ]);

    // Streaming connections deliver pieces from the first frame.
    const streaming = new Connection({ role: "server", streamMessages: true });
    streaming.receive(masked(2, bytes(5)));
    expect(drain(streaming)).toEqual([{ type: "binary-piece", data: bytes(5), first: true, last: true }]);
  });
});
