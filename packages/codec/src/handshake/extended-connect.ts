/**
 * The opening handshake over HTTP/2 (RFC 8441, "Bootstrapping WebSockets with HTTP/2"), sans
 * I/O: an Extended CONNECT request on one HTTP/2 stream, answered with a `2xx` status, after
 * which the stream carries the WebSocket frames unchanged (RFC 8441 §5).
 *
 * What differs from HTTP/1.1 (RFC 6455 §4):
 * - the request is `:method CONNECT` with `:protocol websocket`, and `:scheme`, `:path` and
 *   `:authority` (RFC 8441 §4, §5); the scheme is `https` for `wss:` URIs and `http` for `ws:`;
 * - `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` are not used (§5), nor `Upgrade` and
 *   `Connection`, which are connection-specific and malformed in HTTP/2 (RFC 9113 §8.2.2);
 * - `Sec-WebSocket-Version`, `-Protocol`, `-Extensions` and `Origin` keep their RFC 6455
 *   meaning (§5), so subprotocols and permessage-deflate are negotiated as over HTTP/1.1;
 * - the server answers `:status 200` (any 2xx opens the tunnel, RFC 9110 §9.3.6); field names
 *   are lower case (RFC 9113 §8.2.1).
 *
 * Status codes chosen by {@link checkExtendedConnectRequest}:
 *
 * | Problem                                             | Status | Code                  | Extra headers               |
 * | --------------------------------------------------- | ------ | --------------------- | --------------------------- |
 * | method is not `CONNECT`                             | 405    | `BAD_METHOD`          | `allow: CONNECT`            |
 * | `:protocol` missing or not `websocket`              | 400    | `BAD_UPGRADE`         |                             |
 * | `:scheme` not `http`/`https`, `:path` not `/…`      | 400    | `MALFORMED_HEAD`      |                             |
 * | no `:authority` (nor `host`)                        | 400    | `MISSING_HOST`        |                             |
 * | `sec-websocket-version` missing or not 13           | 400    | `UNSUPPORTED_VERSION` | `sec-websocket-version: 13` |
 * | malformed `sec-websocket-protocol`                  | 400    | `BAD_SUBPROTOCOL`     |                             |
 * | malformed `sec-websocket-extensions` (1)            | 400    | `BAD_EXTENSIONS`      |                             |
 *
 * A version mismatch gets 400 rather than HTTP/1.1's 426: a 426 must carry `Upgrade` (RFC 9110
 * §15.5.22), which HTTP/2 forbids; RFC 6455 §4.4 asks only for "an appropriate HTTP error code"
 * with `Sec-WebSocket-Version`.
 *
 * (1) Only by a server that has extensions, as over HTTP/1.1 (`server.ts`): one with none
 * configured does not read `sec-websocket-extensions`.
 *
 * @module
 */
import { WEBSOCKET_VERSION } from "../constants.ts";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { ExtensionFactory, ExtensionOffer } from "../extensions/extension.ts";
import { utf8Encoder } from "../web-globals.ts";
import {
  type CheckUpgradeResponseOptions,
  type ConfirmedUpgrade,
  confirmNegotiation,
  parseWebSocketUrl,
  type WebSocketUrl,
} from "./client.ts";
import { extraHeaderFields, reasonPhrase } from "./head-format.ts";
import { formatExtensions, formatProtocols, parseProtocols } from "./header-tokens.ts";
import { type HeadersInput, headerEntries, normalizeHeaders } from "./headers.ts";
import {
  type AcceptedUpgrade,
  allOffers,
  type CheckUpgradeRequestOptions,
  negotiateExtensions,
  offersFor,
  type RejectResponseOptions,
  selectProtocol,
  type UpgradeRequest,
} from "./server.ts";

/** The `:protocol` value of a WebSocket Extended CONNECT (RFC 8441 §4, IANA upgrade token). */
export const EXTENDED_CONNECT_PROTOCOL = "websocket";

/** The status a server answers an accepted Extended CONNECT with (RFC 8441 §5). */
export const EXTENDED_CONNECT_STATUS = 200;

/**
 * Connection-specific fields, malformed in an HTTP/2 message (RFC 9113 §8.2.2), and `host`,
 * which `:authority` replaces (RFC 9113 §8.3.1).
 */
function isConnectionSpecific(name: string): boolean {
  return (
    name === "connection" ||
    name === "upgrade" ||
    name === "keep-alive" ||
    name === "proxy-connection" ||
    name === "transfer-encoding"
  );
}

function reject(
  code: ErrorCode,
  status: number,
  reason: string,
  headers?: Readonly<Record<string, string>>,
): never {
  throw new HandshakeError(code, status, `Cannot accept WebSocket over HTTP/2: ${reason}`, headers);
}

/**
 * Whether an HTTP/2 request's headers are a WebSocket Extended CONNECT (`:method CONNECT` and
 * `:protocol websocket`), so a server can route it before checking it.
 */
export function isExtendedConnect(headers: HeadersInput): boolean {
  const map = normalizeHeaders(headers);
  return (
    map.get(":method") === "CONNECT" && map.get(":protocol")?.toLowerCase() === EXTENDED_CONNECT_PROTOCOL
  );
}

/**
 * Checks an Extended CONNECT request (RFC 8441 §4–§5), then selects the subprotocol and
 * negotiates extensions exactly as {@link checkUpgradeRequest} does (RFC 6455 §4.2.2 step 5).
 * `request.headers` hold the pseudo-header fields (`:method`, `:protocol`, `:scheme`, `:path`,
 * `:authority`) beside the others, as Node's `http2` hands them over; `request.method` is the
 * `:method` value. The result's `key` and `accept` are empty (no key over HTTP/2). See the
 * module comment for the status of each rejection.
 *
 * @throws {HandshakeError} when the request is not an acceptable WebSocket Extended CONNECT.
 * @throws {TypeError} when the protocol function returns a protocol the client did not offer,
 *   or two extension factories share a name.
 *
 * @example
 * ```ts
 * import { checkExtendedConnectRequest } from "./extended-connect.ts";
 * const accepted = checkExtendedConnectRequest(
 *   {
 *     method: "CONNECT",
 *     headers: {
 *       ":method": "CONNECT",
 *       ":protocol": "websocket",
 *       ":scheme": "https",
 *       ":path": "/chat",
 *       ":authority": "server.example.com",
 *       "sec-websocket-version": "13",
 *       "sec-websocket-protocol": "chat, superchat",
 *     },
 *   },
 *   { protocols: ["superchat"] },
 * );
 * console.assert(accepted.protocol === "superchat" && accepted.accept === "");
 * ```
 */
export function checkExtendedConnectRequest(
  request: UpgradeRequest,
  options: CheckUpgradeRequestOptions = {},
): AcceptedUpgrade {
  const headers = normalizeHeaders(request.headers);
  const method = headers.get(":method") ?? request.method;
  // RFC 8441 §4: the CONNECT method, extended by :protocol.
  if (method !== "CONNECT") {
    reject(ErrorCode.BadMethod, 405, `the method is ${method}, expected CONNECT`, { allow: "CONNECT" });
  }
  const protocolToken = headers.get(":protocol");
  if (protocolToken === undefined || protocolToken.toLowerCase() !== EXTENDED_CONNECT_PROTOCOL) {
    reject(
      ErrorCode.BadUpgrade,
      400,
      protocolToken === undefined
        ? "the :protocol pseudo-header is missing"
        : `the :protocol pseudo-header is ${protocolToken}, expected websocket`,
    );
  }
  // RFC 8441 §4 and §5: :scheme and :path of the target URI are included; the scheme is http
  // for ws: and https for wss: URIs.
  const scheme = headers.get(":scheme");
  if (scheme !== "http" && scheme !== "https") {
    reject(ErrorCode.MalformedHead, 400, "the :scheme pseudo-header must be http or https");
  }
  const path = headers.get(":path");
  if (path === undefined || !path.startsWith("/")) {
    reject(ErrorCode.MalformedHead, 400, "the :path pseudo-header must be an absolute path");
  }
  // RFC 8441 §4: :authority is interpreted as for other requests (RFC 9113 §8.3.1).
  if (!(headers.get(":authority") || headers.get("host"))) {
    reject(ErrorCode.MissingHost, 400, "the :authority pseudo-header is missing");
  }
  // RFC 8441 §5 keeps Sec-WebSocket-Version (RFC 6455 §4.4); see the module comment for 400.
  const version = headers.get("sec-websocket-version");
  if (version !== WEBSOCKET_VERSION) {
    reject(
      ErrorCode.UnsupportedVersion,
      400,
      version === undefined
        ? "the sec-websocket-version header is missing"
        : `sec-websocket-version ${version} is not supported`,
      { "sec-websocket-version": WEBSOCKET_VERSION },
    );
  }
  const protocolHeader = headers.get("sec-websocket-protocol");
  const offeredProtocols = protocolHeader === undefined ? [] : parseProtocols(protocolHeader, 400);
  const protocol = selectProtocol(offeredProtocols, options.protocols);
  const extensionsValue = headers.get("sec-websocket-extensions");
  const factories = options.extensions ?? [];
  const offers = offersFor(extensionsValue, factories);
  const { extensions, responses } = negotiateExtensions(offers, factories);
  let offered: readonly ExtensionOffer[] | undefined;
  return {
    key: "",
    accept: "",
    protocol,
    offeredProtocols,
    extensions,
    extensionsHeader: responses.length === 0 ? undefined : formatExtensions(responses),
    // Built when first read: a server needs only the offers of its own extensions.
    get offeredExtensions(): readonly ExtensionOffer[] {
      offered ??= allOffers(extensionsValue);
      return offered;
    },
  };
}

/** Options of {@link extendedConnectResponseHeaders}. */
export interface ExtendedConnectResponseOptions {
  /** The selected subprotocol, if any. */
  readonly protocol?: string | undefined;
  /** The `sec-websocket-extensions` value, if any. */
  readonly extensionsHeader?: string | undefined;
  /**
   * Extra header fields (cookies, for example). They may not be pseudo-header fields,
   * connection-specific fields (RFC 9113 §8.2.2) or any `sec-websocket-*` field.
   */
  readonly headers?: HeadersInput | undefined;
}

function isReservedInH2Response(name: string): boolean {
  return name.startsWith(":") || isConnectionSpecific(name) || name.startsWith("sec-websocket-");
}

/**
 * The header fields (lower-case names, no pseudo-header) of the `200` response that accepts an
 * Extended CONNECT (RFC 8441 §5); send them with `:status` {@link EXTENDED_CONNECT_STATUS}.
 *
 * @throws {TypeError} when an extra header is invalid, connection-specific or reserved.
 *
 * @example
 * ```ts
 * import { extendedConnectResponseHeaders } from "./extended-connect.ts";
 * const fields = extendedConnectResponseHeaders({ protocol: "chat" });
 * console.assert(fields.length === 1 && fields[0]![0] === "sec-websocket-protocol");
 * ```
 */
export function extendedConnectResponseHeaders(options: ExtendedConnectResponseOptions): [string, string][] {
  const fields: [string, string][] = [];
  if (options.protocol !== undefined) fields.push(["sec-websocket-protocol", options.protocol]);
  if (options.extensionsHeader !== undefined)
    fields.push(["sec-websocket-extensions", options.extensionsHeader]);
  for (const [name, value] of extraHeaderFields(
    options.headers,
    isReservedInH2Response,
    "build the Extended CONNECT response",
  )) {
    fields.push([name.toLowerCase(), value]);
  }
  return fields;
}

/** A rejection of an Extended CONNECT, as HTTP/2 response parts. */
export interface ExtendedConnectRejection {
  /** The `:status` to answer with. */
  readonly status: number;
  /** The header fields (lower-case names, no pseudo-header), `content-length` included. */
  readonly headers: [string, string][];
  /** The response body (text). */
  readonly body: string;
}

/**
 * The response that rejects an Extended CONNECT: the status, the rejection's headers (lower
 * case, without connection-specific fields, which HTTP/2 forbids, RFC 9113 §8.2.2), and a short
 * text body. A {@link HandshakeError}'s message becomes the body. The stream ends after it.
 *
 * @throws {RangeError} when the status is not an integer in 100–599.
 * @throws {TypeError} when an extra header is invalid.
 *
 * @example
 * ```ts
 * import { extendedConnectRejection } from "./extended-connect.ts";
 * const parts = extendedConnectRejection({ status: 426, headers: { Upgrade: "websocket" } });
 * console.assert(parts.status === 426 && parts.headers.every(([name]) => name !== "upgrade"));
 * ```
 */
export function extendedConnectRejection(
  rejection: HandshakeError | RejectResponseOptions,
): ExtendedConnectRejection {
  const status = rejection.status;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`Cannot build a rejection response: status ${status} is not in 100–599`);
  }
  const body =
    rejection instanceof HandshakeError ? rejection.message : (rejection.body ?? reasonPhrase(status));
  const extra = extraHeaderFields(rejection.headers, () => false, "build a rejection response");
  const headers: [string, string][] = [];
  let hasContentType = false;
  for (const [name, value] of extra) {
    const lower = name.toLowerCase();
    if (isConnectionSpecific(lower) || lower === "content-length" || lower.startsWith(":")) continue;
    if (lower === "content-type") hasContentType = true;
    headers.push([lower, value]);
  }
  if (!hasContentType) headers.unshift(["content-type", "text/plain; charset=utf-8"]);
  headers.push(["content-length", String(utf8Encoder.encode(body).length)]);
  return { status, headers, body };
}

/** Options of {@link extendedConnectRequestHeaders}. */
export interface ExtendedConnectRequestOptions {
  /** The WebSocket URL, or a parsed one ({@link WebSocketUrl}). */
  readonly url: string | WebSocketUrl;
  /** The subprotocols to offer, most preferred first; unique tokens. */
  readonly protocols?: readonly string[] | undefined;
  /** The extensions to offer, in order; each factory's offers are sent. */
  readonly extensions?: readonly ExtensionFactory[] | undefined;
  /** The `origin` header value. */
  readonly origin?: string | undefined;
  /**
   * Extra header fields (cookies, authorization). They may not be pseudo-header fields, `host`,
   * connection-specific fields (RFC 9113 §8.2.2), `content-length`, any `sec-websocket-*` field,
   * nor `origin` when the `origin` option is given.
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
 * The client's Extended CONNECT request (RFC 8441 §4–§5) as HTTP/2 header fields, pseudo-header
 * fields first (RFC 9113 §8.3): `:method CONNECT`, `:protocol websocket`, `:scheme` (`https` for
 * `wss:`, `http` for `ws:`), `:path`, `:authority`, then `sec-websocket-version: 13` and
 * `origin`, `sec-websocket-protocol`, `sec-websocket-extensions` and extra fields when given.
 * Send it only after the server's SETTINGS carried `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`
 * (RFC 8441 §3).
 *
 * @throws {TypeError} on an invalid URL, subprotocol list or extra header.
 *
 * @example
 * ```ts
 * import { extendedConnectRequestHeaders } from "./extended-connect.ts";
 * const fields = extendedConnectRequestHeaders({ url: "wss://example.com/chat", protocols: ["chat"] });
 * console.assert(fields[0]![1] === "CONNECT" && fields[2]![1] === "https" && fields[4]![1] === "example.com");
 * ```
 */
export function extendedConnectRequestHeaders(options: ExtendedConnectRequestOptions): [string, string][] {
  const url = typeof options.url === "string" ? parseWebSocketUrl(options.url) : options.url;
  const path = url.pathname + url.search;
  if (!isVisibleAscii(path) || !path.startsWith("/")) {
    throw new TypeError(
      `Cannot build Extended CONNECT request: the path ${JSON.stringify(path)} is not an absolute ASCII path`,
    );
  }
  if (url.host === "" || !isVisibleAscii(url.host)) {
    throw new TypeError(
      `Cannot build Extended CONNECT request: the host ${JSON.stringify(url.host)} is not valid`,
    );
  }
  const fields: [string, string][] = [
    [":method", "CONNECT"],
    [":protocol", EXTENDED_CONNECT_PROTOCOL],
    [":scheme", url.secure ? "https" : "http"],
    [":path", path],
    [":authority", url.host],
    ["sec-websocket-version", WEBSOCKET_VERSION],
  ];
  const origin = options.origin;
  if (origin !== undefined) {
    extraHeaderFields([["origin", origin]], () => false, "build Extended CONNECT request");
    fields.push(["origin", origin]);
  }
  const protocols = options.protocols ?? [];
  if (protocols.length > 0) fields.push(["sec-websocket-protocol", formatProtocols(protocols)]);
  const offers: ExtensionOffer[] = [];
  const names = new Set<string>();
  for (const factory of options.extensions ?? []) {
    if (names.has(factory.name)) {
      throw new TypeError(
        `Cannot build Extended CONNECT request: two extension factories are named ${factory.name}`,
      );
    }
    names.add(factory.name);
    offers.push(...factory.offer());
  }
  if (offers.length > 0) fields.push(["sec-websocket-extensions", formatExtensions(offers)]);
  const reserved = (name: string): boolean =>
    name.startsWith(":") ||
    name === "host" ||
    name === "content-length" ||
    isConnectionSpecific(name) ||
    name.startsWith("sec-websocket-") ||
    (origin !== undefined && name === "origin");
  for (const [name, value] of extraHeaderFields(
    options.headers,
    reserved,
    "build Extended CONNECT request",
  )) {
    fields.push([name.toLowerCase(), value]);
  }
  return fields;
}

/** The parts of an HTTP/2 response the client handshake looks at. */
export interface ExtendedConnectResponse {
  /** The `:status`. */
  readonly status: number;
  /** The response's header fields; pseudo-header fields among them are ignored. */
  readonly headers: HeadersInput;
}

/**
 * Checks the server's response to an Extended CONNECT (RFC 8441 §5): a 2xx status opens the
 * tunnel (RFC 9110 §9.3.6, RFC 9113 §8.5; RFC 8441 servers send 200), anything else fails it
 * with `BAD_STATUS`; then the extensions and subprotocol are checked as RFC 6455 §4.1 steps 5
 * and 6 (there is no `Sec-WebSocket-Accept` over HTTP/2; `key` is not used).
 *
 * @throws {HandshakeError} when the connection must be failed.
 *
 * @example
 * ```ts
 * import { checkExtendedConnectResponse } from "./extended-connect.ts";
 * const confirmed = checkExtendedConnectResponse(
 *   { status: 200, headers: { "sec-websocket-protocol": "chat" } },
 *   { protocols: ["chat"] },
 * );
 * console.assert(confirmed.protocol === "chat");
 * ```
 */
export function checkExtendedConnectResponse(
  response: ExtendedConnectResponse,
  options: Omit<CheckUpgradeResponseOptions, "key">,
): ConfirmedUpgrade {
  const status = response.status;
  if (!(status >= 200 && status <= 299)) {
    throw new HandshakeError(
      ErrorCode.BadStatus,
      status,
      `Cannot open WebSocket connection over HTTP/2: the server answered ${status} instead of 200`,
    );
  }
  const fields = headerEntries(response.headers).filter(
    ([name, value]) => !name.startsWith(":") && typeof value === "string",
  );
  return confirmNegotiation(normalizeHeaders(fields), status, { ...options, key: "" });
}
