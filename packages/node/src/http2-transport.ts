/**
 * The byte pump over one HTTP/2 stream (RFC 8441 §5: after the Extended CONNECT, the stream's
 * DATA frames carry the WebSocket bytes unchanged), as a `@ws/session` {@link Transport}. No
 * protocol rules here.
 *
 * How the transport's operations map onto the stream (RFC 8441 §6):
 * - `end()` sends END_STREAM, the orderly close that stands for TCP's FIN;
 * - `destroy()` sends RST_STREAM with CANCEL, the abrupt close that stands for TCP's RST;
 * - `pause()` stops reading: Node then withholds the stream's WINDOW_UPDATE frames, so HTTP/2
 *   flow control (RFC 9113 §5.2) stops the peer on this stream only, and nothing is buffered
 *   beyond the stream's window;
 * - `write()` reports backpressure while bytes wait for the peer's window or the socket.
 *
 * Node docs relied on:
 * - `Http2Stream` (a `Duplex`: `write`, `end`, `pause`/`resume`, `writableLength`, events
 *   `data`, `end`, `drain`, `close`, `error`): https://nodejs.org/api/http2.html#class-http2stream
 * - `http2stream.close(code)`: https://nodejs.org/api/http2.html#http2streamclosecode-callback
 * - `http2.constants.NGHTTP2_CANCEL`: https://nodejs.org/api/http2.html#error-codes-for-rst_stream-and-goaway
 *
 * @module
 */
import { constants, type Http2Stream } from "node:http2";
import { type AfterIo, Session, type SessionOptions, type Transport } from "@ws/session";
import { AFTER_IO } from "./socket-transport.ts";

/** The transport over one HTTP/2 stream (a class: its methods live once on the prototype). */
class Http2StreamTransport implements Transport {
  readonly #stream: Http2Stream;

  constructor(stream: Http2Stream) {
    this.#stream = stream;
  }

  /**
   * The session hands over small frames already joined into one buffer (`WRITE_BATCH_LIMIT` in
   * `@ws/session`): several buffers come only with large payloads, written under one cork.
   */
  write(chunks: Uint8Array[]): boolean {
    const stream = this.#stream;
    if (stream.destroyed || stream.writableEnded) return true;
    let ok = true;
    if (chunks.length === 1) ok = stream.write(chunks[0] as Uint8Array);
    else {
      stream.cork();
      for (const chunk of chunks) ok = stream.write(chunk);
      stream.uncork();
    }
    // As on a socket: backpressure only for bytes still waiting (for the peer's flow-control
    // window or the connection).
    return ok || stream.writableLength < stream.writableHighWaterMark;
  }

  end(): void {
    // END_STREAM after the bytes written (RFC 8441 §6: the orderly close, TCP's FIN).
    if (!this.#stream.writableEnded) this.#stream.end();
  }

  destroy(): void {
    // RST_STREAM with CANCEL (RFC 8441 §6: the abrupt close, TCP's RST).
    const stream = this.#stream;
    if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    else if (!stream.destroyed) stream.destroy();
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  get bufferedAmount(): number {
    return this.#stream.writableLength;
  }

  /** The fair turns' tick: as on a socket (see `AFTER_IO`). */
  get afterIo(): AfterIo {
    return AFTER_IO;
  }
}

/**
 * Wraps an HTTP/2 stream, after the Extended CONNECT's 2xx response, in a {@link Session}.
 * The session is not started.
 */
export function attachStream(stream: Http2Stream, options: SessionOptions): Session {
  const session = new Session(new Http2StreamTransport(stream), options);
  // Plain Uint8Array views (no copy), so messages are the same type on every runtime.
  stream.on("data", (chunk: Buffer) =>
    session.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
  );
  // The peer's END_STREAM (its FIN), or the stream closed (reset by either side).
  stream.on("end", () => session.onEnd());
  stream.on("close", () => session.onEnd());
  stream.on("drain", () => session.onDrain());
  stream.on("error", (error) => session.onError(error));
  return session;
}
