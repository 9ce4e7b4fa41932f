/**
 * Token lists in the handshake's header fields:
 *
 * - `Connection` / `Upgrade`: comma-separated, case-insensitive tokens (RFC 9110 §7.6.1, §7.8;
 *   RFC 6455 §4.1 client requirements 5–6, §4.2.1 items 3–4).
 * - `Sec-WebSocket-Protocol`: a list of case-sensitive tokens (RFC 6455 §4.1 item 10, §11.3.4).
 * - `Sec-WebSocket-Extensions`: the RFC 6455 §9.1 grammar, parsed into {@link ExtensionOffer}s.
 *
 * Every parser here is a single left-to-right scan with no regular expressions, so the time is
 * linear in the input whatever it holds (ws once had a ReDoS in its extension parser).
 *
 * @module
 */
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { ExtensionOffer, ExtensionParam } from "../extensions/extension.ts";

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR: Uint8Array = /* @__PURE__ */ (() => {
  const table = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  for (const c of "!#$%&'*+-.^_`|~") table[c.charCodeAt(0)] = 1;
  return table;
})();

/** Whether the byte or char code `code` is an RFC 9110 §5.6.2 `tchar`. */
export function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Whether `value` is an RFC 9110 §5.6.2 `token`: one or more `tchar`s.
 *
 * @example
 * ```ts
 * import { isToken } from "./header-tokens.ts";
 * console.assert(isToken("permessage-deflate"));
 * console.assert(!isToken("a b") && !isToken(""));
 * ```
 */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128 || TCHAR[code] !== 1) return false;
  }
  return true;
}

function asciiLowerEquals(value: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let code = value.charCodeAt(start + i);
    if (code >= 0x41 && code <= 0x5a) code |= 0x20;
    if (code !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Whether the comma-separated list `value` holds `token`, compared ASCII case-insensitively
 * (for `Connection: keep-alive, Upgrade` and `Upgrade: websocket`, RFC 6455 §4.2.1 items 3–4).
 * Elements are trimmed of whitespace; an `undefined` value holds nothing.
 *
 * @example
 * ```ts
 * import { hasToken } from "./header-tokens.ts";
 * console.assert(hasToken("keep-alive, Upgrade", "upgrade"));
 * console.assert(!hasToken("upgraded", "upgrade"));
 * ```
 */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const lower = token.toLowerCase();
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (asciiLowerEquals(value, a, b, lower)) return true;
    start = end + 1;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §4.1 item 10, §11.3.4 Sec-WebSocket-Protocol
// ---------------------------------------------------------------------------------------------

/** The most characters of a peer's value quoted in an error (which becomes a 400's body). */
const QUOTED_MAX = 64;

/** `value` quoted for an error message, cut after {@link QUOTED_MAX} characters. */
function quoted(value: string): string {
  return value.length <= QUOTED_MAX
    ? JSON.stringify(value)
    : `${JSON.stringify(value.slice(0, QUOTED_MAX))}… (${value.length} characters)`;
}

/**
 * Parses a client's `Sec-WebSocket-Protocol` value: a comma-separated list of tokens, each
 * unique (RFC 6455 §4.1 item 10; names are case-sensitive, §11.3.4). Empty elements are
 * ignored, so an empty value gives an empty list.
 *
 * @param status the HTTP status the thrown error carries (400 on a server).
 * @throws {HandshakeError} `BAD_SUBPROTOCOL` when an element is not a token or repeats.
 *
 * @example
 * ```ts
 * import { parseProtocols } from "./header-tokens.ts";
 * console.assert(parseProtocols("chat, superchat").join() === "chat,superchat");
 * ```
 */
export function parseProtocols(value: string, status = 400): string[] {
  const fail = (protocol: string, problem: string): never => {
    throw new HandshakeError(
      ErrorCode.BadSubprotocol,
      status,
      `Cannot parse Sec-WebSocket-Protocol: ${quoted(protocol)} ${problem}`,
    );
  };
  // One pass with the position in a local, as for the extensions below: a hostile value is up to
  // the head size limit of list elements, most of them empty.
  const protocols: string[] = [];
  const length = value.length;
  let seen: Set<string> | undefined;
  let pos = 0;
  for (;;) {
    // OWS and empty list elements (RFC 9110 §5.6.1) before the next element, in one loop: a
    // hostile value is thousands of ", ".
    while (pos < length) {
      const code = value.charCodeAt(pos);
      if (code !== 0x20 && code !== 0x09 && code !== 0x2c) break;
      pos++;
    }
    if (pos === length) return protocols;
    const start = pos;
    const end = tokenEnd(value, pos);
    pos = skipOws(value, end);
    if (end === start || (pos < length && value.charCodeAt(pos) !== 0x2c)) {
      // The element, trimmed of OWS, is not a token.
      let next = value.indexOf(",", pos);
      if (next === -1) next = length;
      while (next > start && isOws(value.charCodeAt(next - 1))) next--;
      fail(value.slice(start, next), "is not a token");
    }
    const protocol = value.slice(start, end);
    // Names are case-sensitive (RFC 6455 §11.3.4); a lone offer needs no set.
    if (protocols.length > 0) {
      seen ??= new Set(protocols);
      if (seen.has(protocol)) fail(protocol, "is offered twice");
      seen.add(protocol);
    }
    protocols.push(protocol);
    if (pos === length) return protocols;
    pos++;
  }
}

/**
 * Checks subprotocol names a caller wants to offer: each a token, none repeated (what the
 * WHATWG `WebSocket` constructor requires, where it is a `SyntaxError`).
 *
 * @throws {TypeError} when a name is not a token or repeats.
 *
 * @example
 * ```ts
 * import { validateProtocols } from "./header-tokens.ts";
 * validateProtocols(["chat", "superchat"]); // fine
 * ```
 */
export function validateProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== "string" || !isToken(protocol)) {
      throw new TypeError(`Cannot use subprotocol ${JSON.stringify(protocol)}: it is not an RFC 9110 token`);
    }
    // WHATWG WebSockets §3.1 (the constructor): duplicates are compared ASCII case-insensitively.
    const folded = protocol.toLowerCase();
    if (seen.has(folded)) {
      throw new TypeError(`Cannot use subprotocol ${JSON.stringify(protocol)}: it is listed twice`);
    }
    seen.add(folded);
  }
}

/**
 * Formats subprotocol names as a `Sec-WebSocket-Protocol` value, after
 * {@link validateProtocols}.
 *
 * @throws {TypeError} when a name is not a token or repeats.
 *
 * @example
 * ```ts
 * import { formatProtocols } from "./header-tokens.ts";
 * console.assert(formatProtocols(["chat", "superchat"]) === "chat, superchat");
 * ```
 */
export function formatProtocols(protocols: readonly string[]): string {
  validateProtocols(protocols);
  return protocols.join(", ");
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §9.1 Sec-WebSocket-Extensions
//
//   extension-list = 1#extension
//   extension = extension-token *( ";" extension-param )
//   extension-token = registered-token
//   registered-token = token
//   extension-param = token [ "=" (token | quoted-string) ]
//       ; When using the quoted-string syntax variant, the value after quoted-string
//       ; unescaping MUST conform to the 'token' ABNF.
//
// with RFC 9110 §5.6.1 list rules (OWS around ",", empty elements ignored) and §5.6.4
// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE.
// ---------------------------------------------------------------------------------------------

const NO_PARAMS: readonly ExtensionParam[] = Object.freeze([]);

/** The first position at or after `pos` that does not hold OWS. */
function skipOws(text: string, pos: number): number {
  while (pos < text.length && isOws(text.charCodeAt(pos))) pos++;
  return pos;
}

/** The first position at or after `pos` that does not hold a `tchar`. */
function tokenEnd(text: string, pos: number): number {
  while (pos < text.length) {
    const code = text.charCodeAt(pos);
    if (code >= 128 || TCHAR[code] !== 1) break;
    pos++;
  }
  return pos;
}

/** Whether `names` holds `text.slice(start, end)`, compared in place. */
function holdsName(names: readonly string[], text: string, start: number, end: number): boolean {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name.length === end - start && text.startsWith(name, start)) return true;
  }
  return false;
}

/** The value of a quoted-string that holds quoted-pairs, without its backslashes. */
function unescapeQuoted(text: string, start: number, end: number): string {
  let value = "";
  let run = start;
  for (let pos = start; pos < end; pos++) {
    if (text.charCodeAt(pos) === 0x5c) {
      value += text.slice(run, pos);
      pos++;
      run = pos;
    }
  }
  return value + text.slice(run, end);
}

/** Offers of no extension: the grammar is checked, nothing is built. */
const NO_NAMES: readonly string[] = Object.freeze([]);

/**
 * Checks a whole `Sec-WebSocket-Extensions` value against the RFC 6455 §9.1 grammar and builds
 * the offers whose name is in `names` (every offer when `names` is undefined), in order.
 *
 * One left-to-right pass over the value in one function with the position in a local, and
 * nothing built for the offers not asked for: a hostile value holds up to the head size limit of
 * list elements and parameters (thousands), and a server only needs the offers of the
 * extensions it has, so such a value costs a scan, not thousands of objects.
 *
 * @throws {HandshakeError} `BAD_EXTENSIONS` (with `status`) at the first place the value leaves
 *   the grammar, whether or not that offer was asked for.
 */
export function scanExtensions(
  text: string,
  status: number,
  names: readonly string[] | undefined,
): ExtensionOffer[] {
  const fail = (reason: string, at: number): never => {
    throw new HandshakeError(
      ErrorCode.BadExtensions,
      status,
      `Cannot parse Sec-WebSocket-Extensions: ${reason} at offset ${at}`,
    );
  };
  const offers: ExtensionOffer[] = [];
  const length = text.length;
  let pos = 0;
  for (;;) {
    pos = skipOws(text, pos);
    if (pos === length) return offers;
    if (text.charCodeAt(pos) === 0x2c) {
      // An empty list element (RFC 9110 §5.6.1).
      pos++;
      continue;
    }
    const nameStart = pos;
    pos = tokenEnd(text, pos);
    if (pos === nameStart) fail("expected an extension name", pos);
    const nameEnd = pos;
    const wanted = names === undefined || holdsName(names, text, nameStart, nameEnd);
    // Most offers have no parameters: they share one empty list.
    let params: ExtensionParam[] | undefined;
    pos = skipOws(text, pos);
    while (pos < length && text.charCodeAt(pos) === 0x3b) {
      pos = skipOws(text, pos + 1);
      const paramStart = pos;
      pos = tokenEnd(text, pos);
      if (pos === paramStart) fail("expected a parameter name", pos);
      const paramEnd = pos;
      let value: string | null = null;
      pos = skipOws(text, pos);
      if (pos < length && text.charCodeAt(pos) === 0x3d) {
        pos = skipOws(text, pos + 1);
        if (pos < length && text.charCodeAt(pos) === 0x22) {
          // quoted-string (RFC 9110 §5.6.4) = DQUOTE *( qdtext / quoted-pair ) DQUOTE, whose
          // value once unescaped must be a token (RFC 6455 §9.1): one or more tchars.
          const quoteStart = pos;
          let tchars = true;
          let escaped = false;
          let count = 0;
          pos++;
          for (;;) {
            if (pos === length) fail("unterminated quoted-string", pos);
            let code = text.charCodeAt(pos);
            if (code === 0x22) break;
            if (code === 0x5c) {
              // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
              pos++;
              code = pos < length ? text.charCodeAt(pos) : -1;
              if (code === -1 || !(code === 0x09 || code >= 0x20) || code === 0x7f) {
                fail("invalid quoted-pair", pos);
              }
              escaped = true;
            } else if (!(code === 0x09 || code >= 0x20) || code === 0x7f || code > 0xff) {
              // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
              fail("invalid character in quoted-string", pos);
            }
            if (code >= 128 || TCHAR[code] !== 1) tchars = false;
            count++;
            pos++;
          }
          pos++;
          if (count === 0 || !tchars) {
            fail(`quoted value of ${text.slice(paramStart, paramEnd)} is not a token`, quoteStart);
          }
          if (wanted) {
            value = escaped
              ? unescapeQuoted(text, quoteStart + 1, pos - 1)
              : text.slice(quoteStart + 1, pos - 1);
          }
        } else {
          const valueStart = pos;
          pos = tokenEnd(text, pos);
          if (pos === valueStart) fail("expected a parameter value", pos);
          if (wanted) value = text.slice(valueStart, pos);
        }
      }
      if (wanted) {
        const param: ExtensionParam = { name: text.slice(paramStart, paramEnd), value };
        if (params === undefined) params = [param];
        else params.push(param);
      }
      pos = skipOws(text, pos);
    }
    if (wanted) offers.push({ name: text.slice(nameStart, nameEnd), params: params ?? NO_PARAMS });
    if (pos === length) return offers;
    if (text.charCodeAt(pos) === 0x2c) pos++;
    else fail(`expected "," or ";"`, pos);
  }
}

/**
 * Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1) into its elements, in order.
 * Quoted parameter values are unescaped and must then be tokens. Parameters are not checked
 * against any extension's rules (duplicates included): that is the
 * `ExtensionFactory`'s job. Runs in linear time.
 *
 * @param status the HTTP status the thrown error carries (400 on a server).
 * @throws {HandshakeError} `BAD_EXTENSIONS` when the value does not follow the grammar.
 *
 * @example
 * ```ts
 * import { parseExtensions } from "./header-tokens.ts";
 * const offers = parseExtensions('permessage-deflate; client_max_window_bits, x-foo; a="1"');
 * // [{ name: "permessage-deflate", params: [{ name: "client_max_window_bits", value: null }] },
 * //  { name: "x-foo", params: [{ name: "a", value: "1" }] }]
 * console.assert(offers.length === 2);
 * ```
 */
export function parseExtensions(value: string, status = 400): ExtensionOffer[] {
  return scanExtensions(value, status, undefined);
}

/**
 * Checks a `Sec-WebSocket-Extensions` value against the RFC 6455 §9.1 grammar, as
 * {@link parseExtensions} does, without building any offer.
 *
 * @throws {HandshakeError} `BAD_EXTENSIONS` (with `status`) when it does not follow the grammar.
 */
export function checkExtensions(value: string, status = 400): void {
  scanExtensions(value, status, NO_NAMES);
}

/**
 * Formats extension offers or responses as a `Sec-WebSocket-Extensions` value
 * (RFC 6455 §9.1), e.g. `permessage-deflate; client_max_window_bits=10`.
 *
 * @throws {TypeError} when a name or value is not a token (values must be tokens, §9.1).
 *
 * @example
 * ```ts
 * import { formatExtensions } from "./header-tokens.ts";
 * const header = formatExtensions([
 *   { name: "permessage-deflate", params: [{ name: "server_no_context_takeover", value: null }] },
 * ]);
 * console.assert(header === "permessage-deflate; server_no_context_takeover");
 * ```
 */
export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  let out = "";
  for (const offer of offers) {
    if (!isToken(offer.name)) {
      throw new TypeError(`Cannot format extension ${JSON.stringify(offer.name)}: its name is not a token`);
    }
    if (out !== "") out += ", ";
    out += offer.name;
    for (const param of offer.params) {
      if (!isToken(param.name)) {
        throw new TypeError(
          `Cannot format extension ${offer.name}: parameter name ${JSON.stringify(param.name)} is not a token`,
        );
      }
      out += `; ${param.name}`;
      if (param.value !== null) {
        if (!isToken(param.value)) {
          throw new TypeError(
            `Cannot format extension ${offer.name}: value ${JSON.stringify(param.value)} of ${param.name} is not a token`,
          );
        }
        out += `=${param.value}`;
      }
    }
  }
  return out;
}
