/**
 * The bytes of a fragmented message held until it is whole (RFC 6455 §5.4 "Fragmentation").
 *
 * A peer chooses how it fragments, down to one byte per frame, so what a message holds must be
 * bounded by its bytes, not by its fragment count (RFC 6455 §10.4). Pieces of at least
 * {@link COALESCE_BELOW} bytes are kept as they are, views of the input without a copy (the
 * one copy is the join at the end, as before); smaller pieces are copied into a tail buffer that
 * grows by doubling up to {@link TAIL_SIZE} and is then kept as one part. So every kept part but
 * the tail is at least {@link COALESCE_BELOW} bytes, a tiny piece keeps no object alive (nor the
 * input chunk it was a view of), and each piece costs work in proportion to its bytes.
 * Text is collected as the strings its pieces decode to, the same way (`text-collector.ts`).
 *
 * @module
 */

/** Pieces smaller than this are copied into the tail instead of being kept as views. */
export const COALESCE_BELOW = 4096;
/** The tail grows by doubling from {@link TAIL_START} to this, then starts a new one. */
export const TAIL_SIZE = 16384;
const TAIL_START = 256;
/**
 * What one kept part costs beyond its bytes (a typed array view and a list slot), charged by
 * {@link ByteCollector.footprint} so that the accounting is honest about small parts too.
 */
export const PART_OVERHEAD = 128;

/** Collects the pieces of one message into as few parts as their sizes allow. */
export class ByteCollector {
  readonly #parts: Uint8Array[] = [];
  #tail: Uint8Array | undefined;
  #tailLength = 0;
  #length = 0;
  #kept = 0;

  /** Bytes collected. */
  get length(): number {
    return this.#length;
  }

  /**
   * Memory held: the kept parts' bytes, the tail's whole capacity and {@link PART_OVERHEAD}
   * per part.
   */
  get footprint(): number {
    const tail = this.#tail === undefined ? 0 : this.#tail.length + PART_OVERHEAD;
    return this.#kept + this.#parts.length * PART_OVERHEAD + tail;
  }

  /** Adds a piece. A piece of {@link COALESCE_BELOW} bytes or more is kept, not copied: do not reuse it. */
  push(data: Uint8Array): void {
    const size = data.length;
    if (size === 0) return;
    this.#length += size;
    if (size >= COALESCE_BELOW) {
      this.#keepTail();
      this.#parts.push(data);
      this.#kept += size;
      return;
    }
    this.#room(size).set(data, this.#tailLength);
    this.#tailLength += size;
  }

  /**
   * Adds the small piece `source[start…end)` (fewer than {@link COALESCE_BELOW} bytes), copied
   * into the tail: the same as `push(source.subarray(start, end))`, without making the view.
   */
  pushRange(source: Uint8Array, start: number, end: number): void {
    const size = end - start;
    if (size === 0) return;
    this.#length += size;
    const tail = this.#room(size);
    let at = this.#tailLength;
    for (let i = start; i < end; i++) tail[at++] = source[i] as number;
    this.#tailLength = at;
  }

  /** The tail, with room for `size` more bytes (grown, or kept and started anew, if needed). */
  #room(size: number): Uint8Array {
    let tail = this.#tail;
    const needed = this.#tailLength + size;
    if (tail !== undefined && needed <= tail.length) return tail;
    if (tail !== undefined && tail.length >= TAIL_SIZE) {
      this.#keepTail();
      tail = undefined;
    }
    const used = tail === undefined ? 0 : this.#tailLength;
    let capacity = tail === undefined ? TAIL_START : tail.length * 2;
    while (capacity < used + size) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, Math.max(TAIL_SIZE, used + size)));
    if (tail !== undefined) grown.set(tail.subarray(0, used));
    this.#tail = grown;
    return grown;
  }

  /** Returns the collected bytes as one array (no copy when they are one part) and empties the collector. */
  take(): Uint8Array {
    this.#keepTail();
    const parts = this.#parts;
    let out: Uint8Array;
    if (parts.length === 1) out = parts[0] as Uint8Array;
    else {
      out = new Uint8Array(this.#length);
      let offset = 0;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
      }
    }
    this.clear();
    return out;
  }

  /** Drops what was collected. */
  clear(): void {
    // Only when something is held: `length = 0` is a call into the engine even on an empty
    // array, and every message ends with a clear.
    if (this.#parts.length !== 0) this.#parts.length = 0;
    this.#tail = undefined;
    this.#tailLength = 0;
    this.#length = 0;
    this.#kept = 0;
  }

  /** Moves the tail, trimmed to what it holds, to the kept parts. */
  #keepTail(): void {
    const tail = this.#tail;
    if (tail === undefined) return;
    const part = tail.subarray(0, this.#tailLength);
    this.#parts.push(part);
    this.#kept += tail.length;
    this.#tail = undefined;
    this.#tailLength = 0;
  }
}
