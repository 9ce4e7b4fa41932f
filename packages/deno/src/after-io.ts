/**
 * The fair turns' tick on Deno (`Transport.afterIo`, see `@ws/session`'s `session/after-io.ts`):
 * a callback in a later task, after Deno has polled its sockets, at the least cost.
 *
 * Deno's candidates:
 * - `setTimeout(0)`, the portable default: a step is Deno's timer resolution however idle the
 *   process, and while every busy session waits for it the server does nothing.
 * - `setImmediate` and `MessageChannel`: cheap, but Deno's async runtime checks its I/O driver
 *   only every few dozen tasks while tasks are ready, so a chain of ticks keeps a fresh client's
 *   accept and read out for many turns (RFC 6455 §10.4 wants them served).
 * - A loopback TCP connection that writes one byte to itself, taken here: its read completes
 *   only when Deno polls its I/O driver for readiness, which is the event the tick must follow,
 *   and every other socket that became ready by then is served in that same poll. A step costs
 *   two small ops and a loopback segment.
 *
 * The pair is opened on the first tick asked for while a server listens (a quiet server never
 * needs one), and only when the program may connect to 127.0.0.1 (`Deno.permissions.querySync`,
 * so that nobody is prompted); it is closed when the last server that holds it closes (`deno
 * test`'s resource sanitizer sees no leak). Until it is open, without the permission, or after
 * an error, the tick is the timer.
 *
 * Deno docs relied on:
 * - `Deno.listen`, `Deno.connect`, `Deno.Conn` (`read`, `write`, `close`), `setNoDelay`:
 *   https://docs.deno.com/api/deno/~/Deno.listen, https://docs.deno.com/api/deno/~/Deno.connect
 * - `Deno.permissions.querySync`: https://docs.deno.com/api/deno/~/Deno.Permissions
 *
 * @module
 */
import { type AfterIo, afterTimer } from "@ws/session";

/** Where the loopback pair stands. */
type State = "closed" | "opening" | "open" | "unavailable";

const LOOPBACK = "127.0.0.1";
const ONE_BYTE = new Uint8Array(1);

/**
 * The loopback pair and the callbacks waiting for its next step. One per process: the run
 * queue it ticks for is one per `@ws/session` instance, and one pair serves every server.
 */
class LoopbackTick {
  #state: State = "closed";
  /** Counts up when the pair is closed: an opening that was overtaken by a close gives up. */
  #generation = 0;
  /** Servers listening (or closing): the pair is open only while there is one. */
  #holders = 0;
  #writer: Deno.TcpConn | undefined;
  #reader: Deno.TcpConn | undefined;
  /**
   * Larger than a step's one byte: a short read makes the next read wait for Deno's next poll
   * for readiness (the bytes of several steps are read at once, if ever).
   */
  readonly #readBuffer = new Uint8Array(64);
  /** Callbacks for the step in flight (a step is in flight while this is not empty). */
  #waiting: (() => void)[] = [];

  /** See `Transport.afterIo`. */
  readonly afterIo: AfterIo = (callback) => {
    if (this.#state === "open") {
      this.#waiting.push(callback);
      if (this.#waiting.length === 1) this.#step();
      return;
    }
    if (this.#state === "closed" && this.#holders > 0) void this.#open();
    afterTimer(callback);
  };

  /**
   * A server listens (or is closing), so a tick is the pair (or will be once it is open) rather
   * than the timer: a step costs microseconds. (`TurnTick.cheap` of `@ws/deflate`.)
   */
  get cheap(): boolean {
    return this.#holders > 0 && this.#state !== "unavailable";
  }

  /** A server listens: the pair may be opened when a tick is asked for. */
  hold(): void {
    this.#holders++;
  }

  /** A server closed: the last one closes the pair. */
  release(): void {
    if (this.#holders === 0) return;
    if (--this.#holders === 0) this.#close();
  }

  /** One step: a byte to the writer's end; the read at the reader's end ends the step. */
  #step(): void {
    const writer = this.#writer as Deno.TcpConn;
    const reader = this.#reader as Deno.TcpConn;
    writer.write(ONE_BYTE).catch(this.#fail);
    reader.read(this.#readBuffer).then(this.#stepped, this.#fail);
  }

  readonly #stepped = (read: number | null): void => {
    if (read === null) {
      this.#fail();
      return;
    }
    this.#run();
  };

  /** The pair broke or was closed: the tick is the timer from now on, and no callback is lost. */
  readonly #fail = (): void => {
    if (this.#state === "open") {
      this.#state = "unavailable";
      this.#closeConns();
    }
    if (this.#waiting.length > 0) afterTimer(() => this.#run());
  };

  /** Runs the callbacks of the step that ended; those they ask for wait for the next one. */
  #run(): void {
    const callbacks = this.#waiting;
    if (callbacks.length === 0) return;
    this.#waiting = [];
    for (const callback of callbacks) {
      try {
        callback();
      } catch (error) {
        // As a throwing timer callback would be: reported, and the others still run.
        reportError(error);
      }
    }
  }

  async #open(): Promise<void> {
    if (!mayConnectToLoopback()) {
      this.#state = "unavailable";
      return;
    }
    this.#state = "opening";
    const generation = this.#generation;
    let listener: Deno.TcpListener | undefined;
    let writer: Deno.TcpConn | undefined;
    let reader: Deno.TcpConn | undefined;
    try {
      listener = Deno.listen({ hostname: LOOPBACK, port: 0 });
      const accepted = listener.accept();
      writer = await Deno.connect({ hostname: LOOPBACK, port: listener.addr.port });
      reader = await accepted;
      // Another process may have connected first: the pair must be this one's own ends.
      if ((reader.remoteAddr as Deno.NetAddr).port !== (writer.localAddr as Deno.NetAddr).port) {
        throw new Error("not our connection");
      }
      writer.setNoDelay(true);
    } catch {
      closeQuietly(writer);
      closeQuietly(reader);
      writer = undefined;
      reader = undefined;
    } finally {
      closeQuietly(listener);
    }
    if (this.#generation !== generation) {
      // Every server closed meanwhile.
      closeQuietly(writer);
      closeQuietly(reader);
      return;
    }
    if (writer === undefined) {
      this.#state = "unavailable";
      return;
    }
    this.#writer = writer;
    this.#reader = reader;
    this.#state = "open";
  }

  #close(): void {
    this.#generation++;
    if (this.#state === "open") this.#closeConns();
    // A pending read fails with the close and hands its callbacks to the timer (`#fail`). The
    // next server tries again (permissions may differ by then; see `Deno.permissions`).
    this.#state = "closed";
  }

  #closeConns(): void {
    closeQuietly(this.#writer);
    closeQuietly(this.#reader);
    this.#writer = undefined;
    this.#reader = undefined;
  }
}

/** The program may listen on and connect to 127.0.0.1 without a prompt. */
function mayConnectToLoopback(): boolean {
  try {
    return Deno.permissions.querySync({ name: "net", host: LOOPBACK }).state === "granted";
  } catch {
    return false; // No permissions API (or no such descriptor): keep the timer.
  }
}

function closeQuietly(resource: { close(): void } | undefined): void {
  try {
    resource?.close();
  } catch {
    // Already closed.
  }
}

/** The process's loopback tick (see the module's comment). */
export const loopbackTick: LoopbackTick = new LoopbackTick();
