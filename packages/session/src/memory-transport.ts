/**
 * An in-memory {@link Transport} pair, for tests and for wiring two sessions in one process:
 * what one side writes arrives at the other side's session in a later microtask, as from a
 * network. It honours `pause()`/`resume()` (bytes wait while paused) and reports a write
 * buffer over a high-water mark so send backpressure can be exercised.
 *
 * @module
 */
import type { Transport } from "./transport.ts";

/** The receiving side of one direction of a {@link MemoryTransport}. */
export interface MemoryPeer {
  onData(chunk: Uint8Array): void;
  onEnd(): void;
  onDrain(): void;
  onError(error: unknown): void;
}

/** One end of an in-memory duplex. */
export class MemoryTransport implements Transport {
  /** The session (or any receiver) this end delivers to. Set after construction. */
  receiver: MemoryPeer | undefined;
  /** The other end. */
  other!: MemoryTransport;
  /** Bytes this end wrote that the other side has not yet taken. */
  #inFlight: Uint8Array[] = [];
  #inFlightBytes = 0;
  #paused = false;
  #ended = false;
  #destroyed = false;
  #endReceived = false;
  #flushScheduled = false;
  /** Above this many bytes in flight, `write()` returns false. */
  highWaterMark: number;
  /** Total bytes written by this end. */
  written = 0;
  /** Whether `end()` / `destroy()` were called on this end. */
  get ended(): boolean {
    return this.#ended;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }
  /** Whether this end's receiver paused reading (`pause()`): what the other end wrote waits. */
  get paused(): boolean {
    return this.#paused;
  }

  constructor(highWaterMark: number = 64 * 1024) {
    this.highWaterMark = highWaterMark;
  }

  get bufferedAmount(): number {
    return this.other.#inFlightBytes;
  }

  write(chunks: Uint8Array[]): boolean {
    if (this.#ended || this.#destroyed) return false;
    const other = this.other;
    for (const chunk of chunks) {
      // A copy, as a network would make: the receiver owns (and unmasks) its bytes.
      other.#inFlight.push(chunk.slice());
      other.#inFlightBytes += chunk.length;
      this.written += chunk.length;
    }
    other.#scheduleFlush();
    return other.#inFlightBytes < this.highWaterMark;
  }

  end(): void {
    if (this.#ended || this.#destroyed) return;
    this.#ended = true;
    this.other.#endReceived = true;
    this.other.#scheduleFlush();
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#inFlight = [];
    this.other.#inFlight = [];
    this.other.#inFlightBytes = 0;
    this.other.#endReceived = true;
    this.other.#scheduleFlush();
    // Like a socket: our own side learns it is closed too.
    queueMicrotask(() => this.receiver?.onEnd());
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#scheduleFlush();
  }

  /** Delivers what was written to us (this end's receiver reads `#inFlight`). */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const receiver = this.receiver;
    if (receiver === undefined || this.#destroyed) return;
    const writer = this.other;
    const wasFull = this.#inFlightBytes >= writer.highWaterMark;
    while (!this.#paused && this.#inFlight.length > 0) {
      const chunk = this.#inFlight.shift() as Uint8Array;
      this.#inFlightBytes -= chunk.length;
      receiver.onData(chunk);
    }
    if (wasFull && this.#inFlightBytes < writer.highWaterMark) writer.receiver?.onDrain();
    if (!this.#paused && this.#inFlight.length === 0 && this.#endReceived) {
      this.#endReceived = false;
      receiver.onEnd();
    }
  }
}

/** Creates two connected in-memory transports. */
export function memoryTransportPair(highWaterMark?: number): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(highWaterMark);
  const b = new MemoryTransport(highWaterMark);
  a.other = b;
  b.other = a;
  return [a, b];
}
