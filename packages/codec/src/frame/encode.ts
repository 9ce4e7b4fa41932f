/**
 * Frame encoding (RFC 6455 §5.2). `encodeFrame` is the low-level, permissive encoder: it writes
 * any header it is given (test tools use it to craft invalid frames). The protocol rules for
 * what an endpoint may send live in `Connection.send`.
 *
 * @module
 */
import { frameHeaderSize, writeFrameHeader } from "./header.ts";
import { utf8Encoder } from "../web-globals.ts";
import { maskInto } from "./mask.ts";

/** A frame to encode. */
export interface FrameToEncode {
  /** FIN bit; default true. */
  readonly fin?: boolean;
  /** RSV bits as in the first byte (0x40 = RSV1); default 0. */
  readonly rsv?: number;
  /** The 4-bit opcode. */
  readonly opcode: number;
  /** The payload; never modified. */
  readonly payload: Uint8Array;
  /** A 4-byte masking key: the frame is masked with it (client-to-server frames, §5.3). */
  readonly maskingKey?: Uint8Array;
}

/**
 * Payloads up to this size are copied behind the header into one buffer: one small copy is
 * cheaper than a second write. Larger unmasked payloads are returned as a separate view.
 */
export const MERGE_THRESHOLD = 1024;

/**
 * Encodes a frame and returns its bytes as one or two buffers (header and payload), to be
 * written in order — with `writev`/`cork` where the transport has it. A masked frame's payload
 * is masked into a new buffer; the caller's payload is never modified, and an unmasked large
 * payload is returned as is, without a copy.
 *
 * @example
 * ```ts
 * import { encodeFrame, Opcode } from "@ws/codec/frame";
 * // RFC 6455 §5.7: a single-frame unmasked text message "Hello"
 * const [bytes] = encodeFrame({ opcode: Opcode.Text, payload: new TextEncoder().encode("Hello") });
 * // bytes: 81 05 48 65 6c 6c 6f
 * ```
 */
export function encodeFrame(frame: FrameToEncode): Uint8Array[] {
  const { payload, maskingKey } = frame;
  const length = payload.length;
  if (maskingKey !== undefined && maskingKey.length !== 4) {
    throw new RangeError(`Cannot encode frame: the masking key is ${maskingKey.length} bytes, it must be 4`);
  }
  const headerSize = frameHeaderSize(length, maskingKey !== undefined);
  const fin = frame.fin ?? true;
  const rsv = frame.rsv ?? 0;
  if (maskingKey !== undefined || length <= MERGE_THRESHOLD) {
    const out = new Uint8Array(headerSize + length);
    writeFrameHeader(out, 0, fin, rsv, frame.opcode, length, maskingKey);
    const body = out.subarray(headerSize);
    if (maskingKey !== undefined) maskInto(payload, maskingKey, body);
    else body.set(payload);
    return [out];
  }
  const header = new Uint8Array(headerSize);
  writeFrameHeader(header, 0, fin, rsv, frame.opcode, length, undefined);
  return [header, payload];
}

/** Strings up to this many UTF-16 code units are encoded straight into the frame buffer. */
const DIRECT_TEXT_MAX = 1365; // 1365 * 3 < 4096: the over-allocation stays small.

/**
 * Encodes a frame whose payload is `text` as UTF-8, writing the string straight behind the
 * header so that short messages cost one allocation and no copy. Returns the same shape as
 * {@link encodeFrame}.
 */
export function encodeTextFrame(
  text: string,
  opcode: number,
  fin: boolean,
  rsv: number,
  maskingKey: Uint8Array | undefined,
): Uint8Array[] {
  if (text.length > DIRECT_TEXT_MAX) {
    const payload = utf8Encoder.encode(text);
    return encodeFrame(
      maskingKey === undefined ? { opcode, fin, rsv, payload } : { opcode, fin, rsv, payload, maskingKey },
    );
  }
  const maskSize = maskingKey === undefined ? 0 : 4;
  // UTF-8 needs at most 3 bytes per UTF-16 code unit; reserve room for a 16-bit length when
  // the bound could need one, and move the payload down if it turned out shorter than 126.
  const bound = text.length * 3;
  const reserved = 2 + (bound < 126 ? 0 : 2) + maskSize;
  const buffer = new Uint8Array(reserved + bound);
  const { written } = utf8Encoder.encodeInto(text, buffer.subarray(reserved));
  const headerSize = frameHeaderSize(written, maskingKey !== undefined);
  if (headerSize !== reserved) buffer.copyWithin(headerSize, reserved, reserved + written);
  writeFrameHeader(buffer, 0, fin, rsv, opcode, written, maskingKey);
  const frame = buffer.subarray(0, headerSize + written);
  if (maskingKey !== undefined) maskInto(frame.subarray(headerSize), maskingKey, frame.subarray(headerSize));
  return [frame];
}
