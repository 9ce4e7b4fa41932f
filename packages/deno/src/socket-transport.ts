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

/** Size of the read buffers; a buffer is refilled (its unused tail) until less than MIN_READ is left. */
const READ_SIZE = 64 * 1024;
const MIN_READ = 8 * 1024;
/** `write()` reports false while more than this many bytes wait to be written. */
const HIGH_WATER_MARK = 64 * 1024;

/** Reads the next chunk into fresh memory (never handed out twice), or `null` at EOF. */
export function chunkReader(conn: Deno.Conn): () => Promise<Uint8Array | null> {
  let buffer = new Uint8Array(READ_SIZE);
  return async () => {
    if (buffer.length < MIN_READ) buffer = new Uint8Array(READ_SIZE);
    const n = await conn.read(buffer);
    if (n === null) return null;
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
        const chunk = queue[0] as Uint8Array;
        await writeAll(conn, chunk);
        queue.shift();
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
