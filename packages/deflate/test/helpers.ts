/** Helpers of this package's tests (they also run in Chromium: no runtime APIs here). */
import { type Connection, type InboundEvent, NEED_DATA, PENDING } from "@ws/codec";

/** The empty stored block's tail a message's last output ends with (RFC 7692 §7.2.1). */
export const TAIL: Uint8Array = new Uint8Array([0, 0, 0xff, 0xff]);

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Bytes from hex digits; whitespace is ignored. */
export const fromHex = (s: string): Uint8Array =>
  new Uint8Array((s.replace(/\s+/g, "").match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Byte equality (vitest's toEqual walks typed arrays slowly). */
export function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The bytes of an engine call, synchronous or not, joined. */
export const run = async (result: Uint8Array[] | Promise<Uint8Array[]>): Promise<Uint8Array> =>
  concat(await result);

/** Compressible pseudo-random bytes (a small alphabet), deterministic. */
export function sample(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = 97 + ((s >>> 16) % 8);
  }
  return out;
}

/** All events a connection has, awaiting `pending` whenever the extension works asynchronously. */
export async function drainAsync(conn: Connection): Promise<InboundEvent[]> {
  const events: InboundEvent[] = [];
  for (let e = conn.nextEvent(); e !== NEED_DATA; e = conn.nextEvent()) {
    if (e === PENDING) await conn.pending;
    else events.push(e);
  }
  return events;
}
