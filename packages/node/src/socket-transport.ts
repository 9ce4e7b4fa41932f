/**
 * The byte pump: a Node socket as a `@ws/session` {@link Transport}. No protocol rules here.
 *
 * Node docs relied on:
 * - `net.Socket` (`write`, `cork`/`uncork`, `writableLength`, `pause`/`resume`, `setNoDelay`,
 *   `setTimeout`, events `data`, `end`, `drain`, `error`, `close`):
 *   https://nodejs.org/api/net.html#class-netsocket
 * - Writable backpressure (`write()` returning false, then `'drain'`):
 *   https://nodejs.org/api/stream.html#writablewritechunk-encoding-callback
 * - Corking: https://nodejs.org/api/stream.html#writablecork
 * - Paused and flowing modes: https://nodejs.org/api/stream.html#two-reading-modes
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { setImmediate } from "node:timers";
import type { HttpRequestHead } from "@ws/codec/handshake";
import {
  type AcceptConnection,
  type AfterIo,
  afterImmediate,
  ChunkQueue,
  type HandshakeOutcome,
  Session,
  type SessionOptions,
  type Transport,
} from "@ws/session";
import { incomingMessage } from "./incoming-message.ts";

/**
 * The fair turns' tick (`Transport.afterIo`): immediates run in the event loop's check phase,
 * after its poll for I/O, and one queued while immediates run waits for the next iteration's poll
 * (Node's "event loop" guide); it costs far less than a `setTimeout(0)`, which Node clamps to a
 * millisecond.
 * https://nodejs.org/api/timers.html#setimmediatecallback-args
 */
export const AFTER_IO: AfterIo = afterImmediate(setImmediate);

/**
 * The transport over one socket. A class rather than an object of closures: its methods live
 * once on the prototype instead of seven closures per connection.
 */
class SocketTransport implements Transport {
  readonly #socket: Socket;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /**
   * The session hands over small frames already joined into one buffer (`WRITE_BATCH_LIMIT` in
   * `@ws/session`): several buffers come only with large payloads, written under one cork
   * (one `writev`).
   */
  write(chunks: Uint8Array[]): boolean {
    const socket = this.#socket;
    let ok: boolean;
    if (chunks.length === 1) ok = socket.write(chunks[0] as Uint8Array);
    else {
      socket.cork();
      ok = true;
      for (const chunk of chunks) ok = socket.write(chunk);
      socket.uncork();
    }
    // write() says false whenever the chunk takes the buffered length over the high-water
    // mark, even when libuv then wrote it all at once; only report backpressure for bytes
    // still waiting (the session then queues until 'drain').
    return ok || socket.writableLength < socket.writableHighWaterMark;
  }

  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  /**
   * A socket write that libuv completed inside the call (the usual case: the kernel's send
   * buffer had room) leaves `writableLength` at 0 and keeps no reference to the buffer; a
   * pending one holds it until written (and counts in `writableLength`). The session then
   * reuses one buffer for its joined writes instead of a new `ArrayBuffer` per write.
   */
  get writesThrough(): boolean {
    return true;
  }

  /** See {@link allocateUninitialized}. */
  get allocate(): (size: number) => Uint8Array {
    return allocateUninitialized;
  }

  get afterIo(): AfterIo {
    return AFTER_IO;
  }
}

/**
 * The array a received message larger than one read is gathered into: `Buffer.allocUnsafeSlow`
 * (its own `ArrayBuffer`, not from Node's shared pool, and not zero-filled: the codec writes
 * every byte before it delivers the message), as a plain `Uint8Array` so that messages are the
 * same type on every runtime. https://nodejs.org/api/buffer.html#static-method-bufferallocunsafeslowsize
 */
function allocateUninitialized(size: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
}

/** The session a socket was handed to (see {@link attachSocket}). */
const kSession = Symbol("session");

/** A socket carrying a session: its listeners below reach it through this property. */
interface SessionSocket extends Socket {
  [kSession]: Session;
}

/** A socket's error during the handshake, before anyone reads: `gone()` sees it destroyed. */
function ignoreError(): void {}

/** The handshake connection reading a socket: its listeners below reach it through this property. */
const kHandshake = Symbol("handshake");

interface HandshakeSocket extends Socket {
  [kHandshake]: HandshakeConnection | undefined;
}

// The handshake's socket listeners, shared by every socket (`this` is the socket) rather than
// closures per connection.
function onHandshakeData(this: HandshakeSocket, chunk: Buffer): void {
  this[kHandshake]?.onData(chunk);
}
function onHandshakeEnd(this: HandshakeSocket): void {
  this[kHandshake]?.onEnd();
}
function onHandshakeError(this: HandshakeSocket, error: Error): void {
  this[kHandshake]?.onError(error);
}

/**
 * A Node socket during the opening handshake, for `dial` (client) and the shared accept path
 * (server): reads one chunk at a time (the socket is paused between reads, so the bytes after
 * the handshake stay in order for the session). `detach()` gives the socket back (a proxy
 * tunnel before TLS).
 *
 * A class, and the read queue and its listeners made on the first `read()`: a server handed an
 * upgrade by `node:http` never reads (the head is parsed and the bytes after it come with the
 * request) unless it rejects, so an accepted connection pays for one error listener only.
 */
class HandshakeConnection implements AcceptConnection {
  readonly #socket: Socket;
  /** See {@link handshakeConnection}'s `screen`. */
  readonly #screen: ((request: IncomingMessage, socket: Socket) => boolean) | undefined;
  /** Made on the first `read()`, with the listeners below. */
  #queue: ChunkQueue | undefined;
  /** Whether a `read()` waits for a chunk. */
  #waiting = false;

  constructor(socket: Socket, screen?: (request: IncomingMessage, socket: Socket) => boolean) {
    this.#socket = socket;
    this.#screen = screen;
    // `node:http` removed its own error listener before `'upgrade'`; an error must not throw.
    socket.on("error", ignoreError);
  }

  get secure(): boolean {
    return (this.#socket as { encrypted?: boolean }).encrypted === true;
  }

  /** Read when asked for: `getpeername(2)` is a system call, and most servers never ask. */
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /**
   * The next chunk. The socket keeps flowing while a read waits (no pause and resume per
   * chunk: most heads come in one or a few chunks); a chunk that arrives with no read waiting
   * is queued and reading stops until the next read, so the bytes after the head stay in order
   * for whoever takes the socket next (`detach` puts them back).
   */
  read(): Promise<Uint8Array | null> {
    let queue = this.#queue;
    if (queue === undefined) {
      const socket = this.#socket;
      const made = new ChunkQueue((waiting) => {
        this.#waiting = waiting;
        if (waiting && socket.isPaused()) socket.resume();
      });
      queue = made;
      this.#queue = made;
      // A paused socket emits no 'end' before its bytes are read: nothing was missed, unless
      // it is already destroyed.
      if (socket.destroyed) made.end();
      (socket as HandshakeSocket)[kHandshake] = this;
      socket.on("data", onHandshakeData);
      socket.on("end", onHandshakeEnd);
      socket.on("close", onHandshakeEnd);
      socket.on("error", onHandshakeError);
    }
    return queue.read();
  }

  /** A chunk from the socket (see {@link HandshakeConnection.read}). */
  onData(chunk: Buffer): void {
    if (!this.#waiting) this.#socket.pause();
    (this.#queue as ChunkQueue).push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
  }

  /** The socket ended or closed. */
  onEnd(): void {
    this.#queue?.end();
  }

  /** The socket failed. */
  onError(error: Error): void {
    this.#queue?.error(error);
  }

  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /**
   * Writes the HTTP/1.1 response as text (UTF-8, as the shared path would encode it): Node
   * copies a string straight into the write request, where bytes would need a buffer of their
   * own first.
   */
  respond(outcome: HandshakeOutcome): void {
    this.#socket.write(outcome.response, "utf8");
  }

  /** The request of a head the shared path read (a server's own listener): see `incoming-message.ts`. */
  request(head: HttpRequestHead): IncomingMessage {
    return incomingMessage(this.#socket, head);
  }

  /**
   * Hands the socket over, as `node:http` hands an upgrade's socket, when the screen takes the
   * request: our listeners removed, reading resumed for whoever listens now.
   */
  claim(request: unknown): boolean {
    const screen = this.#screen;
    if (screen === undefined) return false;
    const socket = this.#socket;
    if (!screen(request as IncomingMessage, socket)) return false;
    this.detach();
    // Whatever the new owner does, an error must not throw (see the constructor).
    socket.on("error", ignoreError);
    socket.resume();
    return true;
  }

  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  gone(): boolean {
    return this.#socket.destroyed;
  }

  detach(): void {
    const socket = this.#socket;
    socket.off("error", ignoreError);
    const queue = this.#queue;
    if (queue === undefined) return;
    this.#queue = undefined;
    socket.off("data", onHandshakeData);
    socket.off("end", onHandshakeEnd);
    socket.off("close", onHandshakeEnd);
    socket.off("error", onHandshakeError);
    (socket as HandshakeSocket)[kHandshake] = undefined;
    // Chunks that came after the last read go back, in order, for the socket's next reader.
    const queued = queue.drain();
    if (queued.length > 0) {
      socket.pause();
      for (let i = queued.length - 1; i >= 0; i--) socket.unshift(queued[i] as Uint8Array);
    }
  }

  attach(rest: Uint8Array, options: SessionOptions): Session {
    this.detach();
    return attachSocket(this.#socket, rest, options);
  }
}

/**
 * See {@link HandshakeConnection}. `screen`, for a server's own listener: sees each upgrade
 * request for the server (as an `IncomingMessage`) before the checks run, and takes the socket
 * over by returning true.
 */
export function handshakeConnection(
  socket: Socket,
  screen?: (request: IncomingMessage, socket: Socket) => boolean,
): AcceptConnection & { detach(): void } {
  return new HandshakeConnection(socket, screen);
}

// The session's listeners, shared by every socket (`this` is the socket) rather than five
// closures per connection.
function onData(this: SessionSocket, chunk: Buffer): void {
  // Plain Uint8Array views (no copy), so messages are the same type on every runtime.
  this[kSession].onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
}
function onEnd(this: SessionSocket): void {
  this[kSession].onEnd();
}
function onDrain(this: SessionSocket): void {
  this[kSession].onDrain();
}
function onError(this: SessionSocket, error: Error): void {
  this[kSession].onError(error);
}

/**
 * Wraps `socket` (after the opening handshake) in a {@link Session}. `head` holds bytes that
 * arrived right after the handshake; they are decoded once the session is started.
 */
function attachSocket(socket: Socket, head: Uint8Array, options: SessionOptions): Session {
  // Frames are written whole (header and payload corked together); Nagle would only delay them.
  socket.setNoDelay(true);
  // The HTTP server's idle timeout no longer applies: the session has its own timers.
  socket.setTimeout(0);
  const session = new Session(new SocketTransport(socket), options);
  (socket as SessionSocket)[kSession] = session;
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("close", onEnd);
  socket.on("drain", onDrain);
  socket.on("error", onError);
  if (head.length > 0) session.onData(new Uint8Array(head.buffer, head.byteOffset, head.length));
  // The handshake code may have paused the socket to hand over the bytes in order.
  socket.resume();
  return session;
}
