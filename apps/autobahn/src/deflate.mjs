// permessage-deflate (RFC 7692) for the runner's own side of the connection.

import zlib from "node:zlib";

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]); // RFC 7692 §7.2.1

/**
 * Parse a Sec-WebSocket-Extensions value (RFC 6455 §9.1) into a list of
 * { name, params } (parameter values unquoted; a bare parameter is `true`).
 * @param {string | undefined} value
 * @returns {{ name: string, params: Map<string, string | true> }[]}
 */
export function parseExtensions(value) {
  if (value === undefined || value.trim() === "") return [];
  return value.split(",").map((item) => {
    const [name = "", ...rest] = item.split(";").map((s) => s.trim());
    /** @type {Map<string, string | true>} */
    const params = new Map();
    for (const p of rest) {
      if (p === "") continue;
      const eq = p.indexOf("=");
      if (eq < 0) params.set(p.toLowerCase(), true);
      else
        params.set(
          p.slice(0, eq).trim().toLowerCase(),
          p
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, "$1"),
        );
    }
    return { name: name.toLowerCase(), params };
  });
}

/**
 * The agreed parameters, seen from the client (RFC 7692 §7.1).
 * @typedef {object} DeflateParams
 * @property {boolean} serverNoContextTakeover
 * @property {boolean} clientNoContextTakeover
 * @property {number} serverMaxWindowBits
 * @property {number} clientMaxWindowBits
 */

/**
 * Read the server's response header. Returns null when permessage-deflate was not accepted,
 * or a string describing why the response is invalid (RFC 7692 §5, §7.1).
 * @param {string | undefined} headerValue
 * @param {string} offer what we offered, to check the server only uses offered parameters
 * @returns {DeflateParams | string | null}
 */
export function acceptedDeflate(headerValue, offer) {
  const all = parseExtensions(headerValue);
  const pmd = all.filter((e) => e.name === "permessage-deflate");
  if (pmd.length === 0)
    return all.length === 0 ? null : `server accepted an extension we did not offer: ${headerValue}`;
  if (pmd.length > 1) return "server accepted permessage-deflate more than once (RFC 7692 §5)";
  const offered = parseExtensions(offer).filter((e) => e.name === "permessage-deflate");
  const params = /** @type {{ params: Map<string, string | true> }} */ (pmd[0]).params;
  /** @type {DeflateParams} */
  const result = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  };
  for (const [name, value] of params) {
    if (name === "server_no_context_takeover") result.serverNoContextTakeover = true;
    else if (name === "client_no_context_takeover") result.clientNoContextTakeover = true;
    else if (name === "server_max_window_bits" || name === "client_max_window_bits") {
      const bits = Number(value);
      if (!Number.isInteger(bits) || bits < 8 || bits > 15)
        return `invalid ${name}=${String(value)} (RFC 7692 §7.1.2)`;
      if (name === "client_max_window_bits") {
        // RFC 7692 §7.1.2.2: only allowed in a response when the client offered it.
        if (!offered.some((o) => o.params.has("client_max_window_bits"))) {
          return "server sent client_max_window_bits although we did not offer it (RFC 7692 §7.1.2.2)";
        }
        result.clientMaxWindowBits = bits;
      } else result.serverMaxWindowBits = bits;
    } else return `unknown permessage-deflate parameter ${name} (RFC 7692 §7.1)`;
  }
  // Our own offer binds us too (RFC 7692 §7.1.2.2): never use a larger window than we offered;
  // and when we hinted client_no_context_takeover, we keep to it.
  const ours = offered[0]?.params;
  const offeredBits = ours?.get("client_max_window_bits");
  if (typeof offeredBits === "string")
    result.clientMaxWindowBits = Math.min(result.clientMaxWindowBits, Number(offeredBits));
  if (ours?.has("client_no_context_takeover") === true) result.clientNoContextTakeover = true;
  return result;
}

/**
 * Collect what a zlib stream outputs until a flush completes.
 * @param {zlib.DeflateRaw | zlib.InflateRaw} stream
 * @param {Uint8Array[]} inputs
 * @param {number} maxOutput
 * @returns {Promise<Buffer>}
 */
function runFlush(stream, inputs, maxOutput) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const out = [];
    let size = 0;
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      size += chunk.length;
      if (size > maxOutput) {
        cleanup();
        reject(new Error(`decompressed output exceeds ${maxOutput} bytes`));
        return;
      }
      out.push(chunk);
    };
    /** @param {Error} err */
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("error", onError);
    };
    stream.on("data", onData);
    stream.on("error", onError);
    for (const input of inputs) stream.write(input);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      cleanup();
      resolve(Buffer.concat(out));
    });
  });
}

/** Compression state for one connection, from the client's point of view. */
export class PerMessageDeflate {
  /** @param {DeflateParams} params @param {'client' | 'server'} role */
  constructor(params, role = "client") {
    this.params = params;
    this.role = role;
    /** @type {zlib.DeflateRaw | null} */
    this.deflater = null;
    /** @type {zlib.InflateRaw | null} */
    this.inflater = null;
  }

  /** Our own sending context: client_* parameters when we are the client. */
  get ourNoContextTakeover() {
    return this.role === "client" ? this.params.clientNoContextTakeover : this.params.serverNoContextTakeover;
  }

  get ourWindowBits() {
    const bits = this.role === "client" ? this.params.clientMaxWindowBits : this.params.serverMaxWindowBits;
    return Math.max(bits, 9); // zlib's raw deflate does not support 8
  }

  /**
   * Compress one message (RFC 7692 §7.2.1: deflate, sync flush, drop the 4-byte tail).
   * @param {Uint8Array} data
   */
  async compress(data) {
    if (this.deflater === null || this.ourNoContextTakeover) {
      this.deflater?.close();
      this.deflater = zlib.createDeflateRaw({ windowBits: this.ourWindowBits, memLevel: 8 });
    }
    const out = await runFlush(this.deflater, [data], Number.MAX_SAFE_INTEGER);
    return out.length >= 4 && out.subarray(out.length - 4).equals(TAIL)
      ? out.subarray(0, out.length - 4)
      : out;
  }

  /**
   * Decompress one message the peer sent (RFC 7692 §7.2.2: append the tail, inflate).
   * @param {Uint8Array} data
   * @param {number} maxOutput
   */
  async decompress(data, maxOutput) {
    // Strict on purpose: the peer's agreed window size and context reset are enforced, so a
    // peer that ignores them produces data this inflater rejects (RFC 7692 §7.1.1, §7.1.2).
    const peerNoContextTakeover =
      this.role === "client" ? this.params.serverNoContextTakeover : this.params.clientNoContextTakeover;
    const peerBits =
      this.role === "client" ? this.params.serverMaxWindowBits : this.params.clientMaxWindowBits;
    if (this.inflater !== null && peerNoContextTakeover) {
      this.inflater.close();
      this.inflater = null;
    }
    if (this.inflater === null) this.inflater = zlib.createInflateRaw({ windowBits: Math.max(peerBits, 9) });
    try {
      return await runFlush(this.inflater, [data, TAIL], maxOutput);
    } catch (err) {
      this.inflater.close();
      this.inflater = null;
      throw err;
    }
  }

  close() {
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }
}

/**
 * Compressed bytes (without the RFC 7692 tail) of `totalBytes` zero bytes, produced with
 * bounded memory: the "compression bomb" payload.
 * @param {number} totalBytes
 */
export async function zeroBomb(totalBytes) {
  const deflater = zlib.createDeflateRaw({ level: 9 });
  const block = Buffer.alloc(Math.min(totalBytes, 1 << 20));
  /** @type {Buffer[]} */
  const parts = [];
  for (let sent = 0; sent < totalBytes; sent += block.length) {
    const n = Math.min(block.length, totalBytes - sent);
    parts.push(await runFlush(deflater, [block.subarray(0, n)], Number.MAX_SAFE_INTEGER));
  }
  deflater.close();
  const out = Buffer.concat(parts);
  return out.subarray(0, out.length - 4);
}
