/**
 * Messages sent as streams of pieces (`sendStream`, RFC 6455 §5.4 fragmentation: one frame per
 * piece). While a message is being streamed, whole messages sent meanwhile wait for it to end
 * (a data frame of another message may not go between its fragments), and streams wait for
 * each other. Made by the session on the first `sendStream()`.
 *
 * @module
 */
import type { OutboundEvent, SendOptions } from "@ws/codec";
import { EMPTY, payloadOf } from "./bytes.ts";
import type { MessageData, SendStreamOptions } from "./types.ts";

/** What streamed sends need from their session. */
export interface StreamLink {
  /** Encodes and writes a frame; throws the codec's `LocalProtocolError` when it may not be sent. */
  sendFrame(event: OutboundEvent): void;
  /** Whether data messages may still be sent (open, no close frame sent). */
  canSend(): boolean;
  /** Whether the send queue is blocked (wait for `drained()` before the next piece). */
  blocked(): boolean;
  /** Resolves when the send queue is no longer blocked. */
  drained(): Promise<void>;
}

/** A source of message pieces. */
export type PieceSource = AsyncIterable<MessageData> | Iterable<MessageData> | ReadableStream<MessageData>;

/** Whole messages sent while a stream was pending; each waits for `after` streams to end. */
type Deferred = { readonly event: OutboundEvent; readonly size: number; readonly after: number };

/** The streams being sent, and the whole messages waiting for them. */
export class StreamedSends {
  readonly #link: StreamLink;
  #started = 0;
  #done = 0;
  #tail: Promise<void> | undefined;
  #deferred: Deferred[] | undefined;
  #deferredBytes = 0;

  constructor(link: StreamLink) {
    this.#link = link;
  }

  /** Whether a stream is being sent or waits to be: whole messages must wait for it. */
  get pending(): boolean {
    return this.#done < this.#started;
  }

  /** Payload bytes of the whole messages waiting (counted in `bufferedAmount`). */
  get deferredBytes(): number {
    return this.#deferredBytes;
  }

  /** Keeps a whole message (of `size` payload bytes) until the streams started so far ended. */
  defer(event: OutboundEvent, size: number): void {
    this.#deferred ??= [];
    this.#deferred.push({ event, size, after: this.#started });
    this.#deferredBytes += size;
  }

  /** Sends one message made of the pieces of `source`, after the streams before it. */
  send(source: PieceSource, options: SendStreamOptions): Promise<void> {
    this.#started++;
    const run = (this.#tail ?? Promise.resolve()).then(() => this.#send(source, options));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** The connection closed: the waiting messages are dropped. */
  clear(): void {
    this.#deferred = undefined;
    this.#deferredBytes = 0;
  }

  async #send(source: PieceSource, options: SendStreamOptions): Promise<void> {
    const { binary, ...sendOptions } = options;
    let kind: "text-piece" | "binary-piece" | undefined =
      binary === undefined ? undefined : binary ? "binary-piece" : "text-piece";
    try {
      let held: string | Uint8Array | undefined;
      for await (const chunk of iterate(source)) {
        const data = payloadOf(chunk);
        kind ??= typeof data === "string" ? "text-piece" : "binary-piece";
        if (held !== undefined) await this.#sendPiece(kind, held, false, sendOptions);
        held = data;
      }
      await this.#sendPiece(kind ?? "binary-piece", held ?? EMPTY, true, sendOptions);
    } finally {
      this.#done++;
      // The whole messages sent before the next stream started go now, in order.
      while (
        this.#deferred !== undefined &&
        this.#deferred.length > 0 &&
        (this.#deferred[0] as Deferred).after <= this.#done
      ) {
        const { event, size } = this.#deferred.shift() as Deferred;
        this.#deferredBytes -= size;
        if (this.#link.canSend()) this.#link.sendFrame(event);
      }
    }
  }

  async #sendPiece(
    type: "text-piece" | "binary-piece",
    data: string | Uint8Array,
    last: boolean,
    options: SendOptions,
  ): Promise<void> {
    // The codec throws LocalProtocolError when the connection is closing.
    this.#link.sendFrame({ type, data, last, options });
    if (this.#link.blocked()) await this.#link.drained();
  }
}

async function* iterate<T>(source: AsyncIterable<T> | Iterable<T> | ReadableStream<T>): AsyncGenerator<T> {
  if (typeof (source as ReadableStream<T>).getReader === "function" && !(Symbol.asyncIterator in source)) {
    const reader = (source as unknown as ReadableStream<T>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  yield* source as AsyncIterable<T> | Iterable<T>;
}
