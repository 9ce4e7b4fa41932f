/**
 * The byte pump: a `Deno.Conn` (TCP or TLS) as a `@ws/session` {@link Transport}. No protocol
 * rules here.
 *
 * Deno docs relied on:
 * - `Deno.Conn` (`read`, `write`, `closeWrite`, `close`): https://docs.deno.com/api/deno/~/Deno.Conn
 * - `read(p)` resolves with the number of bytes read into `p`, or `null` at EOF; `write(p)`
 *   may write fewer bytes than given: https://docs.deno.com/api/deno/~/Deno.Reader and
 *   https://docs.deno.com/api/deno/~/Deno.Writer
 * - `Deno.TcpConn.setNoDelay`: https://docs.deno.com/api/deno/~/Deno.TcpConn
 *
 * @module
 */
import { Session, type SessionOptions, type Transport } from "@ws/session";

/**
 * Read buffers are sized per connection, between these bounds: a pending `read()` pins its
 * buffer for as long as the peer is silent, so an idle connection should hold a small one
 * (a fixed 64 KiB made an idle connection cost 80 KiB), while a busy one reads big chunks.
 * A read that fills its buffer doubles the size of the next one; a read that uses less than
 * 1/16 of the size halves it.
 */
const MIN_READ_SIZE = 1024;
const MAX_READ_SIZE = 64 * 1024;
/** `write()` reports false while more than this many bytes wait to be written. */
const HIGH_WATER_MARK = 64 * 1024;
/**
 * Queued frames up to this many bytes in all are joined into one `conn.write()`: each write is
 * an async op (a promise and a syscall), and the session queues one write per received chunk
 * plus whatever the application sends meanwhile.
 */
const COALESCE = 256 * 1024;

/** Reads the next chunk into fresh memory (never handed out twice), or `null` at EOF. */
export function chunkReader(conn: Deno.Conn): () => Promise<Uint8Array | null> {
  let size = MIN_READ_SIZE;
  let buffer = new Uint8Array(size);
  return async () => {
    // The unread tail of the last buffer is reused until it is small next to the current size.
    if (buffer.length < size >>> 2) buffer = new Uint8Array(size);
    const n = await conn.read(buffer);
    if (n === null) return null;
    if (n === buffer.length) {
      if (size < MAX_READ_SIZE) size *= 2;
    } else if (n < size >>> 4 && size > MIN_READ_SIZE) {
      size >>>= 1;
    }
    // The codec owns (and unmasks in place) what it is given: hand out the bytes read, and
    // read the next chunk into the untouched tail.
    const chunk = buffer.subarray(0, n);
    buffer = buffer.subarray(n);
    return chunk;
  };
}

/** Writes all of `bytes` (`conn.write` may take part of them). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) offset += await conn.write(bytes.subarray(offset));
}

/**
 * Wraps `conn` (after the opening handshake) in a {@link Session}. `early` holds bytes that
 * arrived after the handshake head; `read` continues the same stream.
 */
export function attachConn(
  conn: Deno.Conn,
  early: readonly Uint8Array[],
  options: SessionOptions,
  read: () => Promise<Uint8Array | null> = chunkReader(conn),
): Session {
  (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
  const queue: Uint8Array[] = [];
  let queued = 0;
  let writing: Promise<void> | undefined;
  let blocked = false;
  let ending = false;
  let closed = false;
  let paused = false;
  let wake: (() => void) | undefined;
  const close = (): void => {
    if (closed) return;
    closed = true;
    wake?.();
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  const flush = async (): Promise<void> => {
    try {
      while (queue.length > 0 && !closed) {
        let chunk = queue[0] as Uint8Array;
        let count = 1;
        if (queue.length > 1) {
          let size = chunk.length;
          while (count < queue.length && size + (queue[count] as Uint8Array).length <= COALESCE) {
            size += (queue[count] as Uint8Array).length;
            count++;
          }
          if (count > 1) chunk = concat(queue, count, size);
        }
        await writeAll(conn, chunk);
        queue.splice(0, count);
        queued -= chunk.length;
        if (blocked && queued <= HIGH_WATER_MARK) {
          blocked = false;
          session.onDrain();
        }
      }
      if (ending && !closed) await conn.closeWrite();
    } catch (error) {
      if (!closed) session.onError(error);
    } finally {
      writing = undefined;
    }
  };
  const transport: Transport = {
    write(chunks) {
      if (closed) return true;
      for (const chunk of chunks) {
        queue.push(chunk);
        queued += chunk.length;
      }
      writing ??= flush();
      blocked = queued > HIGH_WATER_MARK;
      return !blocked;
    },
    end() {
      ending = true;
      writing ??= flush();
    },
    destroy: close,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      wake?.();
    },
    get bufferedAmount() {
      return queued;
    },
  };
  const session = new Session(transport, options);
  for (const chunk of early) if (chunk.length > 0) session.onData(chunk);
  void (async () => {
    try {
      while (!closed) {
        while (paused && !closed) await new Promise<void>((resolve) => (wake = resolve));
        if (closed) break;
        const chunk = await read();
        if (chunk === null) break;
        session.onData(chunk);
      }
      session.onEnd();
    } catch (error) {
      if (!closed) session.onError(error);
    }
    // Both directions are done (or the peer vanished): release the resource.
    await session.closed;
    await writing;
    close();
  })();
  return session;
}

/** The first `count` chunks of `chunks` joined into one buffer of `size` bytes. */
function concat(chunks: readonly Uint8Array[], count: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const chunk = chunks[i] as Uint8Array;
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
