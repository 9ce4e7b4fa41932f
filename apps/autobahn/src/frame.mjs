// Minimal, deliberately independent WebSocket framing for the conformance runner.
// It must be able to produce *invalid* frames, so it does not reuse @ws/codec
// (the implementation under test). RFC 6455 §5.2 (base framing), §5.3 (masking).

import { randomBytes } from "node:crypto";
import { isValidUtf8 } from "./utf8.mjs";

/** RFC 6455 §5.2 / §11.8 opcodes. */
export const OPCODE = Object.freeze({
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
});

/** @param {number} opcode */
export function isControlOpcode(opcode) {
  return (opcode & 0x8) !== 0; // RFC 6455 §5.5: opcodes 0x8-0xF
}

/** @param {number} opcode */
export function opcodeName(opcode) {
  switch (opcode) {
    case 0x0:
      return "continuation";
    case 0x1:
      return "text";
    case 0x2:
      return "binary";
    case 0x8:
      return "close";
    case 0x9:
      return "ping";
    case 0xa:
      return "pong";
    default:
      return `reserved(0x${opcode.toString(16)})`;
  }
}

/**
 * @typedef {object} FrameSpec
 * @property {number} opcode
 * @property {Uint8Array} [payload]
 * @property {boolean} [fin] default true
 * @property {number} [rsv] 3-bit value: 4 = RSV1, 2 = RSV2, 1 = RSV3 (as Autobahn numbers them)
 * @property {boolean} [mask] default decided by the sender's role
 * @property {Uint8Array} [maskKey]
 * @property {bigint} [declaredLength] length written in the header (payload may be shorter)
 * @property {7 | 16 | 64} [lengthForm] force a (possibly non-minimal) length encoding
 */

/**
 * XOR `data` in place with the 4-byte masking key (RFC 6455 §5.3).
 * @param {Uint8Array} data
 * @param {Uint8Array} key
 */
export function applyMask(data, key) {
  const n = data.length;
  const k0 = key[0] ?? 0;
  const k1 = key[1] ?? 0;
  const k2 = key[2] ?? 0;
  const k3 = key[3] ?? 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    data[i] = (data[i] ?? 0) ^ k0;
    data[i + 1] = (data[i + 1] ?? 0) ^ k1;
    data[i + 2] = (data[i + 2] ?? 0) ^ k2;
    data[i + 3] = (data[i + 3] ?? 0) ^ k3;
  }
  for (; i < n; i++) data[i] = (data[i] ?? 0) ^ (key[i & 3] ?? 0);
}

/**
 * Encode one frame (RFC 6455 §5.2). Any field may be invalid on purpose.
 * @param {FrameSpec} spec
 * @returns {Buffer}
 */
export function encodeFrame(spec) {
  const payload = spec.payload ?? new Uint8Array(0);
  const fin = spec.fin ?? true;
  const rsv = spec.rsv ?? 0;
  const mask = spec.mask ?? false;
  const length = spec.declaredLength ?? BigInt(payload.length);
  let form = spec.lengthForm;
  if (form === undefined) form = length < 126n ? 7 : length < 65536n ? 16 : 64;
  const headerLength = 2 + (form === 16 ? 2 : form === 64 ? 8 : 0) + (mask ? 4 : 0);
  const out = Buffer.allocUnsafe(headerLength + payload.length);
  out[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (spec.opcode & 0x0f);
  let offset = 2;
  if (form === 7) {
    out[1] = Number(length) & 0x7f;
  } else if (form === 16) {
    out[1] = 126;
    out.writeUInt16BE(Number(length), 2);
    offset = 4;
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(length, 2);
    offset = 10;
  }
  if (mask) {
    out[1] = (out[1] ?? 0) | 0x80;
    const key = spec.maskKey ?? randomBytes(4);
    out.set(key.subarray(0, 4), offset);
    offset += 4;
    out.set(payload, offset);
    applyMask(out.subarray(offset), key);
  } else {
    out.set(payload, offset);
  }
  return out;
}

/**
 * Close frame payload (RFC 6455 §5.5.1): 2-byte code then UTF-8 reason.
 * @param {number | null} code
 * @param {Uint8Array | string} [reason]
 */
export function closePayload(code, reason = "") {
  if (code === null) return Buffer.alloc(0);
  const r = typeof reason === "string" ? Buffer.from(reason, "utf8") : Buffer.from(reason);
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code & 0xffff, 0);
  r.copy(out, 2);
  return out;
}

/**
 * Close codes an endpoint may send and must accept (RFC 6455 §7.4.1, §7.4.2 and the IANA
 * "WebSocket Close Code Number Registry", which added 1012-1014).
 * @param {number} code
 */
export function isValidCloseCode(code) {
  if (code >= 1000 && code <= 1014) return code !== 1004 && code !== 1005 && code !== 1006;
  return code >= 3000 && code <= 4999;
}

/**
 * @typedef {object} ParsedFrame
 * @property {boolean} fin
 * @property {number} rsv
 * @property {number} opcode
 * @property {boolean} masked
 * @property {Buffer} payload unmasked
 */

/**
 * Incremental frame parser for what the peer sends. It never throws; rule breaks are
 * collected in `violations` (RFC 6455 §5.1-§5.5). After a fatal violation it stops.
 */
export class FrameParser {
  /**
   * @param {{ expectMasked: boolean, allowRsv1?: boolean, maxPayload?: number }} options
   *   expectMasked: true when the peer is a client (RFC 6455 §5.1).
   */
  constructor(options) {
    this.expectMasked = options.expectMasked;
    this.allowRsv1 = options.allowRsv1 ?? false;
    this.maxPayload = options.maxPayload ?? 256 * 1024 * 1024;
    /** @type {Buffer[]} */
    this.chunks = [];
    this.buffered = 0;
    /** @type {string[]} */
    this.violations = [];
    this.dead = false;
    /** @type {{ fin: boolean, rsv: number, opcode: number, masked: boolean, length: number, headerLength: number } | null} */
    this.header = null;
  }

  /** @param {string} message */
  violate(message) {
    this.violations.push(message);
  }

  /**
   * @param {number} n
   * @returns {Buffer}
   */
  take(n) {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = /** @type {Buffer} */ (this.chunks[0]);
      const use = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, use);
      filled += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    this.buffered -= n;
    return out;
  }

  /** @param {number} n */
  peek(n) {
    const b = this.take(n);
    this.chunks.unshift(b);
    this.buffered += n;
    return b;
  }

  /**
   * @param {Buffer} chunk
   * @returns {ParsedFrame[]}
   */
  push(chunk) {
    /** @type {ParsedFrame[]} */
    const frames = [];
    if (this.dead) return frames;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.header === null) {
        if (this.buffered < 2) break;
        const two = this.peek(2);
        const b0 = two[0] ?? 0;
        const b1 = two[1] ?? 0;
        const masked = (b1 & 0x80) !== 0;
        const len7 = b1 & 0x7f;
        const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
        const headerLength = 2 + extra + (masked ? 4 : 0);
        if (this.buffered < headerLength) break;
        const head = this.peek(headerLength);
        let length = len7;
        if (len7 === 126) length = head.readUInt16BE(2);
        if (len7 === 127) {
          const big = head.readBigUInt64BE(2);
          if (big >> 63n) {
            this.violate("64-bit payload length has its most significant bit set (RFC 6455 §5.2)");
            this.dead = true;
            break;
          }
          if (big > BigInt(this.maxPayload)) {
            this.violate(`peer declared a ${big}-byte frame, larger than the runner accepts`);
            this.dead = true;
            break;
          }
          length = Number(big);
        }
        const opcode = b0 & 0x0f;
        const fin = (b0 & 0x80) !== 0;
        const rsv = (b0 >> 4) & 7;
        if (![0, 1, 2, 8, 9, 10].includes(opcode)) {
          this.violate(`peer sent reserved opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
          this.dead = true;
          break;
        }
        if (rsv !== 0 && !(rsv === 4 && this.allowRsv1)) {
          this.violate(
            `peer sent a frame with RSV bits 0b${rsv.toString(2).padStart(3, "0")} without a negotiated extension (RFC 6455 §5.2)`,
          );
        }
        if (isControlOpcode(opcode) && (!fin || length > 125)) {
          this.violate(
            `peer sent a ${fin ? "" : "fragmented "}${opcodeName(opcode)} frame of ${length} bytes (RFC 6455 §5.5)`,
          );
        }
        if (masked !== this.expectMasked) {
          this.violate(
            this.expectMasked
              ? "client sent an unmasked frame (RFC 6455 §5.1: a client MUST mask every frame)"
              : "server sent a masked frame (RFC 6455 §5.1: a server MUST NOT mask)",
          );
        }
        this.header = { fin, rsv, opcode, masked, length, headerLength };
      }
      const h = this.header;
      if (this.buffered < h.headerLength + h.length) break;
      const head = this.take(h.headerLength);
      const payload = Buffer.from(this.take(h.length)); // own copy, safe to unmask
      if (h.masked) applyMask(payload, head.subarray(h.headerLength - 4, h.headerLength));
      frames.push({ fin: h.fin, rsv: h.rsv, opcode: h.opcode, masked: h.masked, payload });
      this.header = null;
    }
    return frames;
  }
}

/**
 * Decode a close payload the peer sent and list its rule breaks (RFC 6455 §5.5.1, §7.4).
 * @param {Buffer} payload
 * @returns {{ code: number | null, reason: Buffer, problems: string[] }}
 */
export function parseClosePayload(payload) {
  /** @type {string[]} */
  const problems = [];
  if (payload.length === 0) return { code: null, reason: Buffer.alloc(0), problems };
  if (payload.length === 1) {
    problems.push("close frame with a 1-byte payload (RFC 6455 §5.5.1)");
    return { code: null, reason: Buffer.alloc(0), problems };
  }
  const code = payload.readUInt16BE(0);
  const reason = payload.subarray(2);
  if (!isValidCloseCode(code)) problems.push(`close frame with invalid code ${code} (RFC 6455 §7.4)`);
  if (!isValidUtf8(reason)) problems.push("close reason is not valid UTF-8 (RFC 6455 §5.5.1)");
  return { code, reason, problems };
}
