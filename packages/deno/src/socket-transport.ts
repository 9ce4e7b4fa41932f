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
import {
  type AcceptConnection,
  type AfterIo,
  Session,
  type SessionOptions,
  type Transport,
  WRITE_BATCH_LIMIT,
} from "@ws/session";
import { loopbackTick } from "./after-io.ts";

/**
 * Read buffers are sized per connection, between these bounds: a pending `read()` pins its
 * buffer for as long as the peer is silent, so an idle connection should hold a small one
 * (a fixed 64 KiB made an idle connection cost 80 KiB), while a busy one reads big chunks.
 * A read that fills the space it was given doubles the size of the next buffer;
 * {@link SHRINK_AFTER} reads in a row that each use less than 1/16 of the size halve it.
 */
const MIN_READ_SIZE = 1024;
const MAX_READ_SIZE = 64 * 1024;
/**
 * Bytes one connection reads back to back, in reads that each fill their buffer, before it
 * waits for the next tick of the event loop (`afterIo`) to read again. A read that fills its
 * buffer leaves the socket marked readable, so Deno completes the next `read()` at once, in the
 * same task, without polling its other sockets: peers with megabytes queued (behind a message
 * that inflates, while the session decodes nothing) were each read to the end, one after the
 * other, before a fresh client's accept got its turn. A
 * read that does not fill its buffer drained the socket, and the next one waits for Deno's poll
 * anyway (no wait is added then). Only while a server listens in the process: there a tick is
 * the loopback pair (`after-io.ts`), which costs microseconds; a client alone would wait for a
 * timer each time.
 */
const READ_BURST = 256 * 1024;
/**
 * Small reads in a row before the read buffer shrinks. One is not enough: a stream of large
 * frames brings a short read now and then (a frame's tail that arrived on its own), and a
 * buffer that shrank for it grew back at the next full read, a fresh allocation each way.
 */
const SHRINK_AFTER = 4;
/** `write()` reports false while more than this many bytes wait to be written. */
const HIGH_WATER_MARK = 64 * 1024;
/**
 * Buffers queued behind a `conn.write()` in flight, up to this many bytes in all, are joined
 * into the next one: each write is an async op (a promise and a syscall), and the application
 * may send many messages while one is in flight. This is Deno's stand-in for what Node's
 * stream does with the writes buffered behind a pending one (one `writev`), not a second
 * batching policy: the session decides what goes out together, with the same threshold.
 */
const COALESCE = WRITE_BATCH_LIMIT;

/**
 * The read buffer of one connection. A class rather than a closure: the transport reads with
 * `conn.read(reader.space())` itself, so an idle connection waits on one promise (Deno's own
 * `read()`) instead of a chain of async functions, each with its generator, registers and
 * await closures.
 *
 * Chunks are read one after another into one buffer, each into the part after the last. A
 * chunk is the session's (the codec keeps views of it and unmasks it in place) until the
 * session says it kept nothing of it ({@link release}): then its memory is read into again,
 * and once every chunk read into the buffer was given back, the whole buffer is.
 */
class ChunkReader {
  readonly #conn: Deno.Conn;
  #size = MIN_READ_SIZE;
  /** The buffer chunks are read into (`#size` bytes when it was made). */
  #buffer = new Uint8Array(MIN_READ_SIZE);
  /** Where in `#buffer` the next chunk goes. */
  #offset = 0;
  /** A chunk read into `#buffer` is still the session's: its memory must not be read into. */
  #lent = false;
  /** `#lent` before the last chunk was taken, and where that chunk began. */
  #lentBefore = false;
  #lastStart = 0;
  /** Small reads in a row (see {@link SHRINK_AFTER}). */
  #small = 0;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The memory the next `conn.read()` fills. */
  space(): Uint8Array {
    const buffer = this.#buffer;
    // A buffer of another size is replaced (a busy connection reads bigger chunks, an idle one
    // holds less); so is one with little room left, when chunks of it are still the session's.
    if (buffer.length !== this.#size || buffer.length - this.#offset < this.#size >>> 2) {
      this.#buffer = new Uint8Array(this.#size);
      this.#offset = 0;
      this.#lent = false;
      return this.#buffer;
    }
    return this.#offset === 0 ? buffer : buffer.subarray(this.#offset);
  }

  /**
   * The `n` bytes the last read put at the start of `space()`. They are the caller's (the
   * codec owns, and unmasks in place, what it is given) until {@link release} gives them back.
   */
  take(n: number): Uint8Array {
    const start = this.#offset;
    const size = this.#size;
    if (n === this.#buffer.length - start) {
      if (size < MAX_READ_SIZE) this.#size = size * 2;
      this.#small = 0;
    } else if (n < size >>> 4) {
      if (++this.#small >= SHRINK_AFTER && size > MIN_READ_SIZE) {
        this.#size = size >>> 1;
        this.#small = 0;
      }
    } else {
      this.#small = 0;
    }
    this.#lentBefore = this.#lent;
    this.#lent = true;
    this.#lastStart = start;
    this.#offset = start + n;
    return this.#buffer.subarray(start, start + n);
  }

  /**
   * Nothing references the chunk the last `take()` returned any more (the session said so): its
   * memory is read into again, and all of the buffer's if no other chunk of it is lent. A fresh
   * buffer per read cost a zero-filled allocation of up to {@link MAX_READ_SIZE} bytes, and
   * garbage the engine collects.
   */
  release(): void {
    this.#lent = this.#lentBefore;
    this.#offset = this.#lent ? this.#lastStart : 0;
  }

  /** Reads the next chunk, or `null` at EOF (the opening handshake reads with this). */
  async read(): Promise<Uint8Array | null> {
    const n = await this.#conn.read(this.space());
    return n === null ? null : this.take(n);
  }
}

/** Writes all of `bytes` (`conn.write` may take part of them). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) offset += await conn.write(bytes.subarray(offset));
}

/**
 * The transport over one conn. A class rather than an object of closures: its methods live
 * once on the prototype. Reading is a chain of `conn.read(...).then(onRead, onReadError)`
 * with two callbacks made once per connection, not an async loop: while the peer is silent,
 * the pending read holds one promise reaction.
 */
class SocketTransport implements Transport {
  readonly #conn: Deno.Conn;
  /** The read buffer (the handshake's, continued). */
  readonly #reader: ChunkReader;
  #session: Session | undefined;
  /** Frames not written yet, and their size. */
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing: Promise<void> | undefined;
  #blocked = false;
  #ending = false;
  #closed = false;
  #paused = false;
  /** A read is pending. */
  #reading = false;
  /** The size of the buffer the pending read fills. */
  #asked = 0;
  /** Bytes read back to back in full reads (see {@link READ_BURST}). */
  #burst = 0;
  /** The next read waits for the event loop's tick (see {@link READ_BURST}). */
  #waitingTick = false;
  /** No more reads: the peer ended, reading failed, or the conn was closed. */
  #readDone = false;

  constructor(conn: Deno.Conn, reader: ChunkReader) {
    this.#conn = conn;
    this.#reader = reader;
  }

  /** Starts reading into `session`. */
  start(session: Session): void {
    this.#session = session;
    this.#read();
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  /** The fair turns' tick: the loopback pair while a server listens (see `after-io.ts`). */
  get afterIo(): AfterIo {
    return loopbackTick.afterIo;
  }

  write(chunks: Uint8Array[]): boolean {
    if (this.#closed) return true;
    for (const chunk of chunks) {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
    }
    this.#writing ??= this.#flush();
    this.#blocked = this.#queued > HIGH_WATER_MARK;
    return !this.#blocked;
  }

  end(): void {
    this.#ending = true;
    this.#writing ??= this.#flush();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    // A paused transport has no read pending to end the reading side.
    this.#read();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#read();
  }

  async #flush(): Promise<void> {
    const queue = this.#queue;
    try {
      while (queue.length > 0 && !this.#closed) {
        let chunk = queue[0] as Uint8Array;
        let joined: Uint8Array | undefined;
        let count = 1;
        if (queue.length > 1 && chunk.length < COALESCE) {
          let size = chunk.length;
          while (count < queue.length && size + (queue[count] as Uint8Array).length <= COALESCE) {
            size += (queue[count] as Uint8Array).length;
            count++;
          }
          // Small chunks followed by a large one (a frame header and its payload): the large
          // one's head joins them, so that the header does not go out as a write of its own
          // (an async op, a syscall and, with Nagle off, a TCP segment the peer wakes up for).
          // Deno has no `writev`; this copies at most 2 × COALESCE bytes per write, into a
          // reused buffer (see `takeJoinBuffer`).
          let head = 0;
          if (count < queue.length) {
            const next = (queue[count] as Uint8Array).length;
            head = size + next <= 2 * COALESCE ? next : COALESCE - size;
          }
          if (count > 1 || head > 0) {
            joined = takeJoinBuffer();
            chunk = concatInto(joined, queue, count, size, head);
          }
          if (head > 0) {
            const next = queue[count] as Uint8Array;
            if (head === next.length) count++;
            else queue[count] = next.subarray(head);
          }
        }
        // writeAll() inlined: one async frame less per write on the echo path.
        for (let offset = 0; offset < chunk.length; ) {
          offset += await this.#conn.write(offset === 0 ? chunk : chunk.subarray(offset));
        }
        queue.splice(0, count);
        this.#queued -= chunk.length;
        // The write settled: Deno is done with the joined bytes.
        if (joined !== undefined) releaseJoinBuffer(joined);
        if (this.#blocked && this.#queued <= HIGH_WATER_MARK) {
          this.#blocked = false;
          this.#session?.onDrain();
        }
      }
      if (this.#ending && !this.#closed) await this.#conn.closeWrite();
    } catch (error) {
      if (!this.#closed) this.#session?.onError(error);
    } finally {
      this.#writing = undefined;
    }
  }

  /** Reads the next chunk, unless paused or a read is pending; once closed, ends reading. */
  #read(): void {
    if (this.#reading || this.#readDone || this.#session === undefined) return;
    if (this.#closed) {
      this.#endReading();
      return;
    }
    if (this.#paused || this.#waitingTick) return;
    this.#reading = true;
    const space = this.#reader.space();
    this.#asked = space.length;
    this.#conn.read(space).then(this.#onRead, this.#onReadError);
  }

  /** The event loop ticked after a burst of reads: read again. */
  readonly #afterTick = (): void => {
    this.#waitingTick = false;
    this.#read();
  };

  /** A read settled: the number of bytes read into the reader's space, or EOF. */
  readonly #onRead = (result: number | null): void => {
    this.#reading = false;
    if (result === null) {
      this.#endReading();
      return;
    }
    try {
      const session = this.#session as Session;
      session.onData(this.#reader.take(result));
      if (session.releaseInput()) this.#reader.release();
    } catch (error) {
      this.#onReadError(error);
      return;
    }
    this.#burst = result < this.#asked ? 0 : this.#burst + result;
    if (this.#burst >= READ_BURST && loopbackTick.cheap) {
      // More may be queued, and Deno would complete the next read in this same task.
      this.#burst = 0;
      this.#waitingTick = true;
      loopbackTick.afterIo(this.#afterTick);
      return;
    }
    this.#read();
  };

  readonly #onReadError = (error: unknown): void => {
    // A TLS peer that closes the TCP connection without a close_notify alert (as many servers
    // do once the WebSocket close handshake is done) makes Deno's read fail with
    // `UnexpectedEof`: that is the end of the stream all the same. Whether the connection
    // closed cleanly is the session's to say (close frames exchanged, RFC 6455 §7.1.4), and a
    // truncated frame still fails it (1006); Node's and Bun's TLS sockets, and Deno's own
    // WebSocket, end the stream the same way.
    if (error instanceof Deno.errors.UnexpectedEof) {
      this.#reading = false;
      this.#endReading();
      return;
    }
    this.#reading = false;
    this.#readDone = true;
    if (!this.#closed) (this.#session as Session).onError(error);
    void this.#release();
  };

  /** The peer ended (or the conn was closed): no more bytes will come. */
  #endReading(): void {
    this.#readDone = true;
    try {
      (this.#session as Session).onEnd();
    } catch (error) {
      if (!this.#closed) (this.#session as Session).onError(error);
    }
    void this.#release();
  }

  /** Both directions are done (or the peer vanished): release the resource. */
  async #release(): Promise<void> {
    await (this.#session as Session).closed;
    await this.#writing;
    this.destroy();
  }
}

/**
 * `conn` during the opening handshake, for `dial` (client) and `ServerCore.accept` (server):
 * reads with one {@link ChunkReader}, which the session then goes on reading with.
 */
export function handshakeConnection(conn: Deno.Conn, secure: boolean): AcceptConnection {
  const reader = new ChunkReader(conn);
  let closed = false;
  return {
    secure,
    // Read when asked for (the `verify` hook): most servers never ask.
    get remoteAddress(): string | undefined {
      return (conn.remoteAddr as Deno.NetAddr).hostname;
    },
    read: () => reader.read(),
    write: (bytes) => writeAll(conn, bytes),
    end: () => {
      conn.closeWrite().catch(() => {});
    },
    destroy: () => {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
    gone: () => closed,
    attach: (rest, options) => attachConn(conn, [rest], options, reader),
  };
}

/**
 * Wraps `conn` (after the opening handshake) in a {@link Session}. `early` holds bytes that
 * arrived after the handshake head; `read` continues the same stream.
 */
function attachConn(
  conn: Deno.Conn,
  early: readonly Uint8Array[],
  options: SessionOptions,
  read: ChunkReader,
): Session {
  (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
  const transport = new SocketTransport(conn, read);
  const session = new Session(transport, options);
  for (const chunk of early) if (chunk.length > 0) session.onData(chunk);
  transport.start(session);
  return session;
}

/**
 * Spare buffers for the joined writes of `#flush`, shared by every connection. A joined write
 * is mostly a large payload's head behind its frame header, up to 2 × `COALESCE` bytes: a new
 * buffer per write cost a zero-filled allocation of that size on top of the copy. A buffer is
 * taken for one write and given back once `conn.write()` has settled (Deno no longer reads it
 * then), so one per write in flight is made, and at most {@link MAX_SPARE_JOIN_BUFFERS} are
 * kept while nothing is written (an idle server holds no more than that).
 */
const spareJoinBuffers: Uint8Array[] = [];
const MAX_SPARE_JOIN_BUFFERS = 4;

/** A buffer of 2 × `COALESCE` bytes for one joined write. */
function takeJoinBuffer(): Uint8Array {
  return spareJoinBuffers.pop() ?? new Uint8Array(2 * COALESCE);
}

/** `buffer`'s write settled: it may be reused. */
function releaseJoinBuffer(buffer: Uint8Array): void {
  if (spareJoinBuffers.length < MAX_SPARE_JOIN_BUFFERS) spareJoinBuffers.push(buffer);
}

/**
 * The first `count` chunks of `chunks` (`size` bytes) and the first `head` bytes of the next
 * one, joined at the start of `into` (which has room for them); returns that part of `into`.
 */
function concatInto(
  into: Uint8Array,
  chunks: readonly Uint8Array[],
  count: number,
  size: number,
  head: number,
): Uint8Array {
  const out = into.subarray(0, size + head);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const chunk = chunks[i] as Uint8Array;
    out.set(chunk, offset);
    offset += chunk.length;
  }
  if (head > 0) out.set((chunks[count] as Uint8Array).subarray(0, head), offset);
  return out;
}
