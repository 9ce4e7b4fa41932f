/**
 * The byte pump: a Bun TCP socket as a `@ws/session` {@link Transport}. No protocol rules here.
 *
 * Bun docs relied on:
 * - TCP socket handlers (`open`, `data`, `drain`, `end`, `close`, `error`) and per-socket
 *   `socket.data`: https://bun.com/docs/api/tcp
 * - The handlers' `binaryType` (`"uint8array"`: `data` receives plain `Uint8Array`s):
 *   https://bun.com/reference/bun/SocketHandler/binaryType
 * - Backpressure: `socket.write()` returns how many bytes it took; write the rest on `drain`:
 *   https://bun.com/docs/api/tcp#buffering
 * - `socket.pause()` / `socket.resume()` (stop / restart reading), `socket.end()`,
 *   `socket.shutdown()`, `socket.flush()`, `socket.terminate()`, `socket.setNoDelay()`:
 *   https://bun.com/reference/bun/Socket (what `end()` and `shutdown()` really do at the
 *   syscall level is in oven-sh/bun#35932: `end()` closes the descriptor, `shutdown()` is
 *   `SHUT_WR`, `shutdown(true)` is `SHUT_RD`)
 *
 * @module
 */

import type { Utf8RangeDecoder } from "@ws/codec";
import {
  type AcceptConnection,
  type AfterIo,
  afterImmediate,
  ChunkQueue,
  Session,
  type SessionOptions,
  type Transport,
} from "@ws/session";
import type { BunSocket, BunSocketHandler } from "./bun-api.ts";
import { decodeUtf8Range } from "./text-decoding.ts";

/**
 * Up to this size, copying a payload into a fresh array (and unmasking it on the way) costs
 * less on JavaScriptCore than making a view of it and unmasking that in place; beyond it the
 * copy's byte loop costs more.
 */
const COPY_PAYLOADS_UP_TO = 64;

/** Where a socket's bytes, and its end, go during the opening handshake (see {@link handshakeConnection}). */
interface HandshakeListener {
  bytes(chunk: Uint8Array): void;
  /** Called once, when the socket ends or closes before a session is attached. */
  ended(error?: Error): void;
}

/** Bytes Bun did not take yet, written on `drain` in order, and an `end()` waiting for them. */
interface Unsent {
  readonly chunks: Uint8Array[];
  bytes: number;
  endPending: boolean;
}

/**
 * The fair turns' tick (`Transport.afterIo`): Bun's `setImmediate` (Node's API) polls for I/O
 * between an immediate and the ones it queues, and costs far less than a `setTimeout(0)`.
 * Bun implements Node's: https://nodejs.org/api/timers.html#setimmediatecallback-args
 */
const AFTER_IO: AfterIo = afterImmediate(setImmediate);

/**
 * Per-socket state (`socket.data`): the write queue and where received bytes go — to the
 * handshake's listener during the opening handshake, then to the session. Its fields are few
 * (what only some sockets need is in objects made then): this object is one per connection.
 */
export class SocketTransport implements Transport {
  readonly socket: BunSocket<SocketTransport>;
  /** Receives bytes until a session is attached (the opening handshake). */
  #handshake: HandshakeListener | undefined;
  #session: Session | undefined;
  /**
   * Bytes Bun did not take yet; undefined when there are none, so that a socket that keeps up
   * (most, and every idle one) holds none.
   */
  #unsent: Unsent | undefined;
  /** `end()` was called: our FIN is sent or waits for the pending bytes. */
  #shut = false;
  #closed = false;
  #ended = false;
  /**
   * Reading is paused. Bun's `pause()` is called only when reading must stop: a socket Bun has
   * paused once keeps more native memory for as long as it is open, which every idle
   * connection would pay.
   */
  #paused = false;

  constructor(socket: BunSocket<SocketTransport>) {
    this.socket = socket;
  }

  /**
   * Short payloads are received into fresh arrays, and short frames are encoded into fresh
   * arrays: on JavaScriptCore a small `Uint8Array` costs less than a view (`subarray`) of Bun's
   * read buffer or of the codec's outbound slab.
   */
  get copyPayloadsUpTo(): number {
    return COPY_PAYLOADS_UP_TO;
  }

  /** Text messages in one frame are decoded from the chunk without a view (see `text-decoding.ts`). */
  get decodeText(): Utf8RangeDecoder {
    return decodeUtf8Range;
  }

  /**
   * Bun's `socket.write()` copies what it takes (into the kernel, or its cork buffer); what it
   * does not take waits here as a view, and `write()` then returns false: the session reuses a
   * buffer it wrote only after a write that returned true (no copy of large payloads).
   */
  get copiesWrites(): boolean {
    return true;
  }

  get afterIo(): AfterIo {
    return AFTER_IO;
  }

  /** Bytes accepted by `write()` that Bun has not taken yet. */
  get bufferedAmount(): number {
    return this.#unsent?.bytes ?? 0;
  }

  /**
   * Writes in order; false while bytes wait for `drain` (the session then queues frames
   * itself). Each `socket.write()` outside Bun's corking is a syscall: the session hands over
   * small frames already joined into one buffer (`WRITE_BATCH_LIMIT` in `@ws/session`), so
   * several buffers come only with large payloads.
   */
  write(chunks: Uint8Array[]): boolean {
    if (this.#closed) return true;
    for (const chunk of chunks) this.#writeChunk(chunk);
    return this.#unsent === undefined;
  }

  #writeChunk(chunk: Uint8Array): void {
    const unsent = this.#unsent;
    if (unsent !== undefined) {
      // Behind bytes still pending: waits too (see `copiesWrites`).
      unsent.chunks.push(chunk);
      unsent.bytes += chunk.length;
      return;
    }
    const written = this.socket.write(chunk);
    if (written < chunk.length) {
      // What Bun did not take waits for `drain` (see `copiesWrites`).
      const rest = chunk.subarray(Math.max(written, 0));
      this.#unsent = { chunks: [rest], bytes: rest.length, endPending: false };
    }
  }

  /** Half-closes once the pending bytes are written. */
  end(): void {
    if (this.#shut) return;
    this.#shut = true;
    if (this.#unsent !== undefined) this.#unsent.endPending = true;
    else this.#halfClose();
  }

  /**
   * Sends our FIN after everything written. Bun's `socket.end()` is not a half-close: it
   * flushes and then `close(2)`s the descriptor, and closing with received bytes unread (or
   * still arriving: a peer that goes on sending after a protocol error, or its close frame)
   * makes the kernel answer with a TCP RST, which makes the peer's kernel drop what it has not
   * read yet: our close frame and the tail of an echo. `socket.shutdown()` (no argument) is
   * `shutdown(fd, SHUT_WR)`: the FIN goes out after the queued bytes and reading goes on, and
   * Bun closes the socket when the peer's FIN arrives (the `close` handler; the session's
   * close timer terminates a peer that never sends one; after a rejected handshake, the shared
   * accept path's linger does). Once the peer has ended, nothing is left to read, so `end()`
   * (flush and close) is right.
   */
  #halfClose(): void {
    const socket = this.socket;
    if (this.#ended || socket.shutdown === undefined) {
      socket.end();
      return;
    }
    // Bun corks writes made in a callback; send them before the FIN.
    socket.flush?.();
    socket.shutdown();
  }

  destroy(): void {
    this.#closed = true;
    this.#unsent = undefined;
    this.socket.terminate();
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  /** Sends the socket's bytes and its end to `listener` until a session is attached. */
  listen(listener: HandshakeListener): void {
    this.#handshake = listener;
  }

  /** Hands the socket to a new session; `early` are bytes received after the handshake head. */
  attach(early: readonly Uint8Array[], options: SessionOptions): Session {
    this.#handshake = undefined;
    this.socket.setNoDelay?.(true);
    const session = new Session(this, options);
    this.#session = session;
    for (const chunk of early) if (chunk.length > 0) session.onData(chunk);
    if (this.#ended || this.#closed) session.onEnd();
    return session;
  }

  data(chunk: Uint8Array): void {
    if (this.#session !== undefined) this.#session.onData(chunk);
    else this.#handshake?.bytes(chunk);
  }

  drain(): void {
    // Read afresh on each turn: `destroy()` drops what waits.
    while (this.#unsent !== undefined && this.#unsent.chunks.length > 0) {
      const unsent = this.#unsent;
      const chunk = unsent.chunks[0] as Uint8Array;
      const written = this.socket.write(chunk);
      if (written < 0) return;
      unsent.bytes -= Math.max(written, 0);
      if (written < chunk.length) {
        unsent.chunks[0] = chunk.subarray(written);
        return;
      }
      unsent.chunks.shift();
    }
    const endPending = this.#unsent?.endPending === true;
    this.#unsent = undefined;
    if (endPending) this.#halfClose();
    this.#session?.onDrain();
  }

  gone(error?: Error): void {
    this.#ended = true;
    const session = this.#session;
    if (session === undefined) {
      const handshake = this.#handshake;
      this.#handshake = undefined;
      handshake?.ended(error);
    } else if (error !== undefined) session.onError(error);
    else session.onEnd();
  }
}

/**
 * Socket handlers that route Bun's events to each socket's {@link SocketTransport}, created
 * (and passed to `open`) on the first event: with TLS, Bun may resolve `connect()` before
 * `open` runs.
 */
export function socketHandlers(
  open: (transport: SocketTransport) => void,
): BunSocketHandler<SocketTransport> & {
  transportOf(socket: BunSocket<SocketTransport>): SocketTransport;
} {
  const transportOf = (socket: BunSocket<SocketTransport>): SocketTransport => {
    if (socket.data instanceof SocketTransport) return socket.data;
    socket.data = new SocketTransport(socket);
    open(socket.data);
    return socket.data;
  };
  return {
    transportOf,
    // Chunks as plain Uint8Arrays (each a fresh buffer, which the codec may unmask in place),
    // so messages are the same type on every runtime. Asked of Bun rather than made from its
    // Buffers: a view needs the chunk's `buffer`, which JavaScriptCore materialises per chunk.
    binaryType: "uint8array",
    open: (socket) => void transportOf(socket),
    data: (socket, chunk) => transportOf(socket).data(chunk),
    drain: (socket) => transportOf(socket).drain(),
    end: (socket) => transportOf(socket).gone(),
    close: (socket, error) => transportOf(socket).gone(error ?? undefined),
    error: (socket, error) => transportOf(socket).gone(error),
  };
}

/**
 * The socket during the opening handshake, for `dial` (client) and `ServerCore.accept`
 * (server): received bytes wait in a queue until the session is attached, so the bytes after
 * the head stay in order for it; Bun stops reading while more than one chunk waits unread.
 */
export function handshakeConnection(transport: SocketTransport, secure: boolean): AcceptConnection {
  return new HandshakeConnection(transport, secure);
}

/**
 * See {@link handshakeConnection}. One object whose methods live on its prototype, both the
 * connection the shared accept path reads and the transport's handshake listener, rather
 * than objects of closures made for every handshake.
 */
class HandshakeConnection implements AcceptConnection, HandshakeListener {
  readonly secure: boolean;
  readonly #transport: SocketTransport;
  readonly #queue: ChunkQueue;
  #gone = false;

  constructor(transport: SocketTransport, secure: boolean) {
    this.secure = secure;
    this.#transport = transport;
    this.#queue = new ChunkQueue((waiting) => {
      if (waiting) transport.resume();
    });
    transport.listen(this);
  }

  // Listener side (the transport's handshake events).

  bytes(chunk: Uint8Array): void {
    const queue = this.#queue;
    queue.push(chunk);
    // Reading stops once a second chunk waits unread (the handshake is busy, in `verify`
    // say), not whenever nobody waits: the head usually comes in one chunk, and pausing every
    // socket costs memory for its whole life (see `SocketTransport`).
    if (queue.queued > 1) this.#transport.pause();
  }

  ended(error?: Error): void {
    this.#gone = true;
    if (error === undefined) this.#queue.end();
    else this.#queue.error(error);
  }

  // Connection side (the shared accept path and `dial`).

  /** Read when asked for (the `verify` hook): most servers never ask. */
  get remoteAddress(): string | undefined {
    return this.#transport.socket.remoteAddress;
  }

  read(): Promise<Uint8Array | null> {
    return this.#queue.read();
  }

  write(bytes: Uint8Array): void {
    this.#transport.write([bytes]);
  }

  end(): void {
    this.#transport.end();
  }

  destroy(): void {
    this.#gone = true;
    this.#transport.destroy();
  }

  gone(): boolean {
    return this.#gone;
  }

  attach(rest: Uint8Array, options: SessionOptions): Session {
    const transport = this.#transport;
    const session = transport.attach([rest, ...this.#queue.drain()], options);
    transport.resume();
    return session;
  }
}
