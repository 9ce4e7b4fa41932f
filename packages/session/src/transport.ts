/**
 * The byte duplex a runtime adapter hands to a {@link Session}, as a small object of closures
 * (hono's `WSContextInit` idea). The adapter implements it over its socket and, in the other
 * direction, calls the session's `onData`, `onEnd`, `onDrain` and `onError`.
 *
 * The transport carries no protocol rules: framing, masking, UTF-8 and close codes live in the
 * codec and the session.
 *
 * @module
 */
import type { Utf8RangeDecoder } from "@ws/codec";
import type { AfterIo } from "./session/after-io.ts";

/** What a runtime adapter provides to a {@link Session}. */
export interface Transport {
  /**
   * Writes the buffers in order, as one write when the runtime allows (cork / writev). The
   * session has already batched its frames and joined the small ones (`WRITE_BATCH_LIMIT`):
   * write the buffers as they are, without coalescing them again. The session does not reuse
   * the buffers, unless the transport says it is done with them once `write()` returns
   * ({@link Transport.copiesWrites}, {@link Transport.writesThrough}).
   * Returns `false` when the runtime's buffer is over its high-water mark: the session then
   * queues further frames itself until the adapter calls `onDrain()`.
   */
  write(chunks: Uint8Array[]): boolean;
  /**
   * Half-closes the transport after the bytes already written (TCP FIN). Called once the close
   * handshake is done; the server closes the TCP connection first (RFC 6455 §7.1.1).
   */
  end(): void;
  /** Closes the transport at once, dropping unsent bytes (TCP RST or close). */
  destroy(): void;
  /** Stops reading from the runtime (receive backpressure). */
  pause(): void;
  /** Starts reading again after `pause()`. */
  resume(): void;
  /**
   * Bytes accepted by `write()` that the runtime has not yet handed to the operating system
   * (Node's `socket.writableLength`), when the runtime can tell; else `undefined`.
   */
  readonly bufferedAmount?: number | undefined;
  /**
   * Received payloads (and frames sent) of at most this many bytes are put in fresh arrays
   * instead of views of the chunks the transport delivered (or of the codec's outbound slab):
   * the codec's `copyPayloadsUpTo`, for runtimes whose engine makes a small array for less than
   * a view (JavaScriptCore). Default 0.
   */
  readonly copyPayloadsUpTo?: number | undefined;
  /**
   * Makes the array a received message larger than one received chunk is gathered into (the
   * codec's `allocate`): `size` bytes that the codec overwrites whole before delivering them,
   * so a runtime's allocator that skips zero-filling may be used. Default: `new Uint8Array`.
   */
  readonly allocate?: ((size: number) => Uint8Array) | undefined;
  /**
   * Decodes a range of a received chunk as UTF-8 without a view of it (the codec's
   * `decodeText`): the string, or undefined when the bytes are not valid UTF-8. For runtimes
   * whose own decoder reads a range of an array, where a view costs more than the call
   * (JavaScriptCore). Default: a fatal `TextDecoder` over a view.
   */
  readonly decodeText?: Utf8RangeDecoder | undefined;
  /**
   * A `write()` that returns `true` keeps no reference to the buffers it was given: the runtime
   * copied or sent every byte (Bun's socket write copies what it takes). The session may then
   * join a write's frames into one buffer it reuses for the next write, instead of a new buffer
   * per write. A `write()` that returns `false` may keep views of them until it drains: the
   * session then leaves that buffer to the transport and joins the next write into a new one.
   * Default false.
   */
  readonly copiesWrites?: boolean | undefined;
  /**
   * A `write()` after which {@link Transport.bufferedAmount} is 0 keeps no reference to the
   * buffers it was given: the runtime handed every byte to the operating system inside the call
   * (Node: a socket write that completed at once leaves `writableLength` at 0, and only a write
   * still pending holds its buffer). The session may then join writes into the buffer it reuses,
   * as with {@link Transport.copiesWrites}, and leaves it to the transport after a write that
   * left bytes waiting. Default false.
   */
  readonly writesThrough?: boolean | undefined;
  /**
   * Calls back once, in a later task, after the runtime has polled for I/O: the tick of the
   * fair turns (`session/turns.ts`), at which sessions that ran out of their slice are served
   * again. The runtime's cheapest such tick (`session/after-io.ts`: `afterImmediate` on Node
   * and Bun). Default `afterTimer`, a `setTimeout(0)`.
   */
  readonly afterIo?: AfterIo | undefined;
}
