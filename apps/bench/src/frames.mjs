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

const WORDS = (
  "alpha beta gamma delta echo status message update user channel room event payload " +
  "created updated deleted online offline typing read delivered pending active"
).split(" ");

/**
 * A JSON-like text message of exactly `size` bytes (ASCII, valid JSON for sizes ≥ 64): an array
 * of records with repeated keys and varying values, like a chat or API payload. It compresses
 * about as well as real JSON (several times), unlike `messagePayload`'s random text. `variant`
 * changes the values, so a stream of variants is not one message repeated (which a compressor
 * with context takeover would reduce to a back-reference).
 * @param {number} size
 * @param {number} [variant]
 * @returns {Buffer}
 */
export function jsonPayload(size, variant = 0) {
  let x = (0x9e3779b9 ^ Math.imul(variant + 1, 0x85ebca6b)) >>> 0;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const word = () => /** @type {string} */ (WORDS[Math.floor(rnd() * WORDS.length)]);
  const head = `{"v":${variant},"items":[`;
  const tail = '],"pad":""}';
  let body = "";
  for (let i = 0; head.length + body.length + tail.length < size; i++) {
    const rec =
      `${i === 0 ? "" : ","}{"id":${Math.floor(rnd() * 1e6)},"user":"user-${Math.floor(rnd() * 500)}",` +
      `"type":"${word()}","room":"${word()}-${Math.floor(rnd() * 20)}","text":"${word()} ${word()} ${word()} ${word()}",` +
      `"ts":${1_732_000_000_000 + Math.floor(rnd() * 1e9)},"read":${rnd() < 0.5}}`;
    if (head.length + body.length + rec.length + tail.length > size) break;
    body += rec;
  }
  const fill = size - head.length - body.length - tail.length;
  const text =
    fill >= 0
      ? `${head}${body}],"pad":"${" ".repeat(fill)}"}`
      : `${head}${body}${tail}`.slice(0, size).padEnd(size, " "); // tiny sizes: not JSON
  return Buffer.from(text, "latin1");
}

/**
 * The payload of a benchmark message of the given kind.
 * @param {number} size
 * @param {{ binary: boolean, kind?: "random" | "json" | undefined }} shape
 * @param {number} [variant]
 */
export function payloadOf(size, { binary, kind = "random" }, variant = 0) {
  return kind === "json" ? jsonPayload(size, variant) : messagePayload(size, binary);
}

/**
 * A ring of masked message frames for pipelined sending: `distinct` different messages
 * (variants of the payload; 1 for random payloads, which are all alike), stored twice back to
 * back so that any run of up to `distinct` consecutive frames starting in the first half is one
 * contiguous slice: `frames.subarray(offsets[i], offsets[i + k])`, then `i = (i + k) % distinct`.
 * With one distinct message it is `max(window)` copies, like `frameTrain`.
 * @param {{ size: number, binary: boolean, kind?: "random" | "json" | undefined, compressed: boolean,
 *   window: number, variants?: number }} o
 * @returns {{ frames: Buffer, offsets: number[], distinct: number, wireBytes: number }}
 */
export function frameRing(o) {
  const kind = o.kind ?? "random";
  const variants = kind === "json" ? Math.max(1, o.variants ?? 64) : 1;
  const distinct = Math.max(variants, o.window);
  /** @type {Buffer[]} */
  const one = [];
  for (let v = 0; v < variants; v++) {
    const payload = payloadOf(o.size, { binary: o.binary, kind }, v);
    const opcode = o.binary ? OP_BINARY : OP_TEXT;
    one.push(
      o.compressed ? maskedFrame(opcode, deflateMessage(payload), true) : maskedFrame(opcode, payload),
    );
  }
  /** @type {Buffer[]} */
  const list = [];
  for (let i = 0; i < 2 * distinct; i++) list.push(/** @type {Buffer} */ (one[i % variants]));
  /** @type {number[]} */
  const offsets = [0];
  for (const f of list) offsets.push(/** @type {number} */ (offsets[offsets.length - 1]) + f.length);
  let wireBytes = 0;
  for (const f of one) wireBytes += f.length;
  return { frames: Buffer.concat(list), offsets, distinct, wireBytes: wireBytes / variants };
}

/**
 * Parse complete unmasked server frames (for checking a few echoes; not for the hot path).
 * @param {Buffer} buf
 * @returns {{ fin: boolean, rsv1: boolean, opcode: number, payload: Buffer }[]}
 */
export function parseFrames(buf) {
  /** @type {{ fin: boolean, rsv1: boolean, opcode: number, payload: Buffer }[]} */
  const out = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    const b0 = /** @type {number} */ (buf[i]);
    const b1 = /** @type {number} */ (buf[i + 1]);
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (i + 4 > buf.length) break;
      len = buf.readUInt16BE(i + 2);
      head = 4;
    } else if (len === 127) {
      if (i + 10 > buf.length) break;
      len = buf.readUInt32BE(i + 2) * 2 ** 32 + buf.readUInt32BE(i + 6);
      head = 10;
    }
    if (b1 & 0x80) break; // masked: not a server frame
    if (i + head + len > buf.length) break;
    out.push({
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      opcode: b0 & 0x0f,
      payload: buf.subarray(i + head, i + head + len),
    });
    i += head + len;
  }
  return out;
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
    /** Completed data messages that came compressed (RSV1 set on their first frame). */
    this.compressedMessages = 0;
    /** Payload bytes of the completed data messages as received (compressed or not). */
    this.dataBytes = 0;
    /** @type {number | null} */
    this.expectedLength = null;
    /**
     * Data messages whose payload, as received, is shorter than this are not counted by
     * `push` (they are counted in `shortMessages`): a benchmark tells its unmeasured messages
     * (a fan-out warm-up) from its measured ones by size, compressed or not.
     */
    this.minLength = 0;
    /** Completed data messages shorter than `minLength`. */
    this.shortMessages = 0;
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
   * Feed bytes; returns how many data messages (of at least `minLength` bytes) completed in this chunk.
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
    this.dataBytes += length;
    if (this.messageCompressed) this.compressedMessages++;
    if (length < this.minLength) {
      this.shortMessages++;
      return 0;
    }
    if (this.expectedLength !== null && !this.messageCompressed && length !== this.expectedLength)
      this.mismatches++;
    return 1;
  }
}
