/**
 * How a message crosses Redis: one binary Redis message per WebSocket message, the channel
 * naming the topic. The envelope carries what the channel does not:
 *
 * ```
 * byte 0       format version (1)
 * byte 1       flags: 1 binary message, 2 `compress` given, 4 its value
 * bytes 2–17   the publishing server's random id (it skips its own messages: its local
 *              subscribers already have them)
 * bytes 18–    the payload (UTF-8 for text)
 * ```
 *
 * @module
 */
import type { BrokerMessage } from "@ws/session";

const VERSION = 1;
const BINARY = 1;
const COMPRESS_GIVEN = 2;
const COMPRESS = 4;
/** Bytes of a server's id. */
export const ORIGIN_SIZE = 16;
const HEADER_SIZE = 2 + ORIGIN_SIZE;

/** A random server id (16 bytes from `crypto.getRandomValues`). */
export function newOrigin(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(ORIGIN_SIZE));
}

/** The envelope of `message` from `origin`, as one buffer. */
export function encodeEnvelope(origin: Uint8Array, message: BrokerMessage): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + message.payload.length);
  out[0] = VERSION;
  out[1] =
    (message.binary ? BINARY : 0) |
    (message.compress === undefined ? 0 : COMPRESS_GIVEN | (message.compress ? COMPRESS : 0));
  out.set(origin, 2);
  out.set(message.payload, HEADER_SIZE);
  return out;
}

/** A decoded envelope, or undefined when `bytes` is not one (another writer on the channel). */
export function decodeEnvelope(
  bytes: Uint8Array,
): { origin: Uint8Array; message: BrokerMessage } | undefined {
  if (bytes.length < HEADER_SIZE || bytes[0] !== VERSION) return undefined;
  const flags = bytes[1] as number;
  return {
    origin: bytes.subarray(2, HEADER_SIZE),
    message: {
      payload: bytes.subarray(HEADER_SIZE),
      binary: (flags & BINARY) !== 0,
      compress: (flags & COMPRESS_GIVEN) === 0 ? undefined : (flags & COMPRESS) !== 0,
    },
  };
}

/** Whether two ids are equal. */
export function sameOrigin(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < ORIGIN_SIZE; i++) if (a[i] !== b[i]) return false;
  return true;
}
