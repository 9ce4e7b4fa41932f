/**
 * The opening handshake (RFC 6455 §4): the HTTP/1.1 head parser on mutated and random requests
 * and responses in any split, the server's request checks and the client's response checks on
 * what it parsed, and valid handshakes built from random options that must complete.
 *
 * Invariants: only `HandshakeError` is thrown for anything the peer sends (statuses 400, 405,
 * 426 or 431 on a server, 0 or the received status on a client), and a parser error sticks;
 * a parsed head stays within `maxHeadSize` and `maxHeaderCount` and holds only tokens and
 * field-value characters; chunking never changes the head, the bytes after it or the error;
 * a server's acceptance is one its client accepts (extensions aside, which depend on the
 * client's own offer); valid handshakes negotiate the same subprotocol and extensions on both
 * sides.
 */
import { ErrorCode, HandshakeError } from "@ws/codec";
import { type PermessageDeflateParams, permessageDeflate } from "@ws/codec/extensions";
import {
  buildAcceptResponse,
  buildUpgradeRequest,
  checkUpgradeRequest,
  checkUpgradeResponse,
  generateKey,
  type HttpHead,
  type HttpHeadKind,
  HttpHeadParser,
  isToken,
} from "@ws/codec/handshake";
import fc from "fast-check";
import { check, checkSame, concatBytes, onlyDocumented } from "../check.ts";
import { seeds } from "../corpus.ts";
import { engine } from "../engine.ts";
import { SEED_KEY } from "../handshakes.ts";
import { chunk, cutsArb, mutateAll, mutationsArb } from "../mutate.ts";
import type { FuzzTarget } from "../target.ts";

const ascii = new TextEncoder();

interface HeadLimits {
  readonly maxHeadSize: number;
  readonly maxHeaderCount: number;
}

const limitsArb: fc.Arbitrary<HeadLimits> = fc.record({
  maxHeadSize: fc.constantFrom(16, 200, 16 * 1024),
  maxHeaderCount: fc.constantFrom(1, 6, 100),
});

interface HeadOutcome<K extends HttpHeadKind> {
  head?: HttpHead<K>;
  rest?: Uint8Array;
  error?: { code: string; status: number };
}

/** Parses a head from `chunks`, checking it; `rest` joins what followed the head. */
export function parseHead<K extends HttpHeadKind>(
  kind: K,
  limits: HeadLimits,
  chunks: readonly Uint8Array[],
): HeadOutcome<K> {
  const parser = new HttpHeadParser(kind, limits);
  for (let i = 0; i < chunks.length; i++) {
    let head: HttpHead<K> | undefined;
    try {
      head = parser.push(chunks[i] as Uint8Array);
    } catch (error) {
      onlyDocumented(error, [HandshakeError], "HttpHeadParser.push");
      const failure = error as HandshakeError;
      check(
        kind === "request" ? [400, 431].includes(failure.status) : failure.status === 0,
        `status ${failure.status} for a ${kind} head error`,
      );
      let again: unknown;
      try {
        parser.push(new Uint8Array(1));
      } catch (repeat) {
        again = repeat;
      }
      check(again === failure, "a failed parser must throw the same error again");
      return { error: { code: failure.code, status: failure.status } };
    }
    if (head === undefined) continue;
    check(head.headers.length <= limits.maxHeaderCount, "more header fields than maxHeaderCount");
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const after = chunks.slice(i + 1).reduce((n, c) => n + c.length, 0);
    check(total - after - parser.rest.length <= limits.maxHeadSize, "a head larger than maxHeadSize");
    for (const [name, value] of head.headers) {
      check(isToken(name), `header name ${JSON.stringify(name)} is not a token`);
      check(!hasControl(value), `header value ${JSON.stringify(value)} holds a control character`);
      check(!/^[ \t]|[ \t]$/.test(value), "a header value with surrounding whitespace (OWS)");
    }
    if (head.kind === "request") {
      check(isToken(head.method), "the method is not a token");
      check(/^[\x21-\x7e]+$/.test(head.target), "the target holds characters outside VCHAR");
    } else {
      check(head.status >= 100 && head.status <= 999, `status ${head.status}`);
    }
    return { head, rest: concatBytes([parser.rest, ...chunks.slice(i + 1)]) };
  }
  return {};
}

/** A control character other than HTAB (RFC 9110 §5.5 field-value). */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

const clientDeflate = permessageDeflate({ engine });
const serverDeflate = permessageDeflate({ engine });

const selectors = [["chat", "superchat"], (offered: readonly string[]) => offered.at(-1), []] as const;

/** The server's checks on a request head, then its client's checks on the answer. */
function serverChecks(head: HttpHead<"request">, selector: number): void {
  let accepted: ReturnType<typeof checkUpgradeRequest>;
  try {
    accepted = checkUpgradeRequest(head, {
      protocols: selectors[selector % selectors.length],
      extensions: [serverDeflate],
    });
  } catch (error) {
    onlyDocumented(error, [HandshakeError], "checkUpgradeRequest");
    check(
      [400, 405, 426].includes((error as HandshakeError).status),
      "a request rejected with an odd status",
    );
    return;
  }
  try {
    const parsed = parseHead("response", { maxHeadSize: 16 * 1024, maxHeaderCount: 100 }, [
      ascii.encode(buildAcceptResponse(accepted)),
    ]);
    check(
      parsed.head !== undefined,
      () => `our own 101 response does not parse: ${JSON.stringify(parsed.error)}`,
    );
    const confirmed = checkUpgradeResponse(parsed.head, {
      key: accepted.key,
      protocols: accepted.offeredProtocols,
      extensions: [clientDeflate],
    });
    check(confirmed.protocol === accepted.protocol, "client and server disagree on the subprotocol");
    for (const extension of confirmed.extensions) extension.close?.();
  } catch (error) {
    onlyDocumented(error, [HandshakeError], "checkUpgradeResponse");
    // Our client's offer is not the request's, so its extension checks may refuse.
    check(
      (error as HandshakeError).code === ErrorCode.BadExtensions,
      () => `our 101 refused: ${String(error)}`,
    );
  } finally {
    for (const extension of accepted.extensions) extension.close?.();
  }
}

/** A client's checks on a response head (offers: deflate, chat and superchat). */
function clientChecks(head: HttpHead<"response">): void {
  try {
    const confirmed = checkUpgradeResponse(head, {
      key: SEED_KEY,
      protocols: ["chat", "superchat"],
      extensions: [clientDeflate],
    });
    check(head.status === 101, "a response other than 101 was accepted");
    check([undefined, "chat", "superchat"].includes(confirmed.protocol), "a subprotocol not offered");
    for (const extension of confirmed.extensions) extension.close?.();
  } catch (error) {
    onlyDocumented(error, [HandshakeError], "checkUpgradeResponse");
    check((error as HandshakeError).status === head.status, "the error does not carry the received status");
  }
}

function headTarget(name: string, kind: HttpHeadKind, random: boolean): FuzzTarget {
  const group = kind === "request" ? "http-request" : "http-response";
  return {
    name,
    modules: ["handshake/http-head.ts", "handshake/server.ts", "handshake/client.ts", "handshake/headers.ts"],
    property: () =>
      fc.property(
        limitsArb,
        random ? fc.uint8Array({ maxLength: 400 }) : fc.nat().map((i) => i),
        mutationsArb(),
        cutsArb,
        fc.nat(),
        (limits, input, mutations, cuts, selector) => {
          const all = seeds(group);
          const bytes =
            input instanceof Uint8Array
              ? input
              : mutateAll(all[input % all.length] as Uint8Array, mutations, [...all, ...seeds("extensions")]);
          const whole = parseHead(kind, limits, [bytes.slice()]);
          const split = parseHead(kind, limits, chunk(bytes, cuts));
          checkSame(whole, split, "heads parsed whole and in chunks");
          if (whole.head?.kind === "request") serverChecks(whole.head, selector);
          if (whole.head?.kind === "response") clientChecks(whole.head);
        },
      ),
  };
}

export const httpRequestMutated: FuzzTarget = headTarget("http-request/mutated", "request", false);
export const httpRequestRandom: FuzzTarget = headTarget("http-request/random", "request", true);
export const httpResponseMutated: FuzzTarget = headTarget("http-response/mutated", "response", false);

const tokenChar = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
);
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
const deflateParams: fc.Arbitrary<PermessageDeflateParams> = fc.record(
  {
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.integer({ min: 8, max: 15 }),
    clientMaxWindowBits: fc.oneof(fc.boolean(), fc.integer({ min: 8, max: 15 })),
  },
  { requiredKeys: [] },
);

// A letter first and last: an all-numeric last label would be read as an IPv4 address.
const label = fc
  .string({ unit: fc.constantFrom(..."abcxyz0189-"), maxLength: 6 })
  .map((inner) => `h${inner}z`);
const pathSegment = fc
  .string({ unit: fc.constantFrom(..."abz09-._~!$&'()*+,;=:@%"), maxLength: 8 })
  .map((s) => s.replace(/%/g, "%25"));

export const handshakeRoundTrip: FuzzTarget = {
  name: "handshake/round-trip",
  modules: [
    "handshake/client.ts",
    "handshake/server.ts",
    "handshake/http-head.ts",
    "extensions/permessage-deflate.ts",
  ],
  property: () =>
    fc.property(
      fc.record({
        // Simple hand-made parts: fc.domain() and fc.webPath() take seconds to build.
        host: fc.oneof(
          fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join(".")),
          fc.ipV4(),
          fc.constant("[::1]"),
        ),
        port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        path: fc
          .array(pathSegment, { maxLength: 4 })
          .map((segments) => segments.map((s) => `/${s}`).join("")),
        query: fc.option(pathSegment, { nil: undefined }),
        secure: fc.boolean(),
      }),
      // The client's offer: no name twice, compared ASCII case-insensitively, as the WHATWG
      // constructor rule that buildUpgradeRequest applies (validateProtocols).
      fc.uniqueArray(token, { maxLength: 4, selector: (t) => t.toLowerCase() }),
      fc.uniqueArray(token, { maxLength: 4 }),
      fc.option(fc.array(deflateParams, { minLength: 1, maxLength: 3 }), { nil: undefined }),
      fc.option(deflateParams, { nil: undefined }),
      fc.array(
        fc.tuple(
          token.map((t) => `x-${t}`),
          fc.string({ unit: fc.constantFrom(..."abc 12;=\"'\t"), maxLength: 20 }),
        ),
        {
          maxLength: 4,
        },
      ),
      cutsArb,
      (target, clientProtocols, serverProtocols, offers, serverParams, headers, cuts) => {
        const url = `${target.secure ? "wss" : "ws"}://${target.host}${target.port === undefined ? "" : `:${target.port}`}${target.path || "/"}${target.query ? `?${target.query}` : ""}`;
        const key = generateKey();
        const offer = offers === undefined ? undefined : permessageDeflate({ engine, offers });
        const request = buildUpgradeRequest({
          url,
          key,
          protocols: clientProtocols,
          extensions: offer === undefined ? [] : [offer],
          headers,
        });
        const parsed = parseHead(
          "request",
          { maxHeadSize: 16 * 1024, maxHeaderCount: 100 },
          chunk(ascii.encode(request), cuts),
        );
        check(
          parsed.head !== undefined && parsed.rest?.length === 0,
          () => `our request does not parse: ${request}`,
        );
        const accepted = checkUpgradeRequest(parsed.head, {
          protocols: serverProtocols,
          extensions: serverParams === undefined ? [] : [permessageDeflate({ engine, ...serverParams })],
        });
        const expectedProtocol = clientProtocols.find((p) => serverProtocols.includes(p));
        check(accepted.protocol === expectedProtocol, "the server chose an unexpected subprotocol");
        const response = parseHead(
          "response",
          { maxHeadSize: 16 * 1024, maxHeaderCount: 100 },
          chunk(ascii.encode(buildAcceptResponse(accepted)), cuts),
        );
        check(response.head !== undefined, "our response does not parse");
        const confirmed = checkUpgradeResponse(response.head, {
          key,
          protocols: clientProtocols,
          extensions: offer === undefined ? [] : [offer],
        });
        check(confirmed.protocol === accepted.protocol, "the sides disagree on the subprotocol");
        checkSame(
          confirmed.extensions.map((e) => [e.name, e.params]).length,
          accepted.extensions.map((e) => [e.name, e.params]).length,
          "extensions negotiated by both sides",
        );
        check(
          confirmed.extensionsHeader === accepted.extensionsHeader,
          "the sides disagree on the extensions header",
        );
        for (const extension of [...confirmed.extensions, ...accepted.extensions]) extension.close?.();
      },
    ),
};
