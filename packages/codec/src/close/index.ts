/**
 * The closing handshake's payload and codes (RFC 6455 §5.5.1, §7).
 *
 * @module
 */
export { CloseCode, MAX_CLOSE_REASON_BYTES } from "../constants.ts";
export {
  type ClosePayload,
  decodeClosePayload,
  encodeClosePayload,
  isValidCloseCode,
  truncateCloseReason,
} from "./close.ts";
