import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { ExtensionOffer } from "../extensions/extension.ts";
import {
  checkExtensions,
  formatExtensions,
  formatProtocols,
  hasToken,
  isToken,
  parseExtensions,
  parseProtocols,
  scanExtensions,
  validateProtocols,
} from "./header-tokens.ts";

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".split("");
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });

function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("header-tokens", () => {
  describe("isToken", () => {
    it("isToken accepts tchar strings and rejects separators, spaces and the empty string", () => {
      expect(isToken("permessage-deflate")).toBe(true);
      expect(isToken("!#$%&'*+-.^_`|~")).toBe(true);
      for (const bad of ["", "a b", "a,b", "a;b", 'a"', "a=b", "a/b", "(a)", "a\u00e9", "a\t"]) {
        expect(isToken(bad)).toBe(false);
      }
    });
  });

  describe("hasToken", () => {
    it("hasToken finds a token case-insensitively in a comma-separated list", () => {
      expect(hasToken("Upgrade", "upgrade")).toBe(true);
      expect(hasToken("keep-alive, Upgrade", "upgrade")).toBe(true);
      expect(hasToken("keep-alive,UPGRADE", "upgrade")).toBe(true);
      expect(hasToken(" \tupgrade\t ,x", "Upgrade")).toBe(true);
      expect(hasToken("WebSocket", "websocket")).toBe(true);
    });

    it("hasToken does not match substrings or missing values", () => {
      expect(hasToken("upgraded", "upgrade")).toBe(false);
      expect(hasToken("keep-alive", "upgrade")).toBe(false);
      expect(hasToken("up grade", "upgrade")).toBe(false);
      expect(hasToken("", "upgrade")).toBe(false);
      expect(hasToken(undefined, "upgrade")).toBe(false);
    });
  });

  describe("Sec-WebSocket-Protocol", () => {
    it("parseProtocols splits, trims and ignores empty elements", () => {
      expect(parseProtocols("chat, superchat")).toEqual(["chat", "superchat"]);
      expect(parseProtocols(" chat ,, superchat ,")).toEqual(["chat", "superchat"]);
      expect(parseProtocols("")).toEqual([]);
    });

    it("parseProtocols rejects non-tokens with BAD_SUBPROTOCOL and status 400", () => {
      const error = errorOf(() => parseProtocols("chat, super chat"));
      expect(error).toBeInstanceOf(HandshakeError);
      expect(error).toMatchObject({ code: ErrorCode.BadSubprotocol, status: 400 });
    });

    it("parseProtocols rejects duplicates but treats names as case-sensitive", () => {
      expect(() => parseProtocols("chat, chat")).toThrow(HandshakeError);
      expect(parseProtocols("chat, Chat")).toEqual(["chat", "Chat"]);
    });

    it("parseProtocols names the element that is not a token, trimmed, and finds a duplicate anywhere", () => {
      const message = (value: string) => (errorOf(() => parseProtocols(value)) as Error).message;
      expect(message("a, \tb c\t , d")).toBe('Cannot parse Sec-WebSocket-Protocol: "b c" is not a token');
      expect(message("a,@")).toBe('Cannot parse Sec-WebSocket-Protocol: "@" is not a token');
      expect(message("a, b, c, b, @")).toBe('Cannot parse Sec-WebSocket-Protocol: "b" is offered twice');
      // A list of thousands of elements, most of them empty (what a hostile head holds).
      expect(parseProtocols(`${", ".repeat(6000)}x`)).toEqual(["x"]);
      const many = Array.from({ length: 2000 }, (_, i) => `p${i}`);
      expect(parseProtocols(many.join(","))).toEqual(many);
      expect(message(`${many.join(",")}, p1999`)).toBe(
        'Cannot parse Sec-WebSocket-Protocol: "p1999" is offered twice',
      );
      // A long element is quoted in part.
      expect(message(`a${" ".repeat(12_000)}!`)).toBe(
        `Cannot parse Sec-WebSocket-Protocol: "a${" ".repeat(63)}"… (12002 characters) is not a token`,
      );
    });

    it("parseProtocols carries the status it is given", () => {
      expect(errorOf(() => parseProtocols("a b", 101))).toMatchObject({ status: 101 });
    });

    it("validateProtocols throws TypeError for non-tokens and duplicates", () => {
      expect(validateProtocols(["chat", "superchat"])).toBeUndefined();
      expect(() => validateProtocols([""])).toThrow(TypeError);
      expect(() => validateProtocols(["a,b"])).toThrow(TypeError);
      expect(() => validateProtocols(["chat", "chat"])).toThrow(TypeError);
      // WHATWG WebSockets §3.1: the constructor compares subprotocols ASCII case-insensitively.
      expect(() => validateProtocols(["chat", "Chat"])).toThrow(TypeError);
    });

    it("formatProtocols joins with a comma and a space", () => {
      expect(formatProtocols(["chat", "superchat"])).toBe("chat, superchat");
      expect(formatProtocols([])).toBe("");
    });
  });

  describe("Sec-WebSocket-Extensions", () => {
    it("parseExtensions parses several offers with and without parameters", () => {
      expect(
        parseExtensions("permessage-deflate; client_max_window_bits, permessage-deflate, x-foo"),
      ).toEqual([
        { name: "permessage-deflate", params: [{ name: "client_max_window_bits", value: null }] },
        { name: "permessage-deflate", params: [] },
        { name: "x-foo", params: [] },
      ]);
    });

    it("parseExtensions parses token and quoted-string values", () => {
      expect(
        parseExtensions('permessage-deflate; server_max_window_bits=10; client_max_window_bits="15"'),
      ).toEqual([
        {
          name: "permessage-deflate",
          params: [
            { name: "server_max_window_bits", value: "10" },
            { name: "client_max_window_bits", value: "15" },
          ],
        },
      ]);
    });

    it("parseExtensions unescapes quoted-pairs", () => {
      expect(parseExtensions('x; a="\\1\\0"')).toEqual([{ name: "x", params: [{ name: "a", value: "10" }] }]);
    });

    it("parseExtensions allows whitespace around ;, , and =", () => {
      expect(parseExtensions(' a \t; b = 1 ;c= "2" ,\td ; e ')).toEqual([
        {
          name: "a",
          params: [
            { name: "b", value: "1" },
            { name: "c", value: "2" },
          ],
        },
        { name: "d", params: [{ name: "e", value: null }] },
      ]);
    });

    it("parseExtensions ignores empty list elements and gives [] for an empty value", () => {
      expect(parseExtensions(", a ,, b,")).toEqual([
        { name: "a", params: [] },
        { name: "b", params: [] },
      ]);
      expect(parseExtensions("")).toEqual([]);
      expect(parseExtensions("  ")).toEqual([]);
    });

    it("parseExtensions keeps duplicate parameters for the extension to judge", () => {
      expect(parseExtensions("x; a; a=1")).toEqual([
        {
          name: "x",
          params: [
            { name: "a", value: null },
            { name: "a", value: "1" },
          ],
        },
      ]);
    });

    it("parseExtensions rejects malformed values with BAD_EXTENSIONS and status 400", () => {
      const bad = [
        ";",
        "a;",
        "a; ;b",
        "a; b=",
        "a; =1",
        "a b",
        "a; b c",
        "a; b=1 2",
        'a; b="1',
        'a; b="1 2"',
        'a; b=""',
        'a; b="\\',
        'a; b="x"y',
        "a; b=@",
        "a=1",
        "a/b",
        "a; b=\u00e9",
        'a; b="\u0001"',
      ];
      for (const value of bad) {
        const error = errorOf(() => parseExtensions(value));
        const outcome = error instanceof HandshakeError ? { code: error.code, status: error.status } : error;
        expect({ value, outcome }).toEqual({
          value,
          outcome: { code: ErrorCode.BadExtensions, status: 400 },
        });
      }
    });

    it("parseExtensions carries the status it is given", () => {
      expect(errorOf(() => parseExtensions("a b", 101))).toMatchObject({ status: 101 });
    });

    it("parseExtensions takes linear time on adversarial input", () => {
      const inputs = [
        `a${"; b".repeat(50_000)} c`,
        `a; b="${"\\a".repeat(50_000)}`,
        `${" ,".repeat(50_000)}a b`,
        `a${" ".repeat(100_000)}b`,
      ];
      const start = Date.now();
      for (const input of inputs) expect(() => parseExtensions(input)).toThrow(HandshakeError);
      expect(Date.now() - start < 1000).toBe(true);
    });

    it("scanExtensions builds only the offers named, with the grammar of the whole value checked", () => {
      const value = 'a; x=1, b, permessage-deflate; p="q", a; y';
      expect(scanExtensions(value, 400, ["a"])).toEqual([
        { name: "a", params: [{ name: "x", value: "1" }] },
        { name: "a", params: [{ name: "y", value: null }] },
      ]);
      expect(scanExtensions(value, 400, ["permessage-deflate", "z"])).toEqual([
        { name: "permessage-deflate", params: [{ name: "p", value: "q" }] },
      ]);
      expect(scanExtensions(value, 400, ["permessage"])).toEqual([]);
      expect(scanExtensions(value, 400, undefined)).toEqual(parseExtensions(value));
      expect(checkExtensions(value)).toBeUndefined();
      // An offer not asked for is still checked, at the same place with the same error.
      const bad = 'a; x=1, b; q="1 2", c';
      const expected = errorOf(() => parseExtensions(bad, 401));
      expect(expected).toBeInstanceOf(HandshakeError);
      for (const names of [[], ["a"], ["c"]]) {
        const error = errorOf(() => scanExtensions(bad, 401, names));
        expect(error).toBeInstanceOf(HandshakeError);
        expect({ ...(error as HandshakeError), message: (error as Error).message }).toEqual({
          ...(expected as HandshakeError),
          message: (expected as Error).message,
        });
      }
    });

    it("scanExtensions gives what parseExtensions gives, or the same error, for any names (fast-check)", () => {
      const unit = fc.constantFrom(...'ab=;, \t"\\'.split(""));
      fc.assert(
        fc.property(fc.string({ unit, maxLength: 40 }), fc.subarray(["a", "b", "ab"]), (value, names) => {
          let all: ExtensionOffer[] | undefined;
          let failure: unknown;
          try {
            all = parseExtensions(value);
          } catch (error) {
            failure = error;
          }
          if (all === undefined) {
            const error = errorOf(() => scanExtensions(value, 400, names));
            expect((error as Error).message).toBe((failure as Error).message);
            expect(errorOf(() => checkExtensions(value))).toBeInstanceOf(HandshakeError);
          } else {
            expect(scanExtensions(value, 400, names)).toEqual(
              all.filter((offer) => names.includes(offer.name)),
            );
            expect(checkExtensions(value)).toBeUndefined();
          }
        }),
        { numRuns: 2000 },
      );
    });

    it("parseExtensions unescapes quoted values", () => {
      expect(parseExtensions('a; b="\\x\\y", c; d="z"')).toEqual([
        { name: "a", params: [{ name: "b", value: "xy" }] },
        { name: "c", params: [{ name: "d", value: "z" }] },
      ]);
    });

    it("formatExtensions writes the RFC 6455 §9.1 form", () => {
      expect(
        formatExtensions([
          {
            name: "permessage-deflate",
            params: [
              { name: "client_no_context_takeover", value: null },
              { name: "server_max_window_bits", value: "10" },
            ],
          },
          { name: "x-foo", params: [] },
        ]),
      ).toBe("permessage-deflate; client_no_context_takeover; server_max_window_bits=10, x-foo");
      expect(formatExtensions([])).toBe("");
    });

    it("formatExtensions throws TypeError for names and values that are not tokens", () => {
      expect(() => formatExtensions([{ name: "a b", params: [] }])).toThrow(TypeError);
      expect(() => formatExtensions([{ name: "a", params: [{ name: "b;", value: null }] }])).toThrow(
        TypeError,
      );
      expect(() => formatExtensions([{ name: "a", params: [{ name: "b", value: "1 2" }] }])).toThrow(
        TypeError,
      );
      expect(() => formatExtensions([{ name: "a", params: [{ name: "b", value: "" }] }])).toThrow(TypeError);
    });

    it("formatExtensions then parseExtensions round trips (fast-check)", () => {
      const param = fc.record({ name: token, value: fc.option(token, { nil: null }) });
      const offer = fc.record({ name: token, params: fc.array(param, { maxLength: 4 }) });
      fc.assert(
        fc.property(fc.array(offer, { maxLength: 5 }), (offers: ExtensionOffer[]) => {
          expect(parseExtensions(formatExtensions(offers))).toEqual(offers);
        }),
      );
    });

    it("parseExtensions reads quoted values like their token form (fast-check)", () => {
      fc.assert(
        fc.property(token, token, token, (name, param, value) => {
          const escaped = value.replace(/./g, (c) => (c === "a" ? "\\a" : c));
          expect(parseExtensions(`${name}; ${param}="${escaped}"`)).toEqual(
            parseExtensions(`${name}; ${param}=${value}`),
          );
        }),
      );
    });

    it("parseExtensions throws nothing but HandshakeError on arbitrary strings (fast-check)", () => {
      const unit = fc.constantFrom(...'ab1=;, \t"\\\u00e9\u0000'.split(""));
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit, maxLength: 40 })), (value) => {
          try {
            const offers = parseExtensions(value);
            // Whatever parses formats back to something that parses the same.
            expect(parseExtensions(formatExtensions(offers))).toEqual(offers);
          } catch (error) {
            expect(error).toBeInstanceOf(HandshakeError);
          }
        }),
        { numRuns: 2000 },
      );
    });
  });
});
