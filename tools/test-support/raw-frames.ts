/**
 * Raw WebSocket frames for the adapters' tests, hand-rolled on purpose (not @ws/codec), so the
 * tests can craft what our own encoder never would and read what a server sends without
 * trusting our decoder. Runtime-neutral: imported by the Deno and Bun test suites.
 */

export interface RawFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** Parses unmasked frames (as a server sends them); returns the frames and the unused rest. */
export function parseFrames(buffer: Uint8Array): { frames: RawFrame[]; rest: Uint8Array } {
  const frames: RawFrame[] = [];
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    let length = buffer[offset + 1]! & 0x7f;
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
    if (buffer.length - offset < header + length) break;
    const b0 = buffer[offset]!;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      opcode: b0 & 0x0f,
      payload: buffer.slice(offset + header, offset + header + length),
    });
    offset += header + length;
  }
  return { frames, rest: buffer.slice(offset) };
}

/** One client frame, masked with a zero key. */
export function rawFrame(opcode: number, payload: Uint8Array = new Uint8Array(0), fin = true): Uint8Array {
  const length = payload.length;
  const header: number[] = [(fin ? 0x80 : 0) | opcode];
  if (length < 126) header.push(0x80 | length);
  else if (length < 65536) header.push(0x80 | 126, length >> 8, length & 0xff);
  else
    header.push(
      0x80 | 127,
      0,
      0,
      0,
      0,
      (length >>> 24) & 0xff,
      (length >>> 16) & 0xff,
      (length >>> 8) & 0xff,
      length & 0xff,
    );
  header.push(0, 0, 0, 0);
  const out = new Uint8Array(header.length + length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}
