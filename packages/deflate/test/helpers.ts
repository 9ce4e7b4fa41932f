/** Helpers of this package's tests. */
import { type Connection, type InboundEvent, NEED_DATA, PENDING } from "@ws/codec";

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
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
