/**
 * Message data as bytes: views without copies, and UTF-8 sizes without encoding. Used by the
 * session's send paths and by the `WebSocket` class (which counts `bufferedAmount` the same way).
 *
 * @module
 */
import type { MessageData } from "./types.ts";

/** An empty payload (a pong without data, the last piece of an empty stream). */
export const EMPTY: Uint8Array = new Uint8Array(0);

/** Encodes strings as UTF-8 (pings, pongs, text for an extension). */
export const utf8: TextEncoder = new TextEncoder();

/** The UTF-8 length of `text` without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 2; // 4 bytes for 2 code units
        i++;
      } else length += 2;
    } else length += 2;
  }
  return length;
}

/** `data` as bytes without copying: a view on the same memory. */
export function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === "[object SharedArrayBuffer]") {
    return new Uint8Array(data);
  }
  throw new TypeError("Cannot send: data must be a string, an ArrayBuffer or an ArrayBufferView");
}

/** A message's payload: a string stays a string (text), anything else becomes a byte view. */
export function payloadOf(data: MessageData): string | Uint8Array {
  return typeof data === "string" ? data : toBytes(data);
}

/** A ping or pong payload: a string as UTF-8, bytes as a view, nothing as empty. */
export function controlPayloadOf(data: MessageData | undefined): Uint8Array {
  return data === undefined ? EMPTY : typeof data === "string" ? utf8.encode(data) : toBytes(data);
}
