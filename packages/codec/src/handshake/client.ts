/**
 * The client side of the opening handshake (RFC 6455 §4.1): parse the WebSocket URL, write the
 * upgrade request, and check the server's response.
 *
 * Caller mistakes (an invalid URL, subprotocol names that are not unique tokens, an invalid
 * key, extra headers that would override handshake fields) throw `TypeError`; the WHATWG
 * `WebSocket` constructor reports some of them as a `SyntaxError` `DOMException`, which an
 * adapter can map. An unacceptable server response throws {@link HandshakeError}.
 *
 * @module
 */
import { WEBSOCKET_VERSION } from "../constants.ts";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { Extension, ExtensionFactory, ExtensionOffer } from "../extensions/extension.ts";
import { computeAcceptKey, isValidKey } from "./accept-key.ts";
import { extraHeaderFields, formatHead } from "./head-format.ts";
import { formatExtensions, formatProtocols, hasToken, isToken, parseExtensions } from "./header-tokens.ts";
import { type HeadersInput, normalizeHeaders } from "./headers.ts";

/** The subset of the WHATWG `URL` used here, typed locally (the codec compiles without DOM types). */
interface UrlRecord {
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string;
  readonly host: string;
  readonly pathname: string;
  readonly search: string;
  readonly href: string;
}

/** A parsed `ws:` / `wss:` URL (WHATWG WebSocket "establish a WebSocket connection" inputs). */
export interface WebSocketUrl {
  /** `true` for `wss:` (and `https:`), to connect over TLS. */
  readonly secure: boolean;
  /** The host to connect to, without the brackets of an IPv6 literal (ready for `connect()`). */
  readonly hostname: string;
  /** The port to connect to, the scheme's default (80 or 443) when the URL has none. */
  readonly port: number;
  /** The `Host` header value: the host, with `:port` only when not the default (RFC 6455 §4.1 item 4). */
  readonly host: string;
  /** The path, starting with `/`. */
  readonly pathname: string;
  /** The query with its `?`, or the empty string. */
  readonly search: string;
  /** The whole URL serialized with a `ws:` or `wss:` scheme. */
  readonly href: string;
}

/**
 * Parses a WebSocket URL the way the WHATWG `WebSocket` constructor does: `http:` and `https:`
 * become `ws:` and `wss:`, other schemes and any fragment (even an empty `#`) are rejected.
 * Uses the runtime's WHATWG `URL` parser (every supported runtime has one).
 *
 * @throws {TypeError} when the URL cannot be parsed, has another scheme or has a fragment.
 *
 * @example
 * ```ts
 * import { parseWebSocketUrl } from "./client.ts";
 * const url = parseWebSocketUrl("wss://example.com:8443/chat?room=1");
 * console.assert(url.secure && url.port === 8443 && url.host === "example.com:8443");
 * console.assert(url.pathname + url.search === "/chat?room=1");
 * ```
 */
export function parseWebSocketUrl(url: string): WebSocketUrl {
  const Url = (globalThis as unknown as { URL?: new (url: string) => UrlRecord }).URL;
  if (Url === undefined) throw new TypeError("Cannot parse WebSocket URL: globalThis.URL is missing");
  let record: UrlRecord;
  try {
    record = new Url(url);
  } catch {
    throw new TypeError(`Cannot parse WebSocket URL ${JSON.stringify(url)}: it is not a valid URL`);
  }
  let secure: boolean;
  switch (record.protocol) {
    case "ws:":
    case "http:":
      secure = false;
      break;
    case "wss:":
    case "https:":
      secure = true;
      break;
    default:
      throw new TypeError(
        `Cannot use URL ${JSON.stringify(url)}: the scheme must be ws: or wss: (or http:, https:), not ${record.protocol}`,
      );
  }
  // A non-null fragment, even an empty one, serializes as "#" in href; "#" cannot appear
  // elsewhere in a serialized URL (it is percent-encoded).
  if (record.href.includes("#"))
    throw new TypeError(`Cannot use URL ${JSON.stringify(url)}: it has a fragment`);
  const hostname = record.hostname.startsWith("[") ? record.hostname.slice(1, -1) : record.hostname;
  return {
    secure,
    hostname,
    port: record.port === "" ? (secure ? 443 : 80) : Number(record.port),
    host: record.host,
    pathname: record.pathname === "" ? "/" : record.pathname,
    search: record.search,
    href: (secure ? "wss:" : "ws:") + record.href.slice(record.protocol.length),
  };
}

/** Where the request goes: a URL string, or anything shaped like a parsed URL. */
export type UpgradeTarget =
  | string
  | { readonly host: string; readonly pathname: string; readonly search?: string };

/** Options of {@link buildUpgradeRequest} and {@link upgradeRequestHeaders}. */
export interface UpgradeRequestOptions {
  /** The WebSocket URL, or a parsed one ({@link WebSocketUrl}, a WHATWG `URL`). */
  readonly url: UpgradeTarget;
  /** The `Sec-WebSocket-Key`, from {@link generateKey}. */
  readonly key: string;
  /** The subprotocols to offer, most preferred first; unique tokens. */
  readonly protocols?: readonly string[] | undefined;
  /** The extensions to offer, in order; each factory's offers are sent. */
  readonly extensions?: readonly ExtensionFactory[] | undefined;
  /** The `Origin` header value (RFC 6455 §4.1 item 8; browsers always send it). */
  readonly origin?: string | undefined;
  /**
   * Extra header fields (cookies, authorization). They may not set `Host`, `Upgrade`,
   * `Connection`, `Content-Length`, `Transfer-Encoding`, any `Sec-WebSocket-*` field, nor
   * `Origin` when the `origin` option is given.
   */
  readonly headers?: HeadersInput | undefined;
}

function isVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) return false;
  }
  return true;
}

/**
 * The header fields of the upgrade request (RFC 6455 §4.1 items 4–12), `Host` first, for
 * runtimes that build a request object rather than writing bytes.
 *
 * @throws {TypeError} on an invalid URL, key, subprotocol list or extra header.
 *
 * @example
 * ```ts
 * import { upgradeRequestHeaders } from "./client.ts";
 * const fields = upgradeRequestHeaders({ url: "ws://example.com/chat", key: "dGhlIHNhbXBsZSBub25jZQ==" });
 * console.assert(fields[0]![0] === "Host" && fields[0]![1] === "example.com");
 * ```
 */
export function upgradeRequestHeaders(options: UpgradeRequestOptions): [string, string][] {
  return buildRequest(options).fields;
}

function buildRequest(options: UpgradeRequestOptions): { target: string; fields: [string, string][] } {
  const url = typeof options.url === "string" ? parseWebSocketUrl(options.url) : options.url;
  const target = (url.pathname === "" ? "/" : url.pathname) + (url.search ?? "");
  if (!isVisibleAscii(target) || !target.startsWith("/")) {
    throw new TypeError(
      `Cannot build upgrade request: the path ${JSON.stringify(target)} is not an absolute ASCII path`,
    );
  }
  if (url.host === "" || !isVisibleAscii(url.host)) {
    throw new TypeError(`Cannot build upgrade request: the host ${JSON.stringify(url.host)} is not valid`);
  }
  if (!isValidKey(options.key)) {
    throw new TypeError("Cannot build upgrade request: the key is not the base64 encoding of 16 bytes");
  }
  // RFC 6455 §4.1 items 4–9.
  const fields: [string, string][] = [
    ["Host", url.host],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", options.key],
    ["Sec-WebSocket-Version", WEBSOCKET_VERSION],
  ];
  const origin = options.origin;
  if (origin !== undefined) {
    extraHeaderFields([["Origin", origin]], () => false, "build upgrade request");
    fields.push(["Origin", origin]);
  }
  // Item 10: the subprotocols, unique tokens.
  const protocols = options.protocols ?? [];
  if (protocols.length > 0) fields.push(["Sec-WebSocket-Protocol", formatProtocols(protocols)]);
  // Item 11: the extensions.
  const offers: ExtensionOffer[] = [];
  const names = new Set<string>();
  for (const factory of options.extensions ?? []) {
    if (names.has(factory.name)) {
      throw new TypeError(`Cannot build upgrade request: two extension factories are named ${factory.name}`);
    }
    names.add(factory.name);
    offers.push(...factory.offer());
  }
  if (offers.length > 0) fields.push(["Sec-WebSocket-Extensions", formatExtensions(offers)]);
  // Item 12: other fields, which must not override the handshake's.
  const reserved = (name: string): boolean =>
    name === "host" ||
    name === "upgrade" ||
    name === "connection" ||
    name === "content-length" ||
    name === "transfer-encoding" ||
    name.startsWith("sec-websocket-") ||
    (origin !== undefined && name === "origin");
  for (const [name, value] of extraHeaderFields(options.headers, reserved, "build upgrade request")) {
    fields.push([name, value]);
  }
  return { target, fields };
}

/**
 * The client's opening handshake request head (RFC 6455 §4.1), ready to write to the socket
 * (ASCII): `GET <path> HTTP/1.1`, then `Host` (with the port only when not the default),
 * `Upgrade`, `Connection`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`, and `Origin`,
 * `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions` and extra fields when given.
 *
 * @throws {TypeError} on an invalid URL, key, subprotocol list or extra header.
 *
 * @example
 * ```ts
 * import { buildUpgradeRequest, generateKey } from "./index.ts";
 * const head = buildUpgradeRequest({
 *   url: "ws://example.com:8080/chat",
 *   key: generateKey(),
 *   protocols: ["chat", "superchat"],
 * });
 * console.assert(head.startsWith("GET /chat HTTP/1.1\r\nHost: example.com:8080\r\n"));
 * console.assert(head.includes("\r\nSec-WebSocket-Protocol: chat, superchat\r\n"));
 * ```
 */
export function buildUpgradeRequest(options: UpgradeRequestOptions): string {
  const { target, fields } = buildRequest(options);
  return formatHead(`GET ${target} HTTP/1.1`, fields);
}

function fail(status: number, code: ErrorCode, reason: string): never {
  throw new HandshakeError(code, status, `Cannot open WebSocket connection: ${reason}`);
}

/** The parts of an HTTP response the client handshake looks at. */
export interface UpgradeResponse {
  /** The status code. */
  readonly status: number;
  /** The response's header fields, in any {@link HeadersInput} shape. */
  readonly headers: HeadersInput;
}

/** What the client sent, to check the response against. */
export interface CheckUpgradeResponseOptions {
  /** The `Sec-WebSocket-Key` sent. */
  readonly key: string;
  /** The subprotocols offered. */
  readonly protocols?: readonly string[] | undefined;
  /** The extension factories whose offers were sent. */
  readonly extensions?: readonly ExtensionFactory[] | undefined;
}

/** What the server agreed to, from {@link checkUpgradeResponse}. */
export interface ConfirmedUpgrade {
  /** The subprotocol the server selected, or `undefined` (WHATWG `protocol` is then ""). */
  readonly protocol: string | undefined;
  /** The extensions in use, in the server's order. */
  readonly extensions: Extension[];
  /** The server's `Sec-WebSocket-Extensions` value when it accepted any (WHATWG `extensions`). */
  readonly extensionsHeader: string | undefined;
}

/**
 * Checks the server's response to the opening handshake (RFC 6455 §4.1, "the client MUST
 * validate the server's response as follows", steps 1–6) and returns the negotiated
 * subprotocol and extensions.
 *
 * The thrown error carries the response's status: anything but 101 is `BAD_STATUS` (step 1;
 * redirects and authentication are the caller's business). Then `Upgrade` must be
 * `websocket` (step 2, `BAD_UPGRADE`), `Connection` must hold `Upgrade` (step 3,
 * `BAD_CONNECTION`), `Sec-WebSocket-Accept` must match the key (step 4, `BAD_ACCEPT`), every
 * extension must have been offered, appear once, and be accepted by its factory (step 5,
 * `BAD_EXTENSIONS`), and the subprotocol must be one offered (step 6, `BAD_SUBPROTOCOL`).
 *
 * @throws {HandshakeError} when the connection must be failed.
 *
 * @example
 * ```ts
 * import { checkUpgradeResponse } from "./client.ts";
 * const result = checkUpgradeResponse(
 *   {
 *     status: 101,
 *     headers: [
 *       ["Upgrade", "websocket"],
 *       ["Connection", "Upgrade"],
 *       ["Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="],
 *       ["Sec-WebSocket-Protocol", "chat"],
 *     ],
 *   },
 *   { key: "dGhlIHNhbXBsZSBub25jZQ==", protocols: ["chat", "superchat"] },
 * );
 * console.assert(result.protocol === "chat" && result.extensions.length === 0);
 * ```
 */
export function checkUpgradeResponse(
  response: UpgradeResponse,
  options: CheckUpgradeResponseOptions,
): ConfirmedUpgrade {
  const status = response.status;
  // Step 1: the server switches protocols, or the handshake is over.
  if (status !== 101) fail(status, ErrorCode.BadStatus, `the server answered ${status} instead of 101`);
  const headers = normalizeHeaders(response.headers);
  // Step 2: Upgrade is "websocket", ASCII case-insensitive.
  const upgrade = headers.get("upgrade");
  if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") {
    fail(status, ErrorCode.BadUpgrade, "the Upgrade header of the response is not websocket");
  }
  // Step 3: Connection holds "Upgrade", ASCII case-insensitive.
  if (!hasToken(headers.get("connection"), "upgrade")) {
    fail(status, ErrorCode.BadConnection, "the Connection header of the response does not hold Upgrade");
  }
  // Step 4: Sec-WebSocket-Accept is base64(SHA-1(key + GUID)).
  if (headers.get("sec-websocket-accept") !== computeAcceptKey(options.key)) {
    fail(status, ErrorCode.BadAccept, "Sec-WebSocket-Accept does not match the key sent");
  }

  return confirmNegotiation(headers, status, options);
}

/**
 * Steps 5 and 6 of RFC 6455 §4.1 (the extensions and the subprotocol the server chose), shared
 * with the HTTP/2 handshake (RFC 8441 §5 keeps them as they are).
 *
 * @throws {HandshakeError} when the connection must be failed.
 */
export function confirmNegotiation(
  headers: ReadonlyMap<string, string>,
  status: number,
  options: CheckUpgradeResponseOptions,
): ConfirmedUpgrade {
  // Step 5: only extensions the client offered, each once, each accepted by its factory.
  const extensions: Extension[] = [];
  const extensionsValue = headers.get("sec-websocket-extensions");
  const responses = extensionsValue === undefined ? [] : parseExtensions(extensionsValue, status);
  const factories = options.extensions ?? [];
  const seen = new Set<string>();
  let usedRsv = 0;
  for (const element of responses) {
    const factory = factories.find((candidate) => candidate.name === element.name);
    if (factory === undefined)
      fail(
        status,
        ErrorCode.BadExtensions,
        `the server accepted extension ${element.name}, which was not offered`,
      );
    if (seen.has(element.name))
      fail(status, ErrorCode.BadExtensions, `the server accepted extension ${element.name} twice`);
    seen.add(element.name);
    const extension = factory.accept(element);
    if ((extension.rsvMask & usedRsv) !== 0) {
      fail(
        status,
        ErrorCode.BadExtensions,
        `extension ${element.name} uses RSV bits another accepted extension uses`,
      );
    }
    usedRsv |= extension.rsvMask;
    extensions.push(extension);
  }

  // Step 6: no subprotocol, or one the client offered.
  const protocolValue = headers.get("sec-websocket-protocol");
  let protocol: string | undefined;
  if (protocolValue !== undefined) {
    if (!isToken(protocolValue)) {
      fail(
        status,
        ErrorCode.BadSubprotocol,
        `the server selected ${JSON.stringify(protocolValue)}, which is not one token`,
      );
    }
    if (!(options.protocols ?? []).includes(protocolValue)) {
      fail(
        status,
        ErrorCode.BadSubprotocol,
        `the server selected subprotocol ${protocolValue}, which was not offered`,
      );
    }
    protocol = protocolValue;
  }

  return {
    protocol,
    extensions,
    extensionsHeader: extensions.length === 0 ? undefined : extensionsValue,
  };
}
