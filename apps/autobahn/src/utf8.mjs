// Strict UTF-8 validation as RFC 6455 §8.1 requires (RFC 3629 §4 syntax: no overlongs,
// no surrogates U+D800..U+DFFF, nothing above U+10FFFF).

/**
 * Index of the first byte at which `bytes` stops being a valid UTF-8 prefix, or -1 when
 * every byte so far can still be part of valid UTF-8. `complete` also rejects a truncated
 * trailing sequence (returns its start).
 * @param {Uint8Array} bytes
 * @param {boolean} [complete]
 */
export function utf8ErrorIndex(bytes, complete = true) {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) {
      need = 2;
      lo = 0xa0; // no overlong 3-byte forms
    } else if (b === 0xed) {
      need = 2;
      hi = 0x9f; // no surrogates
    } else if (b >= 0xe1 && b <= 0xef) need = 2;
    else if (b === 0xf0) {
      need = 3;
      lo = 0x90; // no overlong 4-byte forms
    } else if (b === 0xf4) {
      need = 3;
      hi = 0x8f; // nothing above U+10FFFF
    } else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return complete ? i : -1;
      const c = bytes[i + k] ?? 0;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i + k;
    }
    i += need + 1;
  }
  return -1;
}

/** @param {Uint8Array} bytes */
export function isValidUtf8(bytes) {
  return utf8ErrorIndex(bytes, true) === -1;
}
