/**
 * The text of a fragmented message held until it is whole (RFC 6455 §5.4, §5.6), as the
 * strings its pieces decoded to (each piece is validated and decoded as it arrives, so invalid
 * UTF-8 fails fast, §8.1).
 *
 * Appending one string per piece would keep one rope node per piece (a message in 100,000
 * one-byte fragments: 100,000 nodes, many times its bytes). So the strings of small pieces are
 * gathered in a list and joined into one flat string every {@link JOIN_EVERY} of them; a piece
 * of at least {@link COALESCE_BELOW} bytes is appended as it is. The text is then held in few
 * parts, each of many characters, whatever the fragmentation.
 *
 * @module
 */
import { COALESCE_BELOW, PART_OVERHEAD } from "./collector.ts";

/** The strings of small pieces are joined into one every this many. */
export const JOIN_EVERY = 1024;
/** What a list slot for a small piece's string costs, at most (a pointer and the string's header). */
const SLOT_OVERHEAD = 32;

/** Collects the decoded text of one message in as few parts as the piece sizes allow. */
export class TextCollector {
  #text = "";
  #parts = 0;
  readonly #small: string[] = [];
  /** UTF-16 code units held, in `#text` and `#small`. */
  #units = 0;

  /**
   * Memory held, charged at its worst: two bytes per UTF-16 code unit (a string that is not
   * all Latin-1), {@link PART_OVERHEAD} per joined part and a slot per small piece not joined yet.
   */
  get footprint(): number {
    return 2 * this.#units + this.#parts * PART_OVERHEAD + this.#small.length * SLOT_OVERHEAD;
  }

  /** Adds the text that a piece of `bytes` bytes decoded to. */
  push(text: string, bytes: number): void {
    if (text.length === 0) return;
    this.#units += text.length;
    if (bytes >= COALESCE_BELOW) {
      this.#join();
      this.#append(text);
      return;
    }
    const small = this.#small;
    small.push(text);
    if (small.length >= JOIN_EVERY) this.#join();
  }

  /** Returns the text and empties the collector. */
  take(): string {
    this.#join();
    const text = this.#text;
    this.clear();
    return text;
  }

  /** Drops what was collected. */
  clear(): void {
    this.#text = "";
    this.#parts = 0;
    // Only when something is held: see ByteCollector.clear.
    if (this.#small.length !== 0) this.#small.length = 0;
    this.#units = 0;
  }

  /** Joins the small pieces' strings into one flat string (a join builds a new flat string). */
  #join(): void {
    const small = this.#small;
    if (small.length === 0) return;
    this.#append(small.length === 1 ? (small[0] as string) : small.join(""));
    small.length = 0;
  }

  #append(text: string): void {
    this.#text = this.#text === "" ? text : this.#text + text;
    this.#parts++;
  }
}
