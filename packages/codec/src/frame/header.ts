/**
 * The frame header (RFC 6455 §5.2 "Base Framing Protocol"):
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-------+-+-------------+-------------------------------+
 * |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 * |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 * |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 * | |1|2|3|       |K|             |                               |
 * +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 * |     Extended payload length continued, if payload len == 127  |
 * + - - - - - - - - - - - - - - - +-------------------------------+
 * |                               |Masking-key, if MASK set to 1  |
 * +-------------------------------+-------------------------------+
 * ```
 *
 * @module
 */

/** A decoded frame header. */
export interface FrameHeader {
  /** FIN: this is the final fragment of a message. */
  readonly fin: boolean;
  /** The RSV1–RSV3 bits as they sit in the first byte (`Rsv.Rsv1` = 0x40, …). */
  readonly rsv: number;
  /** The 4-bit opcode. */
  readonly opcode: number;
  /** The masking key when the MASK bit is set, else `undefined`. */
  readonly maskingKey: Uint8Array | undefined;
  /** Payload length in bytes (at most 2^53 - 1; larger lengths are rejected). */
  readonly payloadLength: number;
}

/** Number of header bytes for a payload of `payloadLength` bytes (2 to 14). */
export function frameHeaderSize(payloadLength: number, masked: boolean): number {
  const lengthBytes = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8;
  return 2 + lengthBytes + (masked ? 4 : 0);
}

/**
 * Writes a frame header into `target` at `offset` using the minimal length encoding
 * (RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length") and
 * returns the number of bytes written. Does not check the combination for validity.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  payloadLength: number,
  maskingKey: Uint8Array | undefined,
): number {
  let at = offset;
  target[at++] = (fin ? 0x80 : 0) | (rsv & 0x70) | (opcode & 0x0f);
  const maskBit = maskingKey === undefined ? 0 : 0x80;
  if (payloadLength < 126) {
    target[at++] = maskBit | payloadLength;
  } else if (payloadLength < 65536) {
    target[at++] = maskBit | 126;
    target[at++] = payloadLength >>> 8;
    target[at++] = payloadLength & 0xff;
  } else {
    target[at++] = maskBit | 127;
    // 64-bit big-endian length; JS numbers are exact up to 2^53, so split at 2^32.
    const high = Math.floor(payloadLength / 0x1_0000_0000);
    const low = payloadLength >>> 0;
    target[at++] = 0;
    target[at++] = (high >>> 16) & 0xff;
    target[at++] = (high >>> 8) & 0xff;
    target[at++] = high & 0xff;
    target[at++] = low >>> 24;
    target[at++] = (low >>> 16) & 0xff;
    target[at++] = (low >>> 8) & 0xff;
    target[at++] = low & 0xff;
  }
  if (maskingKey !== undefined) {
    target[at++] = maskingKey[0] as number;
    target[at++] = maskingKey[1] as number;
    target[at++] = maskingKey[2] as number;
    target[at++] = maskingKey[3] as number;
  }
  return at - offset;
}
