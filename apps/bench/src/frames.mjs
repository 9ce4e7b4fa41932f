// Hand-rolled RFC 6455 framing for the load generator: precomputed masked client frames and a
// minimal incremental reader that counts messages without copying payloads. Deliberately tiny
// and identical for every target, so the generator costs the same whatever it talks to.

import { deflateRawSync, constants as zlibConstants } from "node:zlib";

/** A fixed masking key: fine for a benchmark (RFC 6455 wants it unpredictable for proxies). */
export const MASK_KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/**
 * One masked client frame with FIN set.
 * @param {number} opcode
 * @param {Uint8Array} payload
 * @param {boolean} [rsv1] set for a permessage-deflate compressed message
 * @returns {Buffer}
 */
export function maskedFrame(opcode, payload, rsv1 = false) {
  const len = payload.length;
  const headLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headLen + 4 + len);
  frame[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (len < 126) {
    frame[1] = 0x80 | len;
  } else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  MASK_KEY.copy(frame, headLen);
  const start = headLen + 4;
  for (let i = 0; i < len; i++)
    frame[start + i] = /** @type {number} */ (payload[i]) ^ /** @type {number} */ (MASK_KEY[i & 3]);
  return frame;
}

/**
 * The payload of a benchmark message: printable ASCII for text (valid UTF-8 that does not
 * compress to nothing), pseudo-random bytes for binary. Deterministic.
 * @param {number} size
 * @param {boolean} binary
 * @returns {Buffer}
 */
export function messagePayload(size, binary) {
  const out = Buffer.allocUnsafe(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = binary ? x & 0xff : 0x20 + ((x >>> 0) % 95);
  }
  return out;
}

/**
 * permessage-deflate body of one message sent without context takeover (always valid for the
 * receiver, whatever was negotiated): raw deflate, sync flush, trailing 00 00 ff ff removed.
 * @param {Uint8Array} payload
 * @returns {Buffer}
 */
export function deflateMessage(payload) {
  const out = deflateRawSync(payload, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

/**
 * `count` copies of the same masked message frame, back to back: writing any prefix of k
 * frames sends k messages with no per-write work.
 * @param {{ size: number, binary: boolean, compressed: boolean, count: number }} options
 * @returns {{ frames: Buffer, frameLength: number }}
 */
export function frameTrain({ size, binary, compressed, count }) {
  const payload = messagePayload(size, binary);
  const frame = compressed
    ? maskedFrame(binary ? OP_BINARY : OP_TEXT, deflateMessage(payload), true)
    : maskedFrame(binary ? OP_BINARY : OP_TEXT, payload);
  const frames = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(frames, i * frame.length);
  return { frames, frameLength: frame.length };
}

/**
 * Incremental frame reader. Counts complete data messages; reassembles only control frame
 * payloads (at most 125 bytes). Accepts masked frames too (the raw TCP ceiling target echoes
 * our own masked frames back). Does not validate what a conformance suite would.
 */
export class FrameReader {
  /**
   * @param {{ onPing?: (payload: Buffer) => void, onClose?: (payload: Buffer) => void }} [handlers]
   */
  constructor(handlers = {}) {
    this.onPing = handlers.onPing;
    this.onClose = handlers.onClose;
    /** Completed data messages so far. */
    this.messages = 0;
    /** Messages whose uncompressed length differed from `expectedLength` (when set). */
    this.mismatches = 0;
    /** @type {number | null} */
    this.expectedLength = null;
    this.closed = false;
    this.header = Buffer.alloc(14);
    this.headerHave = 0;
    this.headerNeed = 2;
    /** Payload bytes still to skip in the current frame. */
    this.remaining = 0;
    this.opcode = 0;
    this.fin = false;
    this.messageBytes = 0;
    this.messageCompressed = false;
    /** @type {Buffer[]} */
    this.controlParts = [];
  }

  /**
   * Feed bytes; returns how many data messages completed in this chunk.
   * @param {Buffer} chunk
   * @returns {number}
   */
  push(chunk) {
    const n = chunk.length;
    let i = 0;
    let done = 0;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        if (this.opcode >= 8) this.controlParts.push(chunk.subarray(i, i + take));
        else this.messageBytes += take;
        this.remaining -= take;
        i += take;
        if (this.remaining > 0) break;
        done += this.#endFrame();
        continue;
      }
      if (this.headerHave === 0 && n - i >= 14) {
        // Fast path: the whole header is in this chunk.
        i += this.#parseHeader(chunk, i);
      } else {
        while (i < n && this.headerHave < this.headerNeed) {
          const b = /** @type {number} */ (chunk[i++]);
          this.header[this.headerHave++] = b;
          if (this.headerHave === 2) {
            const len7 = b & 0x7f;
            this.headerNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b & 0x80 ? 4 : 0);
          }
        }
        if (this.headerHave < this.headerNeed) break;
        this.#parseHeader(this.header, 0);
        this.headerHave = 0;
        this.headerNeed = 2;
      }
      if (this.remaining === 0) done += this.#endFrame();
    }
    this.messages += done;
    return done;
  }

  /**
   * @param {Buffer} buf
   * @param {number} at
   * @returns {number} header length
   */
  #parseHeader(buf, at) {
    const b0 = /** @type {number} */ (buf[at]);
    const b1 = /** @type {number} */ (buf[at + 1]);
    this.fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if (opcode !== OP_CONTINUATION) {
      if (opcode < 8) this.messageCompressed = (b0 & 0x40) !== 0;
      this.opcode = opcode;
    } else {
      this.opcode = OP_CONTINUATION;
    }
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      len = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      len = buf.readUInt32BE(at + 2) * 2 ** 32 + buf.readUInt32BE(at + 6);
      head = 10;
    }
    if (b1 & 0x80) head += 4; // masked (only from the raw TCP ceiling target): skip the key
    this.remaining = len;
    return head;
  }

  /** @returns {number} 1 when a data message completed */
  #endFrame() {
    if (this.opcode >= 8) {
      const payload = Buffer.concat(this.controlParts);
      this.controlParts = [];
      if (this.opcode === OP_PING) this.onPing?.(payload);
      else if (this.opcode === OP_CLOSE) {
        this.closed = true;
        this.onClose?.(payload);
      }
      return 0;
    }
    if (!this.fin) return 0;
    const length = this.messageBytes;
    this.messageBytes = 0;
    if (this.expectedLength !== null && !this.messageCompressed && length !== this.expectedLength)
      this.mismatches++;
    return 1;
  }
}
