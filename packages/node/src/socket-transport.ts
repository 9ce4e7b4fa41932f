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
import { Session, type SessionOptions, type Transport } from "@ws/session";

/**
 * Wraps `socket` (after the opening handshake) in a {@link Session}. `head` holds bytes that
 * arrived right after the handshake; they are decoded once the session is started.
 */
export function attachSocket(socket: Socket, head: Uint8Array, options: SessionOptions): Session {
  // Frames are written whole (header and payload corked together); Nagle would only delay them.
  socket.setNoDelay(true);
  // The HTTP server's idle timeout no longer applies: the session has its own timers.
  socket.setTimeout(0);
  const transport: Transport = {
    write(chunks) {
      if (chunks.length === 1) return socket.write(chunks[0] as Uint8Array);
      socket.cork();
      let ok = true;
      for (const chunk of chunks) ok = socket.write(chunk);
      socket.uncork();
      return ok;
    },
    end: () => {
      socket.end();
    },
    destroy: () => {
      socket.destroy();
    },
    pause: () => {
      socket.pause();
    },
    resume: () => {
      socket.resume();
    },
    get bufferedAmount() {
      return socket.writableLength;
    },
  };
  const session = new Session(transport, options);
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
