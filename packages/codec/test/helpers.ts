/** Shared helpers for the codec's test suites. */

import type { FrameDecoder, FramePiece } from "../src/frame/index.ts";
import { type Connection, type InboundEvent, NEED_DATA, PENDING } from "../src/index.ts";

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, within range). */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) out.push(bytes.slice(start, point));
    start = Math.max(start, point);
  }
  return out;
}

/** Drains every event from a connection until NEED_DATA (no asynchronous extension here). */
export function drain(conn: Connection): InboundEvent[] {
  const events: InboundEvent[] = [];
  for (let e = conn.nextEvent(); e !== NEED_DATA; e = conn.nextEvent()) {
    if (e === PENDING) throw new Error("unexpected PENDING: this helper is for synchronous extensions");
    events.push(e);
  }
  return events;
}

/** Drains every event, waiting whenever an asynchronous extension is at work. */
export async function drainAsync(conn: Connection): Promise<InboundEvent[]> {
  const events: InboundEvent[] = [];
  for (let e = conn.nextEvent(); e !== NEED_DATA; e = conn.nextEvent()) {
    if (e === PENDING) await conn.pending;
    else events.push(e);
  }
  return events;
}

/** The bytes of a send that must have completed synchronously. */
export function sync(result: Uint8Array[] | Promise<Uint8Array[]>): Uint8Array[] {
  if (result instanceof Promise) throw new Error("unexpected asynchronous send");
  return result;
}

/** Feeds chunks (copied, since the connection unmasks in place) and drains all events. */
export function feed(conn: Connection, chunks: readonly Uint8Array[]): InboundEvent[] {
  const events: InboundEvent[] = [];
  for (const chunk of chunks) {
    conn.receive(chunk.slice());
    events.push(...drain(conn));
  }
  return events;
}

/** A whole frame as decoded: header fields and the joined payload. */
export interface WholeFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Uint8Array;
}

/** Decodes complete frames from chunks, joining each frame's pieces. Throws decoder errors. */
export function decodeFrames(decoder: FrameDecoder, chunks: readonly Uint8Array[]): WholeFrame[] {
  const frames: WholeFrame[] = [];
  let pieces: FramePiece[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk.slice());
    for (let piece = decoder.next(); piece !== undefined; piece = decoder.next()) {
      pieces.push(piece);
      if (piece.last) {
        frames.push({
          fin: piece.fin,
          rsv: piece.rsv,
          opcode: piece.opcode,
          payload: concatBytes(pieces.map((p) => p.data)),
        });
        pieces = [];
      }
    }
  }
  return frames;
}

/** Normalizes events for comparison: joins message pieces, turns views into plain arrays. */
export function normalize(events: readonly InboundEvent[]): unknown[] {
  return events.map((e) => {
    if ("data" in e && e.data instanceof Uint8Array) return { ...e, data: Array.from(e.data) };
    if ("payload" in e) return { ...e, payload: Array.from(e.payload) };
    return e;
  });
}

/** Random bytes without fast-check's per-element cost, for payloads of many KiB (xorshift). */
export function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed | 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}
