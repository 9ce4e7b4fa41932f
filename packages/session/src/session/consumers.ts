/**
 * Pull consumers of received messages: async iteration (`messages()`, `pieces()`) and the
 * `{ readable, writable }` pair of `stream()`. One consumer reads at a time, through an
 * {@link Inbox} that counts the bytes it holds: while the consumer leaves more than
 * `receiveHighWaterMark` bytes unread, the session stops reading from the transport (receive
 * backpressure). Made by the session on the first consumer.
 *
 * @module
 */

import { CloseCode } from "@ws/codec";
import { Inbox } from "../inbox.ts";
import type { CloseInfo, MessageData, Received } from "./types.ts";

/** The current consumer's inbox, if any. */
export class Consumers {
  #inbox: Inbox<Received> | undefined;
  readonly #highWaterMark: number;
  readonly #onTake: () => void;

  /**
   * @param highWaterMark bytes the consumer may leave unread before reading pauses.
   * @param onTake called after the consumer took an item or stopped (reading may resume).
   */
  constructor(highWaterMark: number, onTake: () => void) {
    this.#highWaterMark = highWaterMark;
    this.#onTake = onTake;
  }

  /** Bytes held for the consumer. */
  get bytes(): number {
    return this.#inbox?.bytes ?? 0;
  }

  /** Whether the consumer is behind: it holds at least the high-water mark. */
  get full(): boolean {
    const inbox = this.#inbox;
    return inbox !== undefined && inbox.bytes >= this.#highWaterMark;
  }

  /**
   * Hands a message (or piece) of `size` bytes to the consumer, if there is one. True when the
   * consumer is now behind: the session pauses reading.
   */
  deliver(item: Received, size: number): boolean {
    const inbox = this.#inbox;
    if (inbox === undefined) return false;
    inbox.push(item, size);
    return inbox.bytes >= this.#highWaterMark;
  }

  /** No more messages will come: the consumer reads what is held, then ends. */
  end(): void {
    this.#inbox?.end();
  }

  /**
   * A new consumer (throws while another one reads). `closed`: the connection is closed
   * already, so the consumer ends at once. Returning from the iterator stops the consumer.
   */
  iterate(closed: boolean): AsyncIterableIterator<Received> {
    if (this.#inbox !== undefined)
      throw new TypeError("Cannot read messages: another consumer is reading them");
    const inbox = new Inbox<Received>(this.#onTake);
    this.#inbox = inbox;
    if (closed) inbox.end();
    const stop = (): Promise<IteratorResult<Received>> => {
      if (this.#inbox === inbox) this.#inbox = undefined;
      inbox.clear();
      this.#onTake();
      return Promise.resolve({ done: true, value: undefined });
    };
    const iterator: AsyncIterableIterator<Received> = {
      next: () => inbox.next(),
      return: stop,
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/** The session's side of a `writable`: what `stream()` needs to send and close. */
export interface MessageWriter {
  send(data: MessageData): boolean;
  drained(): Promise<void>;
  close(code?: number): void;
  readonly closed: Promise<CloseInfo>;
}

/**
 * A WebSocketStream-like pair over a consumer's `iterator` and a `writer`: `readable` yields
 * what the iterator does, one read at a time (high-water mark 0, so the inbox alone decides
 * receive backpressure); `writable` sends each chunk as a message and waits for the send
 * queue to drain. Closing the writable starts the close handshake.
 */
export function streamPair(
  iterator: AsyncIterableIterator<Received>,
  writer: MessageWriter,
): { readable: ReadableStream<Received>; writable: WritableStream<MessageData> } {
  const readable = new ReadableStream<Received>(
    {
      pull: async (controller) => {
        const result = await iterator.next();
        if (result.done) controller.close();
        else controller.enqueue(result.value);
      },
      cancel: async () => {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream<MessageData>({
    write: async (chunk) => {
      if (!writer.send(chunk)) await writer.drained();
    },
    close: async () => {
      writer.close(CloseCode.NormalClosure);
      await writer.closed;
    },
    abort: () => {
      writer.close(CloseCode.NormalClosure);
    },
  });
  return { readable, writable };
}
