/**
 * `Sec-WebSocket-Extensions` (RFC 6455 §9.1) and `Sec-WebSocket-Protocol` (§4.1, §11.3.4)
 * parsers, and close payloads (§5.5.1, §7.4): mutated and random header values, offers built
 * from random tokens, parameters and quoted strings with random whitespace, random close
 * payloads and valid codes with reasons.
 *
 * Invariants: only `HandshakeError` (status as given) from the header parsers and only
 * `RemoteProtocolError` (1002 or 1007) from the close decoder; what parses formats back to
 * something that parses to the same; built offers parse to what they were built from; a
 * decoded close code is one that may be sent (or 1005) with a reason of at most 123 bytes;
 * valid codes and reasons round-trip.
 */
import { HandshakeError, RemoteProtocolError } from "@ws/codec";
import { decodeClosePayload, encodeClosePayload, isValidCloseCode } from "@ws/codec/close";
import type { ExtensionOffer } from "@ws/codec/extensions";
import {
  formatExtensions,
  formatProtocols,
  isToken,
  parseExtensions,
  parseProtocols,
} from "@ws/codec/handshake";
import fc from "fast-check";
import { check, checkSame, onlyDocumented } from "../check.ts";
import { seeds } from "../corpus.ts";
import { mutateAll, mutationsArb } from "../mutate.ts";
import type { FuzzTarget } from "../target.ts";

const latin1 = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

function tryParse<T>(parse: () => T, status: number, where: string): T | undefined {
  try {
    return parse();
  } catch (error) {
    onlyDocumented(error, [HandshakeError], where);
    check(
      (error as HandshakeError).status === status,
      `${where} failed with status ${(error as HandshakeError).status}`,
    );
    return undefined;
  }
}

function checkExtensions(value: string, status: number): void {
  const offers = tryParse(() => parseExtensions(value, status), status, "parseExtensions");
  if (offers === undefined) return;
  for (const offer of offers) {
    check(isToken(offer.name), "an extension name that is not a token");
    for (const param of offer.params) check(isToken(param.name), "a parameter name that is not a token");
  }
  if (offers.length === 0) return;
  const again = parseExtensions(formatExtensions(offers), status);
  checkSame(again, offers, "extensions parsed, formatted and parsed again");
}

function checkProtocols(value: string, status: number): void {
  const protocols = tryParse(() => parseProtocols(value, status), status, "parseProtocols");
  if (protocols === undefined) return;
  for (const protocol of protocols) check(isToken(protocol), "a subprotocol that is not a token");
  // formatProtocols offers names as a client does (validateProtocols): no name twice, compared
  // ASCII case-insensitively (the WHATWG constructor rule), where a server's parse of what a
  // peer sent is case-sensitive. Only a list a client may offer is formatted again.
  if (protocols.length === 0) return;
  if (new Set(protocols.map((protocol) => protocol.toLowerCase())).size !== protocols.length) return;
  checkSame(
    parseProtocols(formatProtocols(protocols), status),
    protocols,
    "subprotocols formatted and parsed again",
  );
}

export const headerTokensMutated: FuzzTarget = {
  name: "header-tokens/mutated",
  modules: ["handshake/header-tokens.ts"],
  property: () =>
    fc.property(
      fc.boolean(),
      fc.nat(),
      mutationsArb(4),
      fc.constantFrom(0, 400),
      (extensions, pick, mutations, status) => {
        const group = seeds(extensions ? "extensions" : "protocols");
        const value = latin1(
          mutateAll(group[pick % group.length] as Uint8Array, mutations, group).subarray(0, 30_000),
        );
        if (extensions) checkExtensions(value, status);
        else checkProtocols(value, status);
      },
    ),
};

const headerChars = fc.constantFrom(...' \t,;="\\abcxyz019-_.!~/:@()<>[]?{}\x00\x7f\xff');
export const headerTokensRandom: FuzzTarget = {
  name: "header-tokens/random",
  modules: ["handshake/header-tokens.ts"],
  property: () =>
    fc.property(fc.string({ unit: headerChars, maxLength: 80 }), (value) => {
      checkExtensions(value, 400);
      checkProtocols(value, 400);
    }),
};

const tokenChar = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
);
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 10 });
const ows = fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 2 });

/** An offer and a hand-written header text for it: random whitespace, values quoted or not. */
const writtenOffer: fc.Arbitrary<{ offer: ExtensionOffer; text: string }> = fc
  .tuple(
    token,
    fc.array(fc.tuple(token, fc.option(fc.tuple(token, fc.boolean()), { nil: undefined }), ows, ows), {
      maxLength: 4,
    }),
  )
  .map(([name, params]) => ({
    offer: { name, params: params.map(([p, v]) => ({ name: p, value: v?.[0] ?? null })) },
    text:
      name +
      params
        .map(
          ([p, v, a, b]) =>
            `${a};${b}${p}${v === undefined ? "" : `=${v[1] ? `"${v[0].replace(/./g, (c) => (c === "a" ? "\\a" : c))}"` : v[0]}`}`,
        )
        .join(""),
  }));

export const headerTokensBuilt: FuzzTarget = {
  name: "header-tokens/built",
  modules: ["handshake/header-tokens.ts"],
  property: () =>
    fc.property(fc.array(fc.tuple(writtenOffer, ows, ows), { minLength: 1, maxLength: 4 }), (parts) => {
      const text = parts.map(([o, a, b]) => `${a}${o.text}${b}`).join(",");
      const parsed = parseExtensions(text, 400);
      const normal = (offers: readonly ExtensionOffer[]) =>
        offers.map((o) => ({
          name: o.name,
          params: o.params.map((p) => ({ name: p.name, value: p.value ?? null })),
        }));
      checkSame(normal(parsed), normal(parts.map(([o]) => o.offer)), "offers built and parsed");
      checkSame(
        normal(parseExtensions(formatExtensions(parsed), 400)),
        normal(parsed),
        "offers formatted and parsed again",
      );
    }),
};

const utf8 = new TextEncoder();

function checkClose(payload: Uint8Array): void {
  let decoded: ReturnType<typeof decodeClosePayload>;
  try {
    decoded = decodeClosePayload(payload);
  } catch (error) {
    onlyDocumented(error, [RemoteProtocolError], "decodeClosePayload");
    check(
      [1002, 1007].includes((error as RemoteProtocolError).closeCode),
      "a close payload failure with an odd code",
    );
    return;
  }
  check(decoded.code === 1005 || isValidCloseCode(decoded.code), `close code ${decoded.code} accepted`);
  check(decoded.reason.isWellFormed(), "a reason that is not well-formed");
  check(
    utf8.encode(decoded.reason).length === Math.max(0, payload.length - 2),
    "the reason lost or gained bytes",
  );
}

export const closePayloads: FuzzTarget = {
  name: "close/payloads",
  modules: ["close/close.ts", "message/utf8.ts"],
  property: () =>
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 125 }),
        fc.tuple(fc.nat(), mutationsArb(3)).map(([pick, mutations]) => {
          const group = seeds("close");
          return mutateAll(group[pick % group.length] as Uint8Array, mutations, group).subarray(0, 125);
        }),
      ),
      fc.oneof(fc.integer({ min: 1000, max: 1015 }), fc.integer({ min: 3000, max: 4999 })),
      fc.string({ unit: "grapheme", maxLength: 40 }),
      (payload, code, reason) => {
        checkClose(payload);
        if (!isValidCloseCode(code) || utf8.encode(reason).length > 123) return;
        checkSame(
          decodeClosePayload(encodeClosePayload(code, reason)),
          { code, reason },
          "close code and reason",
        );
      },
    ),
};
