/**
 * The server side of the opening handshake (RFC 6455 §4.2): check a client's upgrade request,
 * negotiate the subprotocol and extensions, and write the 101 response or a precise rejection.
 *
 * Status codes chosen (RFC 6455 §4.2.1 asks for 400 unless stated otherwise):
 *
 * | Problem                                              | Status | Code                  | Extra headers                                   |
 * | ---------------------------------------------------- | ------ | --------------------- | ----------------------------------------------- |
 * | method is not `GET`                                  | 405    | `BAD_METHOD`          | `Allow: GET` (RFC 9110 §15.5.6)                 |
 * | HTTP version below 1.1                               | 400    | `BAD_HTTP_VERSION`    |                                                 |
 * | no `Host`                                            | 400    | `MISSING_HOST`        |                                                 |
 * | `Upgrade` lacks the `websocket` token                | 400    | `BAD_UPGRADE`         |                                                 |
 * | `Connection` lacks the `upgrade` token               | 400    | `BAD_CONNECTION`      |                                                 |
 * | `Sec-WebSocket-Version` missing or not 13            | 426    | `UNSUPPORTED_VERSION` | `Sec-WebSocket-Version: 13`, `Upgrade: websocket` (RFC 6455 §4.4, RFC 9110 §15.5.22) |
 * | `Sec-WebSocket-Key` missing or not 16 base64 bytes   | 400    | `BAD_KEY`             |                                                 |
 * | malformed `Sec-WebSocket-Protocol`                   | 400    | `BAD_SUBPROTOCOL`     |                                                 |
 * | malformed `Sec-WebSocket-Extensions` (see below)     | 400    | `BAD_EXTENSIONS`      |                                                 |
 *
 * The checks run in that order; the version is checked before the key so that a client of an
 * older draft (which sends other key fields) learns which version to speak.
 *
 * `Sec-WebSocket-Extensions` is checked only by a server that has extensions: one with none
 * configured does not read the value at all (as `ws` does without permessage-deflate), since
 * nothing it holds can be accepted and RFC 6455 §9.1 has a server answer only the extensions it
 * supports. A hostile value of thousands of list elements then costs nothing to a server that
 * would ignore every one of them.
 *
 * @module
 */
import { WEBSOCKET_VERSION } from "../constants.ts";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { Extension, ExtensionFactory, ExtensionOffer } from "../extensions/extension.ts";
import { utf8Encoder } from "../web-globals.ts";
import { computeAcceptKey, isValidKey } from "./accept-key.ts";
import { extraHeaderFields, formatHead, reasonPhrase } from "./head-format.ts";
import {
  formatExtensions,
  hasToken,
  parseExtensions,
  parseProtocols,
  scanExtensions,
} from "./header-tokens.ts";
import { type HeadersInput, normalizeHeaders } from "./headers.ts";

/** The parts of an HTTP request the server handshake looks at. */
export interface UpgradeRequest {
  /** The request method, e.g. `GET`. */
  readonly method: string;
  /** `major.minor` as in Node's `IncomingMessage.httpVersion`; not checked when absent. */
  readonly httpVersion?: string | undefined;
  /** The request's header fields, in any {@link HeadersInput} shape. */
  readonly headers: HeadersInput;
}

/**
 * How the server picks a subprotocol: a list of the ones it supports (it takes the first one
 * the client offered that is in the list), or a function given the client's offers in order
 * that returns one of them or `undefined` for none.
 */
export type ProtocolSelector = readonly string[] | ((offered: readonly string[]) => string | undefined);

/** Options of {@link checkUpgradeRequest}. */
export interface CheckUpgradeRequestOptions {
  /** The subprotocols the server supports; none by default. */
  readonly protocols?: ProtocolSelector | undefined;
  /** The extensions the server supports, in the order they are negotiated; none by default. */
  readonly extensions?: readonly ExtensionFactory[] | undefined;
}

/** What {@link checkUpgradeRequest} decided for an acceptable request. */
export interface AcceptedUpgrade {
  /** The client's `Sec-WebSocket-Key`. */
  readonly key: string;
  /** The `Sec-WebSocket-Accept` value to answer with (RFC 6455 §4.2.2). */
  readonly accept: string;
  /** The selected subprotocol, or `undefined` for none. */
  readonly protocol: string | undefined;
  /** The subprotocols the client offered, in its order. */
  readonly offeredProtocols: readonly string[];
  /** The negotiated extensions, in the order of the server's factories. */
  readonly extensions: Extension[];
  /** The `Sec-WebSocket-Extensions` value to answer with, or `undefined` when none was accepted. */
  readonly extensionsHeader: string | undefined;
  /**
   * The extension offers the client sent, in its order. With no extension configured the value
   * was not checked, and one that does not follow the RFC 6455 §9.1 grammar reads as no offers.
   */
  readonly offeredExtensions: readonly ExtensionOffer[];
}

function reject(
  code: ErrorCode,
  status: number,
  reason: string,
  headers?: Readonly<Record<string, string>>,
): never {
  throw new HandshakeError(code, status, `Cannot accept WebSocket handshake: ${reason}`, headers);
}

/** Whether `version` (`major.minor`) is at least 1.1. */
function isHttp11OrLater(version: string): boolean {
  const dot = version.indexOf(".");
  const major = Number(dot === -1 ? version : version.slice(0, dot));
  const minor = dot === -1 ? 0 : Number(version.slice(dot + 1));
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return false;
  return major > 1 || (major === 1 && minor >= 1);
}

/**
 * Checks a client's opening handshake (RFC 6455 §4.2.1), then selects the subprotocol and
 * negotiates extensions (§4.2.2 step 5). See the module comment for the status of each
 * rejection.
 *
 * Subprotocol: with a list, the first protocol the client offered that the list holds; with a
 * function, its answer (called only when the client offered at least one). Extensions: the
 * client's offers are grouped by name and each factory, in order, gets its group; a factory
 * whose RSV bits clash with an extension already accepted is skipped.
 *
 * @throws {HandshakeError} when the request is not an acceptable WebSocket handshake.
 * @throws {TypeError} when the protocol function returns a protocol the client did not offer,
 *   or two extension factories share a name.
 *
 * @example
 * ```ts
 * import { checkUpgradeRequest, buildAcceptResponse } from "./server.ts";
 * const result = checkUpgradeRequest(
 *   {
 *     method: "GET",
 *     headers: {
 *       host: "server.example.com",
 *       upgrade: "websocket",
 *       connection: "Upgrade",
 *       "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
 *       "sec-websocket-version": "13",
 *       "sec-websocket-protocol": "chat, superchat",
 *     },
 *   },
 *   { protocols: ["superchat", "chat"] },
 * );
 * console.assert(result.accept === "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" && result.protocol === "chat");
 * const head = buildAcceptResponse(result); // "HTTP/1.1 101 Switching Protocols\r\n..."
 * ```
 */
export function checkUpgradeRequest(
  request: UpgradeRequest,
  options: CheckUpgradeRequestOptions = {},
): AcceptedUpgrade {
  // RFC 6455 §4.2.1 item 1: an HTTP/1.1 or higher GET request.
  if (request.method !== "GET") {
    reject(ErrorCode.BadMethod, 405, `the method is ${request.method}, expected GET`, { Allow: "GET" });
  }
  if (request.httpVersion !== undefined && !isHttp11OrLater(request.httpVersion)) {
    reject(
      ErrorCode.BadHttpVersion,
      400,
      `the HTTP version is ${request.httpVersion}, expected 1.1 or later`,
    );
  }
  const headers = normalizeHeaders(request.headers);
  // Item 2: a Host header field.
  if (!headers.get("host")) reject(ErrorCode.MissingHost, 400, "the Host header is missing");
  // Item 3: Upgrade holding "websocket", ASCII case-insensitive.
  if (!hasToken(headers.get("upgrade"), "websocket")) {
    reject(ErrorCode.BadUpgrade, 400, "the Upgrade header does not hold websocket");
  }
  // Item 4: Connection holding "Upgrade", ASCII case-insensitive.
  if (!hasToken(headers.get("connection"), "upgrade")) {
    reject(ErrorCode.BadConnection, 400, "the Connection header does not hold Upgrade");
  }
  // Item 6 and §4.4: a version we do not speak gets 426 with the versions we do.
  const version = headers.get("sec-websocket-version");
  if (version !== WEBSOCKET_VERSION) {
    reject(
      ErrorCode.UnsupportedVersion,
      426,
      version === undefined
        ? "the Sec-WebSocket-Version header is missing"
        : `Sec-WebSocket-Version ${version} is not supported`,
      { "Sec-WebSocket-Version": WEBSOCKET_VERSION, Upgrade: "websocket" },
    );
  }
  // Item 5: a key that decodes to 16 bytes.
  const key = headers.get("sec-websocket-key");
  if (key === undefined || !isValidKey(key)) {
    reject(ErrorCode.BadKey, 400, "Sec-WebSocket-Key is missing or not the base64 encoding of 16 bytes");
  }

  // Item 8 and §4.2.2 step 5.4: the subprotocol.
  const protocolHeader = headers.get("sec-websocket-protocol");
  const offeredProtocols = protocolHeader === undefined ? [] : parseProtocols(protocolHeader, 400);
  const protocol = selectProtocol(offeredProtocols, options.protocols);

  // Item 9 and §9.1: the extensions.
  const extensionsValue = headers.get("sec-websocket-extensions");
  const factories = options.extensions ?? [];
  const offers = offersFor(extensionsValue, factories);
  const { extensions, responses } = negotiateExtensions(offers, factories);
  let offered: readonly ExtensionOffer[] | undefined;

  return {
    key,
    accept: computeAcceptKey(key),
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

/**
 * The client's offers of the extensions `factories` support, in its order (RFC 6455 §9.1),
 * after checking the grammar of the whole `Sec-WebSocket-Extensions` value (a malformed value is
 * refused whatever it offers). Offers of other extensions are not built: a hostile value may
 * hold thousands. Without factories the value is not read (see the module comment). Also used
 * over HTTP/2.
 *
 * @throws {HandshakeError} `BAD_EXTENSIONS` (400) when there are factories and the value does not
 *   follow the grammar.
 */
export function offersFor(
  value: string | undefined,
  factories: readonly ExtensionFactory[],
): ExtensionOffer[] {
  // A server without extensions ignores every offer (RFC 6455 §9.1), so it skips the value.
  if (value === undefined || factories.length === 0) return [];
  return scanExtensions(
    value,
    400,
    factories.map((factory) => factory.name),
  );
}

/**
 * Every offer of a `Sec-WebSocket-Extensions` value, for `offeredExtensions`; none when the value
 * does not follow the grammar (possible only when {@link offersFor} did not check it: a server
 * without extensions). Also used over HTTP/2.
 */
export function allOffers(value: string | undefined): readonly ExtensionOffer[] {
  if (value === undefined) return [];
  try {
    return parseExtensions(value, 400);
  } catch (error) {
    if (error instanceof HandshakeError) return [];
    throw error;
  }
}

/** Picks the subprotocol among the client's offers (RFC 6455 §4.2.2 step 5.4). Also used over HTTP/2. */
export function selectProtocol(
  offered: readonly string[],
  selector: ProtocolSelector | undefined,
): string | undefined {
  if (selector === undefined || offered.length === 0) return undefined;
  if (typeof selector === "function") {
    const chosen = selector(offered);
    if (chosen !== undefined && !offered.includes(chosen)) {
      throw new TypeError(`Cannot select subprotocol ${JSON.stringify(chosen)}: the client did not offer it`);
    }
    return chosen;
  }
  return offered.find((protocol) => selector.includes(protocol));
}

/** Negotiates the extensions the client offered, in the server's order (RFC 6455 §9.1). Also used over HTTP/2. */
export function negotiateExtensions(
  offers: readonly ExtensionOffer[],
  factories: readonly ExtensionFactory[],
): { extensions: Extension[]; responses: ExtensionOffer[] } {
  const extensions: Extension[] = [];
  const responses: ExtensionOffer[] = [];
  if (factories.length === 0 || offers.length === 0) return { extensions, responses };
  const byName = new Map<string, ExtensionOffer[]>();
  for (const offer of offers) {
    const group = byName.get(offer.name);
    if (group === undefined) byName.set(offer.name, [offer]);
    else group.push(offer);
  }
  const names = new Set<string>();
  let usedRsv = 0;
  for (const factory of factories) {
    if (names.has(factory.name)) {
      throw new TypeError(`Cannot negotiate extensions: two factories are named ${factory.name}`);
    }
    names.add(factory.name);
    const group = byName.get(factory.name);
    if (group === undefined) continue;
    const result = factory.negotiate(group);
    if (result === undefined || (result.extension.rsvMask & usedRsv) !== 0) continue;
    usedRsv |= result.extension.rsvMask;
    extensions.push(result.extension);
    responses.push(result.response);
  }
  return { extensions, responses };
}

/** Options of {@link buildAcceptResponse} and {@link acceptResponseHeaders}. */
export interface AcceptResponseOptions {
  /** The `Sec-WebSocket-Accept` value ({@link AcceptedUpgrade.accept}). */
  readonly accept: string;
  /** The selected subprotocol, if any. */
  readonly protocol?: string | undefined;
  /** The `Sec-WebSocket-Extensions` value, if any. */
  readonly extensionsHeader?: string | undefined;
  /**
   * Extra header fields (cookies, for example). They may not set `Upgrade`, `Connection` or
   * any `Sec-WebSocket-*` field.
   */
  readonly headers?: HeadersInput | undefined;
}

function isReservedInResponse(name: string): boolean {
  return name === "upgrade" || name === "connection" || name.startsWith("sec-websocket-");
}

/**
 * The header fields of the 101 response (RFC 6455 §4.2.2 step 5), for runtimes that build a
 * response object rather than writing bytes.
 *
 * @throws {TypeError} when an extra header is invalid or overrides a handshake field.
 *
 * @example
 * ```ts
 * import { acceptResponseHeaders } from "./server.ts";
 * const fields = acceptResponseHeaders({ accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", protocol: "chat" });
 * // [["Upgrade", "websocket"], ["Connection", "Upgrade"],
 * //  ["Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="], ["Sec-WebSocket-Protocol", "chat"]]
 * console.assert(fields.length === 4);
 * ```
 */
export function acceptResponseHeaders(options: AcceptResponseOptions): [string, string][] {
  const fields: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", options.accept],
  ];
  if (options.protocol !== undefined) fields.push(["Sec-WebSocket-Protocol", options.protocol]);
  if (options.extensionsHeader !== undefined)
    fields.push(["Sec-WebSocket-Extensions", options.extensionsHeader]);
  for (const [name, value] of extraHeaderFields(
    options.headers,
    isReservedInResponse,
    "build the 101 response",
  )) {
    fields.push([name, value]);
  }
  return fields;
}

/**
 * The 101 Switching Protocols response head (RFC 6455 §4.2.2 step 5), ready to write to the
 * socket (ASCII). Accepts the result of {@link checkUpgradeRequest} directly.
 *
 * @throws {TypeError} when an extra header is invalid or overrides a handshake field.
 *
 * @example
 * ```ts
 * import { buildAcceptResponse } from "./server.ts";
 * const head = buildAcceptResponse({ accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" });
 * console.assert(
 *   head ===
 *     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
 * );
 * ```
 */
export function buildAcceptResponse(options: AcceptResponseOptions): string {
  return formatHead("HTTP/1.1 101 Switching Protocols", acceptResponseHeaders(options));
}

/** A rejection to send instead of the 101 response. */
export interface RejectResponseOptions {
  /** The HTTP status, 400–599 usually. */
  readonly status: number;
  /** Extra header fields. They may not set `Connection`, `Content-Length` or `Transfer-Encoding`. */
  readonly headers?: HeadersInput | undefined;
  /** A short text body; defaults to the reason phrase. */
  readonly body?: string | undefined;
}

/** The parts of a rejection response, for runtimes that build a response object. */
export interface RejectResponseParts {
  /** The HTTP status to answer with. */
  readonly status: number;
  /** The status line's reason phrase. */
  readonly statusText: string;
  /** All header fields, `Content-Length` included (the body's UTF-8 length). */
  readonly headers: [string, string][];
  /** The response body (text). */
  readonly body: string;
}

function isReservedInReject(name: string): boolean {
  return name === "connection" || name === "content-length" || name === "transfer-encoding";
}

/**
 * The parts of the response that rejects a handshake: status, headers and a short text body.
 * A {@link HandshakeError}'s message becomes the body and its headers are sent
 * (`Sec-WebSocket-Version: 13` on a 426, for example). The connection is closed afterwards
 * (`Connection: close`, plus the `upgrade` option when an `Upgrade` field is sent, RFC 9110
 * §7.8).
 *
 * @throws {RangeError} when the status is not an integer in 100–599.
 * @throws {TypeError} when an extra header is invalid or reserved.
 *
 * @example
 * ```ts
 * import { rejectResponseParts } from "./server.ts";
 * const parts = rejectResponseParts({ status: 403, body: "Forbidden origin" });
 * console.assert(parts.statusText === "Forbidden" && parts.body === "Forbidden origin");
 * ```
 */
export function rejectResponseParts(rejection: HandshakeError | RejectResponseOptions): RejectResponseParts {
  const status = rejection.status;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`Cannot build a rejection response: status ${status} is not in 100–599`);
  }
  const statusText = reasonPhrase(status);
  const body = rejection instanceof HandshakeError ? rejection.message : (rejection.body ?? statusText);
  const extra = extraHeaderFields(rejection.headers, isReservedInReject, "build a rejection response");
  let hasContentType = false;
  let hasUpgrade = false;
  for (const [name] of extra) {
    const lower = name.toLowerCase();
    if (lower === "content-type") hasContentType = true;
    else if (lower === "upgrade") hasUpgrade = true;
  }
  const headers: [string, string][] = [["Connection", hasUpgrade ? "Upgrade, close" : "close"]];
  if (!hasContentType) headers.push(["Content-Type", "text/plain; charset=utf-8"]);
  headers.push(["Content-Length", String(utf8Encoder.encode(body).length)]);
  for (const [name, value] of extra) headers.push([name, value]);
  return { status, statusText, headers, body };
}

/**
 * A complete HTTP/1.1 response that rejects a handshake (see {@link rejectResponseParts}),
 * head and body. Encode it as UTF-8 (the head is ASCII; the body may not be).
 *
 * @throws {RangeError} when the status is not an integer in 100–599.
 * @throws {TypeError} when an extra header is invalid or reserved.
 *
 * @example
 * ```ts
 * import { checkUpgradeRequest, buildRejectResponse } from "./server.ts";
 * import { HandshakeError } from "../errors.ts";
 * try {
 *   checkUpgradeRequest({ method: "GET", headers: { host: "a", upgrade: "websocket", connection: "upgrade", "sec-websocket-version": "8" } });
 * } catch (error) {
 *   if (!(error instanceof HandshakeError)) throw error;
 *   const response = buildRejectResponse(error);
 *   console.assert(response.startsWith("HTTP/1.1 426 Upgrade Required\r\n"));
 *   console.assert(response.includes("\r\nSec-WebSocket-Version: 13\r\n"));
 * }
 * ```
 */
export function buildRejectResponse(rejection: HandshakeError | RejectResponseOptions): string {
  const parts = rejectResponseParts(rejection);
  return formatHead(`HTTP/1.1 ${parts.status} ${parts.statusText}`, parts.headers) + parts.body;
}
