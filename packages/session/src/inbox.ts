/**
 * A pull queue between the session (which pushes what it decodes) and one consumer (an async
 * iterator or a `ReadableStream`), counting the bytes it holds so the session can stop reading
 * from the transport while the consumer is behind (receive backpressure).
 *
 * @module
 */

/** A FIFO of items with a byte count, read with `next()`. */
export class Inbox<T> {
  #items: T[] = [];
  #sizes: number[] = [];
  #bytes = 0;
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;
  readonly #onTake: () => void;

  /** @param onTake called after the consumer took an item (the session may resume reading). */
  constructor(onTake: () => void) {
    this.#onTake = onTake;
  }

  /** Bytes held, by the sizes given to `push`. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Hands `item` to a waiting consumer, or keeps it. */
  push(item: T, size: number): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ done: false, value: item });
      return;
    }
    this.#items.push(item);
    this.#sizes.push(size);
    this.#bytes += size;
  }

  /** No more items will come: the consumer gets what is held, then the end. */
  end(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ done: true, value: undefined });
  }

  /** Drops what is held and ends. */
  clear(): void {
    this.#items = [];
    this.#sizes = [];
    this.#bytes = 0;
    this.end();
  }

  /** The next item, waiting for one if needed. */
  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) {
      const value = this.#items.shift() as T;
      this.#bytes -= this.#sizes.shift() as number;
      this.#onTake();
      return Promise.resolve({ done: false, value });
    }
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    if (this.#waiter !== undefined) {
      return Promise.reject(new TypeError("Cannot read messages: a read is already pending"));
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
      this.#onTake();
    });
  }
}
