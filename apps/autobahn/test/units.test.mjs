// Unit tests of the runner's own building blocks.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allCases, caseFilter, compareIds, selectCases } from "../src/cases/index.mjs";
import { acceptedDeflate, parseExtensions } from "../src/deflate.mjs";
import {
  closePayload,
  encodeFrame,
  FrameParser,
  isValidCloseCode,
  OPCODE,
  parseClosePayload,
} from "../src/frame.mjs";
import { computeAccept } from "../src/handshake.mjs";
import { summaryMarkdown } from "../src/report.mjs";
import { isValidUtf8, utf8ErrorIndex } from "../src/utf8.mjs";

const strictDecoder = new TextDecoder("utf-8", { fatal: true });
/** @param {Uint8Array} b */
function whatwgValid(b) {
  try {
    strictDecoder.decode(b);
    return true;
  } catch {
    return false;
  }
}

describe("UTF-8 validator", () => {
  it("agrees with a fatal TextDecoder on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => isValidUtf8(b) === whatwgValid(b)),
      { numRuns: 5000 },
    );
  });
  it("agrees with a fatal TextDecoder on mutated valid text", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (s, at, byte) => {
          const b = Buffer.from(s);
          if (b.length > 0) b[at % b.length] = byte;
          return isValidUtf8(b) === whatwgValid(b);
        },
      ),
      { numRuns: 5000 },
    );
  });
  it("reports a truncated tail only when the message is complete", () => {
    const prefix = Buffer.from("cebae1bd", "hex");
    expect(utf8ErrorIndex(prefix, false)).toBe(-1);
    expect(utf8ErrorIndex(prefix, true)).toBe(2);
    expect(utf8ErrorIndex(Buffer.from("f4908080", "hex"), false)).toBe(1);
  });
});

describe("frames", () => {
  it("parse back what they encode, whatever the chunking (RFC 6455 §5.2)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            opcode: fc.constantFrom(0, 1, 2, 8, 9, 10),
            fin: fc.boolean(),
            payload: fc.uint8Array({ maxLength: 300 }),
          }),
          { maxLength: 5 },
        ),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (frames, mask, cuts) => {
          const bytes = Buffer.concat(
            frames.map((f) => encodeFrame({ ...f, payload: Buffer.from(f.payload), mask })),
          );
          const parser = new FrameParser({ expectMasked: mask });
          /** @type {import('../src/frame.mjs').ParsedFrame[]} */
          const out = [];
          let at = 0;
          let i = 0;
          while (at < bytes.length) {
            const n = cuts[i++ % cuts.length] ?? 1;
            out.push(...parser.push(bytes.subarray(at, at + n)));
            at += n;
          }
          expect(out.map((f) => [f.opcode, f.fin, f.masked, Buffer.from(f.payload).toString("hex")])).toEqual(
            frames.map((f) => [f.opcode, f.fin, mask, Buffer.from(f.payload).toString("hex")]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
  it("records rule breaks instead of throwing", () => {
    const parser = new FrameParser({ expectMasked: false });
    parser.push(encodeFrame({ opcode: OPCODE.TEXT, payload: Buffer.from("x"), rsv: 4, mask: true }));
    expect(parser.violations.join("\n")).toMatch(/RSV/);
    expect(parser.violations.join("\n")).toMatch(/masked/);
    const fromClient = new FrameParser({ expectMasked: true });
    fromClient.push(encodeFrame({ opcode: OPCODE.TEXT, payload: Buffer.from("x"), mask: false }));
    expect(fromClient.violations.join("\n")).toMatch(/client sent an unmasked frame/);
    const p2 = new FrameParser({ expectMasked: false });
    p2.push(encodeFrame({ opcode: 3 }));
    expect(p2.violations[0]).toMatch(/reserved opcode/);
  });
  it("uses the 16- and 64-bit length forms at 126 and 65536 bytes", () => {
    expect(encodeFrame({ opcode: 1, payload: Buffer.alloc(125) })[1]).toBe(125);
    expect(encodeFrame({ opcode: 1, payload: Buffer.alloc(126) })[1]).toBe(126);
    expect(encodeFrame({ opcode: 1, payload: Buffer.alloc(65536) })[1]).toBe(127);
  });
  it("knows the close codes (RFC 6455 §7.4, IANA registry)", () => {
    for (const c of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
      expect(isValidCloseCode(c)).toBe(true);
    for (const c of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
      expect(isValidCloseCode(c)).toBe(false);
    expect(parseClosePayload(closePayload(1000, "bye"))).toMatchObject({ code: 1000, problems: [] });
    expect(parseClosePayload(Buffer.from([3])).problems[0]).toMatch(/1-byte/);
  });
});

describe("handshake and extensions", () => {
  it("computes the RFC 6455 §1.3 example accept value", () => {
    expect(computeAccept("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
  it("parses permessage-deflate responses and rejects bad ones (RFC 7692 §7.1)", () => {
    expect(
      parseExtensions("permessage-deflate; client_max_window_bits=10, x-foo")[0]?.params.get(
        "client_max_window_bits",
      ),
    ).toBe("10");
    expect(acceptedDeflate(undefined, "permessage-deflate")).toBeNull();
    expect(
      acceptedDeflate("permessage-deflate; server_no_context_takeover", "permessage-deflate"),
    ).toMatchObject({ serverNoContextTakeover: true });
    expect(acceptedDeflate("permessage-deflate; client_max_window_bits=10", "permessage-deflate")).toMatch(
      /did not offer/,
    );
    expect(acceptedDeflate("permessage-deflate; server_max_window_bits=7", "permessage-deflate")).toMatch(
      /invalid/,
    );
  });
});

describe("case catalogue", () => {
  const cases = allCases();
  it("has unique ids in Autobahn order", () => {
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(compareIds("1.1.2", "1.1.10")).toBeLessThan(0);
    expect(compareIds("10.1.1", "9.8.6")).toBeGreaterThan(0);
    expect(compareIds("13.7.1", "H.1.1")).toBeLessThan(0);
  });
  it("covers every family", () => {
    /** @type {Record<string, number>} */
    const perFamily = {};
    for (const c of cases) {
      const f = c.id.split(".")[0] ?? "";
      perFamily[f] = (perFamily[f] ?? 0) + 1;
    }
    expect(Object.keys(perFamily).sort()).toEqual([
      "1",
      "10",
      "12",
      "13",
      "2",
      "3",
      "4",
      "5",
      "6",
      "7",
      "9",
      "H",
      "R",
    ]);
    expect(perFamily["1"]).toBe(16);
    expect(perFamily["2"]).toBe(11);
    expect(perFamily["5"]).toBe(20);
  });
  it("6.x payload validity matches a fatal TextDecoder (descriptions say valid/invalid)", () => {
    for (const c of cases.filter((x) => /^6\.(5|6|7|8|9|1\d|2\d)\./.test(x.id))) {
      const hex = /0x([0-9a-f]+)/.exec(c.description)?.[1];
      if (hex === undefined) continue;
      expect(c.description.includes("; valid"), c.id).toBe(whatwgValid(Buffer.from(hex, "hex")));
    }
  });
  it("filters with --cases globs", () => {
    const f = caseFilter("1.*,6.4.*,7.9.1");
    expect(f("1.1.1")).toBe(true);
    expect(f("10.1.1")).toBe(false);
    expect(f("6.4.3")).toBe(true);
    expect(f("7.9.10")).toBe(false);
    expect(selectCases({ mode: "client", deflate: true }).some((c) => c.id.startsWith("H."))).toBe(false);
    expect(selectCases({ mode: "server", deflate: false }).some((c) => c.id.startsWith("12."))).toBe(false);
  });
  it("renders an empty summary", () => {
    expect(summaryMarkdown([])).toMatch(/No runs recorded/);
  });
});
