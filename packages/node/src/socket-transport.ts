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
import type { Socket } from "node:net";
import { type AcceptConnection, ChunkQueue, Session, type SessionOptions, type Transport } from "@ws/session";

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
}

/**
 * A Node socket during the opening handshake, for `dial` (client) and the shared accept path
 * (server): reads one chunk at a time (the socket is paused between reads, so the bytes after
 * the handshake stay in order for the session). `detach()` gives the socket back (a proxy
 * tunnel before TLS).
 */
export function handshakeConnection(socket: Socket): AcceptConnection & { detach(): void } {
  const queue = new ChunkQueue((waiting) => (waiting ? socket.resume() : socket.pause()));
  const onData = (chunk: Buffer): void => {
    socket.pause();
    queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
  };
  const onEnd = (): void => queue.end();
  const onError = (error: Error): void => queue.error(error);
  socket.pause();
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("close", onEnd);
  socket.on("error", onError);
  const detach = (): void => {
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("close", onEnd);
    socket.off("error", onError);
  };
  return {
    detach,
    secure: (socket as { encrypted?: boolean }).encrypted === true,
    remoteAddress: socket.remoteAddress,
    write: (bytes) => {
      socket.write(bytes);
    },
    read: () => queue.read(),
    end: () => {
      socket.end();
    },
    destroy: () => {
      socket.destroy();
    },
    gone: () => socket.destroyed,
    attach: (rest, options) => {
      detach();
      return attachSocket(socket, rest, options);
    },
  };
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
  // Plain Uint8Array views (no copy), so messages are the same type on every runtime.
  socket.on("data", (chunk: Buffer) =>
    session.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
  );
  socket.on("end", () => session.onEnd());
  socket.on("close", () => session.onEnd());
  socket.on("drain", () => session.onDrain());
  socket.on("error", (error) => session.onError(error));
  if (head.length > 0) session.onData(new Uint8Array(head.buffer, head.byteOffset, head.length));
  // The handshake code may have paused the socket to hand over the bytes in order.
  socket.resume();
  return session;
}
