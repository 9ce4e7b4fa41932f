/**
 * The opening handshake (RFC 6455 §1.3, §4, §9.1, §11.3), sans I/O: build and check the
 * client's request and the server's response, parse HTTP/1.1 heads from raw sockets, and
 * negotiate subprotocols and extensions; over HTTP/2, the Extended CONNECT of RFC 8441.
 * Import it as `@ws/codec/handshake`.
 *
 * @example
 * ```ts
 * import { buildUpgradeRequest, checkUpgradeRequest, buildAcceptResponse, checkUpgradeResponse,
 *   generateKey, HttpHeadParser } from "@ws/codec/handshake";
 * const key = generateKey();
 * const request = buildUpgradeRequest({ url: "ws://localhost:8080/", key, protocols: ["chat"] });
 * const server = new HttpHeadParser("request");
 * const head = server.push(new TextEncoder().encode(request))!;
 * const accepted = checkUpgradeRequest(head, { protocols: ["chat"] });
 * const client = new HttpHeadParser("response");
 * const response = client.push(new TextEncoder().encode(buildAcceptResponse(accepted)))!;
 * const confirmed = checkUpgradeResponse(response, { key, protocols: ["chat"] });
 * console.assert(confirmed.protocol === "chat");
 * ```
 *
 * @module
 */
export { WEBSOCKET_GUID, WEBSOCKET_VERSION } from "../constants.ts";
export { HandshakeError } from "../errors.ts";
export type { RandomSource } from "../web-globals.ts";
export { computeAcceptKey, generateKey, isValidKey } from "./accept-key.ts";
export {
  buildUpgradeRequest,
  type CheckUpgradeResponseOptions,
  type ConfirmedUpgrade,
  checkUpgradeResponse,
  parseWebSocketUrl,
  type UpgradeRequestOptions,
  type UpgradeResponse,
  type UpgradeTarget,
  upgradeRequestHeaders,
  type WebSocketUrl,
} from "./client.ts";
export {
  checkExtendedConnectRequest,
  checkExtendedConnectResponse,
  EXTENDED_CONNECT_PROTOCOL,
  EXTENDED_CONNECT_STATUS,
  type ExtendedConnectRejection,
  type ExtendedConnectRequestOptions,
  type ExtendedConnectResponse,
  type ExtendedConnectResponseOptions,
  extendedConnectRejection,
  extendedConnectRequestHeaders,
  extendedConnectResponseHeaders,
  isExtendedConnect,
} from "./extended-connect.ts";
export { reasonPhrase } from "./head-format.ts";
export {
  formatExtensions,
  formatProtocols,
  hasToken,
  isToken,
  parseExtensions,
  parseProtocols,
  validateProtocols,
} from "./header-tokens.ts";
export { type HeaderField, type HeadersInput, headerEntries, normalizeHeaders } from "./headers.ts";
export {
  type HttpHead,
  type HttpHeadKind,
  type HttpHeadLimits,
  HttpHeadParser,
  type HttpRequestHead,
  type HttpResponseHead,
} from "./http-head.ts";
export {
  type AcceptedUpgrade,
  type AcceptResponseOptions,
  acceptResponseHeaders,
  buildAcceptResponse,
  buildRejectResponse,
  type CheckUpgradeRequestOptions,
  checkUpgradeRequest,
  type ProtocolSelector,
  type RejectResponseOptions,
  type RejectResponseParts,
  rejectResponseParts,
  type UpgradeRequest,
} from "./server.ts";
