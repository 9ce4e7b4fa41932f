/**
 * An incremental HTTP/1.1 head parser (RFC 9112 §2–§5) for runtimes that hand us a raw socket
 * (Deno and Bun TCP): bytes in, a parsed request or response head out, plus the bytes that
 * followed the head (frames the peer sent right after its handshake).
 *
 * It is deliberately strict, since a WebSocket handshake has no reason to be exotic: a single SP
 * between start-line parts, no whitespace before a field's colon (RFC 9112 §5.1), no obs-fold
 * (§5.2), no bare CR (§2.2), no empty lines before the start line (the first bytes on a fresh
 * connection are the handshake). Bare LF line endings are tolerated (§2.2 allows it). Head
 * bytes are decoded as ISO-8859-1, one character per byte (RFC 9110 §5.5).
 *
 * A request's start line is also checked byte by byte as it arrives, so that bytes that cannot
 * be an HTTP request (a TLS ClientHello on a cleartext port, a method that is not a token, a
 * target with a control character, a version that is not `HTTP/d.d`) are refused with 400 at
 * once instead of after `maxHeadSize` bytes or the server's handshake timeout.
 *
 * @module
 */
import { ErrorCode, HandshakeError, LocalProtocolError } from "../errors.ts";
import { DEFAULT_LIMITS, type Limits } from "../limits.ts";
import { utf8Decoder } from "../web-globals.ts";
import { isTchar, isToken } from "./header-tokens.ts";
import { type HeaderField, normalizeHeaders } from "./headers.ts";

/** Which head a {@link HttpHeadParser} reads: a request (server side) or a response (client side). */
export type HttpHeadKind = "request" | "response";

/** A parsed request head (RFC 9112 §3). */
export interface HttpRequestHead {
  /** Marks a request head. */
  readonly kind: "request";
  /** The method, case-sensitive (RFC 9110 §9.1), e.g. `GET`. */
  readonly method: string;
  /** The request-target as sent, e.g. `/chat?room=1` (RFC 9112 §3.2). */
  readonly target: string;
  /** `major.minor`, e.g. `1.1`. */
  readonly httpVersion: string;
  /** The header fields in order, names as sent, values trimmed of whitespace. */
  readonly headers: readonly HeaderField[];
  /** Lookup by lower-case name; repeated fields joined with ", ". */
  readonly headerMap: ReadonlyMap<string, string>;
}

/** A parsed response head (RFC 9112 §4). */
export interface HttpResponseHead {
  /** Marks a response head. */
  readonly kind: "response";
  /** `major.minor`, e.g. `1.1`. */
  readonly httpVersion: string;
  /** The three-digit status code. */
  readonly status: number;
  /** The reason phrase, possibly empty. */
  readonly statusText: string;
  /** The header fields in order, names as sent, values trimmed of whitespace. */
  readonly headers: readonly HeaderField[];
  /** Lookup by lower-case name; repeated fields joined with ", ". */
  readonly headerMap: ReadonlyMap<string, string>;
}

/** The head type a parser of kind `K` produces. */
export type HttpHead<K extends HttpHeadKind = HttpHeadKind> = K extends "request"
  ? HttpRequestHead
  : HttpResponseHead;

/** Limits of a {@link HttpHeadParser}; missing ones come from {@link DEFAULT_LIMITS}. */
export type HttpHeadLimits = Partial<Pick<Limits, "maxHeadSize" | "maxHeaderCount">>;

const HTAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const DEL = 0x7f;

/**
 * The parts of a request line (RFC 9112 §3) as the incremental check walks it: the method, the
 * target, the version, then done (the rest is checked once the whole head is there).
 */
const StartLine = { Method: 0, Target: 1, Version: 2, Done: 3 } as const;
type StartLine = (typeof StartLine)[keyof typeof StartLine];

/** HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3): `D` stands for a digit. */
const VERSION_PATTERN = "HTTP/D.D";
const EMPTY = new Uint8Array(0);

/**
 * Reads one HTTP/1.1 head from a byte stream split in any way.
 *
 * Errors are {@link HandshakeError}s. For a request they carry the status to answer with:
 * 431 for `HEAD_TOO_LARGE` / `TOO_MANY_HEADERS` (RFC 6585 §5), 400 for `MALFORMED_HEAD`. For a
 * response they carry status 0 (the response itself was unusable). Once it has thrown, the
 * parser throws the same error again.
 *
 * @example
 * ```ts
 * import { HttpHeadParser } from "./http-head.ts";
 * const parser = new HttpHeadParser("request");
 * const head = new TextEncoder().encode("GET /chat HTTP/1.1\r\nHost: example.com\r\n\r\n");
 * const bytes = new Uint8Array([...head, 0x81, 0x00]); // the head, then an empty text frame
 * console.assert(parser.push(bytes.subarray(0, 10)) === undefined); // needs more
 * const request = parser.push(bytes.subarray(10));
 * console.assert(request?.method === "GET" && request.headerMap.get("host") === "example.com");
 * console.assert(parser.rest.length === 2); // the frame that followed the head
 * ```
 */
export class HttpHeadParser<K extends HttpHeadKind = HttpHeadKind> {
  /** Which head this parser reads. */
  readonly kind: K;
  readonly #maxHeadSize: number;
  readonly #maxHeaderCount: number;
  /** The head so far, decoded at once so the caller may reuse its buffers. */
  #text = "";
  /** Bytes received and scanned so far. */
  #scanned = 0;
  /** Whether the current line is empty so far (ignoring a CR): its LF ends the head. */
  #atLineStart = false;
  /** Every byte so far is HTAB, CR, LF or printable ASCII (see `#push`). */
  #plain = true;
  #head: HttpHead<K> | undefined;
  /** Where the incremental request-line check stands (responses skip it). */
  #startLine: StartLine;
  /** Bytes of the current start-line part seen so far. */
  #partLength = 0;
  #rest: Uint8Array = EMPTY;
  #error: HandshakeError | undefined;

  /**
   * @param kind `"request"` on a server, `"response"` on a client.
   * @param limits `maxHeadSize` (bytes, default 16 KiB) and `maxHeaderCount` (default 100).
   */
  /** Creates a parser for a request or response head, with optional size and header-count limits. */
  constructor(kind: K, limits: HttpHeadLimits = {}) {
    this.kind = kind;
    this.#startLine = kind === "request" ? StartLine.Method : StartLine.Done;
    this.#maxHeadSize = limits.maxHeadSize ?? DEFAULT_LIMITS.maxHeadSize;
    this.#maxHeaderCount = limits.maxHeaderCount ?? DEFAULT_LIMITS.maxHeaderCount;
  }

  /** The parsed head once complete, else `undefined`. */
  get head(): HttpHead<K> | undefined {
    return this.#head;
  }

  /**
   * The bytes received after the head (frames already sent by the peer): empty until the head
   * is complete. A view into the last pushed chunk: copy it if that buffer will be reused.
   */
  get rest(): Uint8Array {
    return this.#rest;
  }

  /**
   * Takes the next bytes of the stream. Returns the head once complete, `undefined` while more
   * bytes are needed.
   *
   * @throws {HandshakeError} on a head that is too large, has too many fields or is malformed.
   * @throws {LocalProtocolError} `INVALID_STATE` when called again after the head was returned.
   */
  push(chunk: Uint8Array): HttpHead<K> | undefined {
    if (this.#error !== undefined) throw this.#error;
    if (this.#head !== undefined) {
      throw new LocalProtocolError(
        ErrorCode.InvalidState,
        "Cannot push to HttpHeadParser: the head is already complete",
      );
    }
    try {
      return this.#push(chunk);
    } catch (error) {
      if (error instanceof HandshakeError) this.#error = error;
      throw error;
    }
  }

  #push(chunk: Uint8Array): HttpHead<K> | undefined {
    if (this.#startLine !== StartLine.Done) this.#checkStartLine(chunk);
    // Find the empty line that ends the head, scanning each byte once (RFC 9112 §2.1). The same
    // pass notes whether any byte is not plain ASCII text (a control character other than HTAB,
    // CR and LF, DEL, or obs-text): if none is, the head decodes in one native call and the field
    // values need no check of their own, so a large head costs one scan in JavaScript.
    let end = -1;
    let atLineStart = this.#atLineStart;
    let plain = true;
    const limit = Math.min(chunk.length, this.#maxHeadSize - this.#scanned);
    for (let i = 0; i < limit; i++) {
      const byte = chunk[i]!;
      if (byte === LF) {
        if (atLineStart) {
          end = i + 1;
          break;
        }
        atLineStart = true;
      } else if (byte !== CR) {
        atLineStart = false;
        if (byte >= DEL || (byte < SP && byte !== HTAB)) plain = false;
      }
    }
    this.#atLineStart = atLineStart;
    if (!plain) this.#plain = false;
    if (end === -1) {
      if (limit < chunk.length) {
        throw this.#problem(
          ErrorCode.HeadTooLarge,
          431,
          `the head is larger than maxHeadSize (${this.#maxHeadSize} bytes)`,
        );
      }
      this.#text += latin1(chunk, 0, chunk.length, plain);
      this.#scanned += chunk.length;
      return undefined;
    }

    const text = this.#text + latin1(chunk, 0, end, plain);
    this.#text = "";
    this.#scanned += end;
    const head = this.#parse(text);
    this.#rest = end < chunk.length ? chunk.subarray(end) : EMPTY;
    this.#head = head;
    return head;
  }

  /**
   * Walks the request line in `chunk` until it ends (RFC 9112 §3: method SP request-target SP
   * HTTP-version), throwing at the first byte that cannot belong to it. Only the start line is
   * walked, so a head costs this check once per start-line byte.
   */
  #checkStartLine(chunk: Uint8Array): void {
    let part: StartLine = this.#startLine;
    let length = this.#partLength;
    // Only the bytes within maxHeadSize: beyond it the head is too large (431), whatever they
    // hold, so the error does not depend on how the bytes were split.
    const end = Math.min(chunk.length, this.#maxHeadSize - this.#scanned);
    for (let i = 0; i < end && part !== StartLine.Done; i++) {
      const byte = chunk[i]!;
      if (part === StartLine.Method) {
        if (byte === SP && length > 0) {
          part = StartLine.Target;
          length = 0;
        } else if (isTchar(byte)) length++;
        else throw this.#malformed("the request does not start with a method token (not HTTP/1.1)");
      } else if (part === StartLine.Target) {
        if (byte === SP && length > 0) {
          part = StartLine.Version;
          length = 0;
        } else if (byte > SP && byte < 0x7f) length++;
        else throw this.#malformed("the request target holds a character outside VCHAR");
      } else if (length === VERSION_PATTERN.length) {
        if (byte !== CR && byte !== LF)
          throw this.#malformed("the request line goes on after the HTTP version");
        part = StartLine.Done;
      } else {
        const expected = VERSION_PATTERN.charCodeAt(length);
        const ok = expected === 0x44 /* D */ ? byte >= 0x30 && byte <= 0x39 : byte === expected;
        if (!ok) throw this.#malformed("the request line does not end with an HTTP version");
        length++;
      }
    }
    this.#startLine = part;
    this.#partLength = length;
  }

  #problem(code: ErrorCode, status: number, reason: string): HandshakeError {
    return new HandshakeError(
      code,
      this.kind === "request" ? status : 0,
      `Cannot parse HTTP ${this.kind} head: ${reason}`,
    );
  }

  #malformed(reason: string): HandshakeError {
    return this.#problem(ErrorCode.MalformedHead, 400, reason);
  }

  #parse(text: string): HttpHead<K> {
    const lines = text.split("\n");
    // The text ends with the empty line's LF: drop the "" after that LF, then the empty line,
    // which may only hold the CR of a CRLF.
    lines.pop();
    const blank = lines.pop();
    if (blank !== "" && blank !== "\r") throw this.#malformed("the line ending the head holds stray CRs");
    const headers: HeaderField[] = [];
    for (let index = 1; index < lines.length; index++) {
      if (headers.length >= this.#maxHeaderCount) {
        throw this.#problem(
          ErrorCode.TooManyHeaders,
          431,
          `the head has more than maxHeaderCount (${this.#maxHeaderCount}) fields`,
        );
      }
      headers.push(this.#field(this.#line(lines[index]!)));
    }
    const startLine = this.#line(lines[0] ?? "");
    const headerMap = normalizeHeaders(headers);
    return (
      this.kind === "request"
        ? this.#requestLine(startLine, headers, headerMap)
        : this.#statusLine(startLine, headers, headerMap)
    ) as HttpHead<K>;
  }

  /** A line without its CR; a CR anywhere else is a bare CR (RFC 9112 §2.2). */
  #line(line: string): string {
    const content = line.charCodeAt(line.length - 1) === CR ? line.slice(0, -1) : line;
    if (content.includes("\r")) throw this.#malformed("a line holds a bare CR");
    return content;
  }

  /** field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
  #field(line: string): HeaderField {
    const colon = line.indexOf(":");
    if (colon <= 0) {
      if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09)
        throw this.#malformed("obs-fold is not accepted");
      throw this.#malformed(
        `the header line ${JSON.stringify(line.slice(0, 64))} has no field name and colon`,
      );
    }
    const name = line.slice(0, colon);
    if (!isToken(name))
      throw this.#malformed(`the field name ${JSON.stringify(name.slice(0, 64))} is not a token`);
    let start = colon + 1;
    let end = line.length;
    while (start < end && isOws(line.charCodeAt(start))) start++;
    while (end > start && isOws(line.charCodeAt(end - 1))) end--;
    // field-value characters: VCHAR / obs-text, with SP / HTAB inside (RFC 9110 §5.5). A plain
    // head holds no other character.
    for (let i = this.#plain ? end : start; i < end; i++) {
      const code = line.charCodeAt(i);
      if ((code < 0x20 && code !== 0x09) || code === 0x7f) {
        throw this.#malformed(`the value of ${name} holds a control character`);
      }
    }
    return [name, line.slice(start, end)];
  }

  /** request-line = method SP request-target SP HTTP-version (RFC 9112 §3). */
  #requestLine(
    line: string,
    headers: readonly HeaderField[],
    headerMap: ReadonlyMap<string, string>,
  ): HttpRequestHead {
    const first = line.indexOf(" ");
    const second = first === -1 ? -1 : line.indexOf(" ", first + 1);
    if (second === -1) throw this.#malformed("the request line is not method SP target SP version");
    const method = line.slice(0, first);
    const target = line.slice(first + 1, second);
    const httpVersion = this.#version(line.slice(second + 1));
    if (!isToken(method)) throw this.#malformed("the method is not a token");
    if (target.length === 0) throw this.#malformed("the request target is empty");
    for (let i = 0; i < target.length; i++) {
      const code = target.charCodeAt(i);
      if (code <= 0x20 || code >= 0x7f)
        throw this.#malformed("the request target holds a character outside VCHAR");
    }
    return { kind: "request", method, target, httpVersion, headers, headerMap };
  }

  /** status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). */
  #statusLine(
    line: string,
    headers: readonly HeaderField[],
    headerMap: ReadonlyMap<string, string>,
  ): HttpResponseHead {
    const first = line.indexOf(" ");
    if (first === -1) throw this.#malformed("the status line is not version SP status SP reason");
    const httpVersion = this.#version(line.slice(0, first));
    const code = line.slice(first + 1, first + 4);
    // Some servers omit the SP before an empty reason phrase: tolerate it.
    if (!/^[1-9][0-9][0-9]$/.test(code) || (line.length > first + 4 && line.charCodeAt(first + 4) !== 0x20)) {
      throw this.#malformed("the status code is not three digits");
    }
    const statusText = line.slice(first + 5);
    for (let i = 0; i < statusText.length; i++) {
      const c = statusText.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f)
        throw this.#malformed("the reason phrase holds a control character");
    }
    return { kind: "response", httpVersion, status: Number(code), statusText, headers, headerMap };
  }

  /** HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3). */
  #version(text: string): string {
    if (!/^HTTP\/[0-9]\.[0-9]$/.test(text))
      throw this.#malformed(`the HTTP version ${JSON.stringify(text.slice(0, 16))} is invalid`);
    return text.slice(5);
  }
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function latin1(bytes: Uint8Array, start: number, end: number, ascii: boolean): string {
  // A head is nearly always ASCII, where ISO-8859-1 and UTF-8 agree: the runtime's native
  // decoder then makes the string in one call.
  if (ascii) return utf8Decoder.decode(bytes.subarray(start, end));
  let high = 0;
  for (let i = start; i < end; i++) high |= bytes[i]!;
  if (high < 0x80) return utf8Decoder.decode(bytes.subarray(start, end));
  let text = "";
  // String.fromCharCode in bounded batches: one char per byte is exactly ISO-8859-1. With
  // apply, not a spread: spreading a typed array runs its iterator, one result object per
  // byte (about 6 KiB of garbage per handshake).
  for (let i = start; i < end; i += 4096) {
    text += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return text;
}
