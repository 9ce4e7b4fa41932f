/**
 * Raw WebSocket frames for the adapters' tests, hand-rolled on purpose (not @ws/codec), so the
 * tests can craft what our own encoder never would and read what a peer sends without trusting
 * our decoder. Runtime-neutral (plain `Uint8Array`): imported by the Node, Deno and Bun suites.
 */

export interface RawFrame {
  readonly fin: boolean;
  /** The RSV bits as in the first header byte (RSV1 = 0x40: compressed, RFC 7692). */
  readonly rsv: number;
  readonly opcode: number;
  /** The payload, unmasked. */
  readonly payload: Uint8Array;
}

/**
 * Parses frames out of `buffer`, masked (as a client sends them) or not (as a server does);
 * returns the frames and the unused rest (RFC 6455 §5.2).
 */
export function parseFrames(buffer: Uint8Array): { frames: RawFrame[]; rest: Uint8Array<ArrayBuffer> } {
  const frames: RawFrame[] = [];
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    const b0 = buffer[offset] as number;
    const b1 = buffer[offset + 1] as number;
    let length = b1 & 0x7f;
    let header = 2;
    if (length === 126) {
      if (buffer.length - offset < 4) break;
      length = view.getUint16(offset + 2);
      header = 4;
    } else if (length === 127) {
      if (buffer.length - offset < 10) break;
      length = Number(view.getBigUint64(offset + 2));
      header = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskOffset = offset + header;
    if (masked) header += 4;
    if (buffer.length - offset < header + length) break;
    // A copy (a Node Buffer's slice() would be a view, and unmasking would change the input).
    const payload = new Uint8Array(buffer.subarray(offset + header, offset + header + length));
    if (masked)
      for (let i = 0; i < payload.length; i++)
        payload[i] = (payload[i] as number) ^ (buffer[maskOffset + (i & 3)] as number);
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, payload });
    offset += header + length;
  }
  return { frames, rest: new Uint8Array(buffer.subarray(offset)) };
}

/** Encodes one frame: by default final and masked with a zero key, as a client must send. */
export function rawFrame(
  opcode: number,
  payload: Uint8Array = new Uint8Array(0),
  options: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Uint8Array {
  const mask = options.mask ?? true;
  const fin = options.fin ?? true;
  const length = payload.length;
  const header: number[] = [(fin ? 0x80 : 0) | (options.rsv ?? 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65536) header.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    header.push(maskBit | 127, 0, 0, 0, 0);
    header.push((length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
  }
  if (mask) header.push(0, 0, 0, 0);
  const out = new Uint8Array(header.length + length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

/** A Close frame's payload: the code, then the reason in UTF-8 (RFC 6455 §5.5.1). */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + text.length);
  new DataView(out.buffer).setUint16(0, code);
  out.set(text, 2);
  return out;
}

/**
 * The status code at the start of a Close frame's payload (RFC 6455 §5.5.1); `undefined` when
 * there is no frame or no code, so that an assertion on it fails.
 */
export function closeCodeOf(payload: Uint8Array | undefined): number | undefined {
  if (payload === undefined || payload.length < 2) return undefined;
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint16(0);
}
