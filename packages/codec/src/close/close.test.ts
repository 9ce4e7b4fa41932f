import { describe, expect, it } from "vitest";
import { hex, toHex } from "../../test/helpers.ts";
import { RemoteProtocolError } from "../errors.ts";
import { decodeClosePayload, encodeClosePayload, isValidCloseCode, truncateCloseReason } from "./close.ts";

describe("isValidCloseCode", () => {
  it("accepts exactly 1000–1003, 1007–1014 and 3000–4999", () => {
    const valid: number[] = [];
    for (let code = 0; code < 6000; code++) if (isValidCloseCode(code)) valid.push(code);
    const expected = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014];
    for (let code = 3000; code <= 4999; code++) expected.push(code);
    expect(valid).toEqual(expected);
    expect(isValidCloseCode(1000.5)).toBe(false);
  });
});

describe("encodeClosePayload", () => {
  it("encodes the code in network order followed by the UTF-8 reason", () => {
    expect(toHex(encodeClosePayload(1000, "bye"))).toBe("03e8627965");
    expect(toHex(encodeClosePayload(4999))).toBe("1387");
  });

  it("encodes no code as an empty payload", () => {
    expect(encodeClosePayload().length).toBe(0);
  });

  it("refuses codes that never go on the wire and over-long reasons", () => {
    for (const code of [1005, 1006, 1015, 1004, 999, 2000, 5000]) {
      expect(() => encodeClosePayload(code)).toThrow(RangeError);
    }
    expect(() => encodeClosePayload(1000, "a".repeat(124))).toThrow(RangeError);
    expect(() => encodeClosePayload(1000, "é".repeat(62))).toThrow(RangeError);
    expect(encodeClosePayload(1000, "a".repeat(123)).length).toBe(125);
    expect(() => encodeClosePayload(undefined, "reason")).toThrow(RangeError);
  });
});

describe("decodeClosePayload", () => {
  it("returns 1005 for an empty payload", () => {
    expect(decodeClosePayload(new Uint8Array())).toEqual({ code: 1005, reason: "" });
  });

  it("decodes the code and reason", () => {
    expect(decodeClosePayload(hex("03e8627965"))).toEqual({ code: 1000, reason: "bye" });
  });

  it("fails with 1002 for a 1-byte payload", () => {
    expect(() => decodeClosePayload(hex("03"))).toThrow(RemoteProtocolError);
    try {
      decodeClosePayload(hex("03"));
    } catch (error) {
      expect(error).toMatchObject({ code: "INVALID_CLOSE_PAYLOAD", closeCode: 1002 });
    }
  });

  it("fails with 1002 for codes that may not be sent", () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
      const payload = new Uint8Array([code >> 8, code & 0xff]);
      let caught: unknown;
      try {
        decodeClosePayload(payload);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: "INVALID_CLOSE_CODE", closeCode: 1002 });
    }
  });

  it("fails with 1007 for a reason that is not valid UTF-8", () => {
    let caught: unknown;
    try {
      decodeClosePayload(hex("03e8cebae1bdb9cf83cebcceb5eda080656469746564"));
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "INVALID_UTF8", closeCode: 1007 });
  });
});

describe("truncateCloseReason", () => {
  it("cuts to at most 123 bytes without splitting a code point", () => {
    expect(truncateCloseReason("short")).toBe("short");
    const cut = truncateCloseReason("€".repeat(50));
    expect(cut).toBe("€".repeat(41));
    expect(new TextEncoder().encode(truncateCloseReason("a".repeat(200))).length).toBe(123);
  });
});
