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

/**
 * Splits a comma-separated list into trimmed elements, skipping empty ones (RFC 9110 §5.6.1:
 * recipients accept and ignore empty list elements).
 */
function splitList(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    let a = start;
    let b = end;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (b > a) items.push(value.slice(a, b));
    start = end + 1;
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// RFC 6455 §4.1 item 10, §11.3.4 Sec-WebSocket-Protocol
// ---------------------------------------------------------------------------------------------

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
  const protocols = splitList(value);
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (!isToken(protocol)) {
      throw new HandshakeError(
        ErrorCode.BadSubprotocol,
        status,
        `Cannot parse Sec-WebSocket-Protocol: ${JSON.stringify(protocol)} is not a token`,
      );
    }
    if (seen.has(protocol)) {
      throw new HandshakeError(
        ErrorCode.BadSubprotocol,
        status,
        `Cannot parse Sec-WebSocket-Protocol: ${JSON.stringify(protocol)} is offered twice`,
      );
    }
    seen.add(protocol);
  }
  return protocols;
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

/** A single-use scanner over one `Sec-WebSocket-Extensions` value. */
class ExtensionScanner {
  readonly text: string;
  readonly status: number;
  pos = 0;

  constructor(text: string, status: number) {
    this.text = text;
    this.status = status;
  }

  fail(reason: string): never {
    throw new HandshakeError(
      ErrorCode.BadExtensions,
      this.status,
      `Cannot parse Sec-WebSocket-Extensions: ${reason} at offset ${this.pos}`,
    );
  }

  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  // The loops below keep the position in a local: a hostile value is up to the head size limit
  // of list elements and parameters, each scanned once.
  skipOws(): void {
    const text = this.text;
    let pos = this.pos;
    while (pos < text.length && isOws(text.charCodeAt(pos))) pos++;
    this.pos = pos;
  }

  token(what: string): string {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    while (pos < text.length) {
      const code = text.charCodeAt(pos);
      if (code >= 128 || TCHAR[code] !== 1) break;
      pos++;
    }
    this.pos = pos;
    if (pos === start) this.fail(`expected ${what}`);
    return text.slice(start, pos);
  }

  /** quoted-string (RFC 9110 §5.6.4); the opening DQUOTE is at `pos`. */
  quotedString(): string {
    this.pos++;
    let value = "";
    for (;;) {
      const code = this.peek();
      if (code === 0x22) {
        this.pos++;
        return value;
      }
      if (code === 0x5c) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        this.pos++;
        const escaped = this.peek();
        if (escaped === -1 || !(escaped === 0x09 || escaped >= 0x20) || escaped === 0x7f) {
          this.fail("invalid quoted-pair");
        }
        value += this.text[this.pos];
        this.pos++;
        continue;
      }
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (code === -1) this.fail("unterminated quoted-string");
      if (!(code === 0x09 || code >= 0x20) || code === 0x7f || code > 0xff)
        this.fail("invalid character in quoted-string");
      value += this.text[this.pos];
      this.pos++;
    }
  }

  param(): ExtensionParam {
    const name = this.token("a parameter name");
    this.skipOws();
    if (this.peek() !== 0x3d) return { name, value: null };
    this.pos++;
    this.skipOws();
    if (this.peek() !== 0x22) return { name, value: this.token("a parameter value") };
    const start = this.pos;
    const value = this.quotedString();
    if (!isToken(value)) {
      this.pos = start;
      this.fail(`quoted value of ${name} is not a token`);
    }
    return { name, value };
  }

  extensions(): ExtensionOffer[] {
    const offers: ExtensionOffer[] = [];
    for (;;) {
      this.skipOws();
      const code = this.peek();
      if (code === -1) return offers;
      if (code === 0x2c) {
        // An empty list element (RFC 9110 §5.6.1).
        this.pos++;
        continue;
      }
      const name = this.token("an extension name");
      // Most offers have no parameters: they share one empty list.
      let params: ExtensionParam[] | undefined;
      this.skipOws();
      while (this.peek() === 0x3b) {
        this.pos++;
        this.skipOws();
        const param = this.param();
        if (params === undefined) params = [param];
        else params.push(param);
        this.skipOws();
      }
      offers.push({ name, params: params ?? NO_PARAMS });
      const next = this.peek();
      if (next === 0x2c) this.pos++;
      else if (next !== -1) this.fail(`expected "," or ";"`);
    }
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
  return new ExtensionScanner(value, status).extensions();
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
