/**
 * Frame encoding (RFC 6455 §5.2). `encodeFrame` is the low-level, permissive encoder: it writes
 * any header it is given (test tools use it to craft invalid frames). The protocol rules for
 * what an endpoint may send live in `Connection.send`.
 *
 * @module
 */

import { Opcode } from "../constants.ts";
import { utf8Encoder } from "../web-globals.ts";
import { frameHeaderSize, writeFrameHeader } from "./header.ts";
import { applyMask, maskInto } from "./mask.ts";
import { allocateFrame, POOLED_MAX, shrinkFrame } from "./pool.ts";

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
 * Encodes a frame and returns its bytes as one or two buffers (header and payload), to be
 * written in order — with `writev`/`cork` where the transport has it. A masked frame's payload
 * is masked into a new buffer; the caller's payload is never modified, and an unmasked payload
 * is returned as is, without a copy.
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
  const { maskingKey } = frame;
  if (maskingKey !== undefined && maskingKey.length !== 4) {
    throw new RangeError(`Cannot encode frame: the masking key is ${maskingKey.length} bytes, it must be 4`);
  }
  return encodeFrameParts(frame.opcode, frame.fin ?? true, frame.rsv ?? 0, frame.payload, maskingKey);
}

/**
 * {@link encodeFrame} with positional arguments, for hot paths (no argument object). An
 * unmasked payload is never copied: the result is `[header, payload]`, as `ws` does, and the
 * transport writes both with one `writev`. A masked payload is masked into the header's buffer.
 * Buffers of at most `freshUpTo` bytes are fresh arrays rather than views of the shared slab
 * (see `allocateFrame`).
 */
export function encodeFrameParts(
  opcode: number,
  fin: boolean,
  rsv: number,
  payload: Uint8Array,
  maskingKey: Uint8Array | undefined,
  freshUpTo = 0,
): Uint8Array[] {
  const length = payload.length;
  if (maskingKey === undefined) {
    const header = allocateFrame(frameHeaderSize(length, false), freshUpTo);
    writeFrameHeader(header, 0, fin, rsv, opcode, length, undefined);
    return length === 0 ? [header] : [header, payload];
  }
  const headerSize = frameHeaderSize(length, true);
  const out = allocateFrame(headerSize + length, freshUpTo);
  writeFrameHeader(out, 0, fin, rsv, opcode, length, maskingKey);
  if (length > 0) maskInto(payload, maskingKey, out.subarray(headerSize));
  return [out];
}

/** Where {@link encodeFrameInto} stages a payload of up to 125 bytes. */
const shortPayload = new Uint8Array(125);

/**
 * Encodes a frame straight into `target` from `offset` and returns the frame's size, for a
 * caller that owns memory it may fill again (a buffer it recycles once the write that carried
 * it completed, or one a transport copies from as it writes): {@link encodeFrameParts} hands
 * out a fresh array per masked frame, and a fresh large array costs the runtime's allocation
 * and its first touch of every page, more than masking the bytes into memory already in use.
 * The frame takes `frameHeaderSize(payload.length, masked) + payload.length` bytes; a target
 * with less room from `offset` is a RangeError, as is a masking key that is not 4 bytes.
 *
 * A masked payload (RFC 6455 §5.3) is masked from `payload` into the target in one pass, and
 * the caller's payload is not modified, unless it already lies at its place in the target
 * (behind room for the header): then it is masked in place, without a copy. A payload that
 * overlaps the frame anywhere else is copied first.
 *
 * @example
 * ```ts
 * import { encodeFrameInto, frameHeaderSize, Opcode } from "@ws/codec/frame";
 * const payload = new TextEncoder().encode("Hello");
 * const maskingKey = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
 * const target = new Uint8Array(frameHeaderSize(payload.length, true) + payload.length);
 * const size = encodeFrameInto(target, 0, Opcode.Text, true, 0, payload, maskingKey);
 * // target.subarray(0, size): 81 85 37 fa 21 3d 7f 9f 4d 51 58 (RFC 6455 §5.7)
 * ```
 */
export function encodeFrameInto(
  target: Uint8Array,
  offset: number,
  opcode: number,
  fin: boolean,
  rsv: number,
  payload: Uint8Array,
  maskingKey: Uint8Array | undefined,
): number {
  const length = payload.length;
  if (maskingKey !== undefined && maskingKey.length !== 4) {
    throw new RangeError(`Cannot encode frame: the masking key is ${maskingKey.length} bytes, it must be 4`);
  }
  const headerSize = frameHeaderSize(length, maskingKey !== undefined);
  const size = headerSize + length;
  if (!Number.isInteger(offset) || offset < 0 || target.length - offset < size) {
    throw new RangeError(
      `Cannot encode frame: it takes ${size} bytes from offset ${offset}, the target is ${target.length} bytes`,
    );
  }
  const start = offset + headerSize;
  if (length < 126) {
    // Staged in a scratch array first: safe whatever the payload overlaps, and cheaper than
    // finding out (reading `buffer`) and making views, which cost more than a short frame.
    for (let i = 0; i < length; i++) shortPayload[i] = payload[i] as number;
    writeFrameHeader(target, offset, fin, rsv, opcode, length, maskingKey);
    if (maskingKey === undefined) {
      for (let i = 0; i < length; i++) target[start + i] = shortPayload[i] as number;
    } else {
      const k0 = maskingKey[0] as number;
      const k1 = maskingKey[1] as number;
      const k2 = maskingKey[2] as number;
      const k3 = maskingKey[3] as number;
      let i = 0;
      for (; i + 4 <= length; i += 4) {
        target[start + i] = (shortPayload[i] as number) ^ k0;
        target[start + i + 1] = (shortPayload[i + 1] as number) ^ k1;
        target[start + i + 2] = (shortPayload[i + 2] as number) ^ k2;
        target[start + i + 3] = (shortPayload[i + 3] as number) ^ k3;
      }
      for (; i < length; i++) target[start + i] = (shortPayload[i] as number) ^ (maskingKey[i & 3] as number);
    }
    return size;
  }
  let source = payload;
  let inPlace = false;
  if (length > 0 && payload.buffer === target.buffer) {
    const from = payload.byteOffset;
    const to = target.byteOffset + start;
    // The header is written first and masking runs forward in blocks: only a payload at its
    // own place is used where it lies.
    if (from === to) inPlace = true;
    else if (from < to + length && target.byteOffset + offset < from + length) source = payload.slice();
  }
  writeFrameHeader(target, offset, fin, rsv, opcode, length, maskingKey);
  if (length === 0) return size;
  const place = target.subarray(start, start + length);
  if (maskingKey !== undefined) maskInto(source, maskingKey, place);
  else if (!inPlace) place.set(source);
  return size;
}

/**
 * Masked payloads the codec made itself are masked in place up to this size. Beyond it they
 * are copied as any payload is: on Deno, masking in place the array its `TextEncoder.encode()`
 * returned was slower than the copy for payloads of a few hundred KiB and more (the cause is
 * not known; Node and Bun gained at every size).
 */
const MASK_IN_PLACE_MAX = 128 * 1024;

/**
 * {@link encodeFrameParts} for a payload the codec made itself and that nobody else holds (the
 * UTF-8 bytes of a string it encoded). A masked payload too large for the outbound slab (up to
 * {@link MASK_IN_PLACE_MAX}) is masked where it lies and sent behind a header of its own,
 * `[header, payload]`, as an unmasked payload is: copying it into a frame buffer of its size
 * would cost a second large allocation (fresh memory, page by page) and a pass over the bytes.
 * Only the payload is masked (RFC 6455 §5.3), so the header does not need to share its buffer.
 * Smaller payloads are masked into one buffer from the slab as usual: one write, and the slab
 * costs little.
 */
export function encodeOwnedPayload(
  opcode: number,
  fin: boolean,
  rsv: number,
  payload: Uint8Array,
  maskingKey: Uint8Array | undefined,
  freshUpTo = 0,
): Uint8Array[] {
  const length = payload.length;
  if (maskingKey === undefined || length <= POOLED_MAX || length > MASK_IN_PLACE_MAX)
    return encodeFrameParts(opcode, fin, rsv, payload, maskingKey, freshUpTo);
  const header = allocateFrame(frameHeaderSize(length, true), freshUpTo);
  writeFrameHeader(header, 0, fin, rsv, opcode, length, maskingKey);
  applyMask(payload, maskingKey);
  return [header, payload];
}

/** Strings up to this many UTF-16 code units are encoded straight into the frame buffer. */
const DIRECT_TEXT_MAX = 1365; // 1365 * 3 < 4096: the over-allocation stays small.

/**
 * With fresh arrays (`freshUpTo` > 0: JavaScriptCore), strings longer than this are encoded by
 * the runtime's `TextEncoder.encode()` into a fresh array of their own, behind a header of its
 * own: on that engine a fresh array costs less than the views of the outbound slab that
 * encoding straight into the frame buffer takes, and the runtime's encoder less than the byte
 * loop of {@link encodeShortAscii} from a few dozen characters on. On V8 a fresh array costs
 * more than both.
 */
const FRESH_DIRECT_TEXT_MAX = 24;

/**
 * Encodes a frame whose payload is `text` as UTF-8, writing the string straight behind the
 * header so that short messages cost one allocation and no copy. Returns the same shape as
 * {@link encodeFrame}; `freshUpTo` as there.
 */
export function encodeTextFrame(
  text: string,
  opcode: number,
  fin: boolean,
  rsv: number,
  maskingKey: Uint8Array | undefined,
  freshUpTo = 0,
): Uint8Array[] {
  const fresh = freshUpTo > 0;
  if (text.length > (fresh ? FRESH_DIRECT_TEXT_MAX : DIRECT_TEXT_MAX))
    return encodeOwnedPayload(opcode, fin, rsv, utf8Encoder.encode(text), maskingKey, freshUpTo);
  const maskSize = maskingKey === undefined ? 0 : 4;
  if (text.length < 126) {
    const frame = encodeShortAscii(text, opcode, fin, rsv, maskingKey, maskSize, freshUpTo);
    if (frame !== undefined) return [frame];
    // Not ASCII: with fresh arrays, the runtime's encoder into one costs less than the slab.
    if (fresh) return encodeOwnedPayload(opcode, fin, rsv, utf8Encoder.encode(text), maskingKey, freshUpTo);
  }
  // UTF-8 needs at most 3 bytes per UTF-16 code unit; reserve room for a 16-bit length when
  // the bound could need one, and move the payload down if it turned out shorter than 126.
  const bound = text.length * 3;
  const reserved = 2 + (bound < 126 ? 0 : 2) + maskSize;
  const buffer = allocateFrame(reserved + bound);
  const { written } = utf8Encoder.encodeInto(text, buffer.subarray(reserved));
  const headerSize = frameHeaderSize(written, maskingKey !== undefined);
  if (headerSize !== reserved) buffer.copyWithin(headerSize, reserved, reserved + written);
  writeFrameHeader(buffer, 0, fin, rsv, opcode, written, maskingKey);
  const frame = shrinkFrame(buffer, headerSize + written);
  if (maskingKey !== undefined) maskInto(frame.subarray(headerSize), maskingKey, frame.subarray(headerSize));
  return [frame];
}

/**
 * Short ASCII strings (the common chat message) are copied byte by byte: cheaper than a call
 * into the runtime's encoder. Returns undefined at the first non-ASCII character.
 */
function encodeShortAscii(
  text: string,
  opcode: number,
  fin: boolean,
  rsv: number,
  maskingKey: Uint8Array | undefined,
  maskSize: number,
  freshUpTo: number,
): Uint8Array | undefined {
  const length = text.length;
  const headerSize = 2 + maskSize;
  const frame = allocateFrame(headerSize + length, freshUpTo);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return undefined;
    frame[headerSize + i] = code;
  }
  writeFrameHeader(frame, 0, fin, rsv, opcode, length, maskingKey);
  if (maskingKey !== undefined) maskInto(frame.subarray(headerSize), maskingKey, frame.subarray(headerSize));
  return frame;
}

/**
 * Encodes an unmasked, unfragmented text frame (a server's message, without extensions)
 * straight into `target` from `offset`, where the caller joins the frames of one write, and
 * returns the frame's size: on JavaScriptCore, where each frame would otherwise be a fresh
 * array (`TextEncoder.encode()`'s, or the byte loop's) that the join then copies, this is one
 * allocation and one copy less per message. Needs room for the worst case: see
 * {@link textFrameRoom}. ASCII of up to 125 characters is copied by a loop (cheaper than a
 * call into the runtime's encoder); longer or other text is written by `encodeInto` behind
 * room for the largest header its length allows, then moved down to its real header.
 */
export function encodeTextFrameInto(text: string, target: Uint8Array, offset: number): number {
  const length = text.length;
  if (length < 126) {
    const start = offset + 2;
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      target[start + i] = code;
    }
    if (i === length) {
      writeFrameHeader(target, offset, true, 0, Opcode.Text, length, undefined);
      return 2 + length;
    }
  }
  const bound = length * 3;
  const reserved = frameHeaderSize(bound, false);
  const { written } = utf8Encoder.encodeInto(
    text,
    target.subarray(offset + reserved, offset + reserved + bound),
  );
  const headerSize = frameHeaderSize(written, false);
  if (headerSize !== reserved)
    target.copyWithin(offset + headerSize, offset + reserved, offset + reserved + written);
  writeFrameHeader(target, offset, true, 0, Opcode.Text, written, undefined);
  return headerSize + written;
}

/** The room {@link encodeTextFrameInto} needs for `text`: the largest header and 3 bytes per UTF-16 code unit. */
export function textFrameRoom(text: string): number {
  const bound = text.length * 3;
  return frameHeaderSize(bound, false) + bound;
}
