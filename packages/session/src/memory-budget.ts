/**
 * The server's memory budget (issue 12, "Bounded resources by default"): one bound on the bytes
 * all of a server's connections buffer, in both directions, inflation included. Per-connection
 * limits (`maxBufferedAmount`, `maxMessageSize`) bound one peer; a hundred peers that stop
 * reading, or twenty inflate bombs at once, need a bound on their sum.
 *
 * What is counted, per connection (each session reports its own, see `Session`):
 *
 * - sent and not yet flushed: `bufferedAmount` (the session's queue and the runtime's buffer);
 * - received and not yet handed over: bytes not yet decoded, the message in progress (whole
 *   messages are held until their last frame; inflated bytes are counted as they are
 *   produced), messages a pull consumer has not read;
 * - inflation in progress: each inflate step takes room for its output from the budget before
 *   it runs ({@link MemoryBudget.take}), so concurrent bombs share the budget instead of each
 *   using `maxMessageSize`.
 *
 * What happens as the total grows (the policy, same on every runtime):
 *
 * | total | what happens |
 * | --- | --- |
 * | over 3/4 of the budget | every connection that receives data stops reading from its peer (receive backpressure: TCP pushes back on the peers) until the total is under 1/2 |
 * | over 3/4, and a runtime delivers bytes anyway (Bun reads a paused socket to its end when the peer resets it) | they wait undecoded, counted, until reading resumes, then come in order (an end waits behind them; a reset drops them); a connection that delivers more than `receiveHighWaterMark` of them during one pause is dropped (as below) |
 * | over 3/4 and not falling for {@link PRESSURE_STALL} ms | the connection holding the most is dropped (as below), then again after each such stall: paused peers in the middle of a message, or peers that read nothing, would otherwise hold the server there for good |
 * | over the budget | the connections holding the most bytes are dropped, biggest first, until the total is within it: each gets a 1008 close frame when its socket can still take one, then its transport is closed at once and its buffers freed; locally it closes with 1006 and error `MEMORY_BUDGET` |
 * | inflating | an inflate step gets at most the room left (half of it when other steps are in flight); a message that inflates to more fails with 1009 |
 * | dropping a connection whose bytes are mostly a message still arriving | that message fails with 1009 instead (too big for what the server can hold now; the close handshake runs as usual): the same message gets the same answer however its bytes arrive, whether it goes past the room left while inflating in one piece, or stops being read in the middle under pressure (see `Session`) |
 *
 * Reports are cheap and may be stale (a runtime flushes bytes without telling the session), so
 * the budget refreshes every holder before it acts on a breach, and while reading is paused it
 * refreshes them every {@link PRESSURE_CHECK_INTERVAL} ms to know when to resume.
 *
 * @module
 */
import type { OutputBudget } from "@ws/codec";

/** Default server memory budget: 256 MiB of buffered data across all connections. */
export const DEFAULT_MEMORY_BUDGET: number = 256 * 1024 * 1024;

/** While reading is paused for the budget, holders are refreshed this often (ms). */
export const PRESSURE_CHECK_INTERVAL = 50;

/**
 * While reading is paused for the budget, a total that has not reached a new low for this long
 * (ms) is a stall: the connection holding the most is dropped.
 */
export const PRESSURE_STALL = 1000;

/** A connection that holds budgeted bytes (a server-side `Session`). */
export interface BudgetHolder {
  /** The bytes it holds now (fresh, not the last report). */
  readonly heldBytes: number;
  /** Stop reading from the peer (receive backpressure for the budget). */
  pauseForBudget(): void;
  /** Read from the peer again. */
  resumeForBudget(): void;
  /** Drop the connection now, freeing its buffers (the budget is exceeded). */
  shedForBudget(): void;
}

/** One server's memory budget, shared by its sessions. */
export class MemoryBudget implements OutputBudget {
  /** The budget in bytes (`Infinity`: none). */
  readonly limit: number;
  /** Bytes reported by the holders (the last report of each). */
  #held = 0;
  /** Room given to inflate steps in flight. */
  #granted = 0;
  readonly #holders = new Map<BudgetHolder, number>();
  /** Holders paused for the budget, resumed together once the total is under 1/2. */
  readonly #paused = new Set<BudgetHolder>();
  #pressure = false;
  /** The lowest total seen since the pressure started or the last drop, and when it was seen. */
  #pressureLow = 0;
  #pressureLowAt = 0;
  #checkScheduled = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Connections dropped for the budget since the server started. */
  shed = 0;

  constructor(limit: number = DEFAULT_MEMORY_BUDGET) {
    this.limit = limit;
  }

  /** Bytes counted now: what the holders reported plus the room given to inflate steps. */
  get total(): number {
    return this.#held + this.#granted;
  }

  /** Whether connections that receive data should stop reading (the total went over 3/4). */
  get pressure(): boolean {
    return this.#pressure;
  }

  /**
   * Records that `holder` holds `bytes` now. A holder keeps its entry, at 0 when it holds
   * nothing, until it closes: a connection that receives messages larger than a read holds
   * bytes and then none for every message, and deleting and adding its entry each time makes
   * the map allocate new hash tables. This map lives for the server's lifetime, so V8 promotes
   * each new table to the old generation, and that steady old-generation allocation keeps
   * V8's full collections running back to back under external-memory pressure (every received
   * chunk is an `ArrayBuffer`).
   */
  report(holder: BudgetHolder, bytes: number): void {
    const before = this.#holders.get(holder);
    if (bytes === (before ?? 0)) return;
    this.#holders.set(holder, bytes);
    this.#held += bytes - (before ?? 0);
    if (!this.#pressure && this.total > this.limit * 0.75) this.#startPressure();
    if (this.total > this.limit) this.#scheduleCheck();
  }

  /** `holder` closed: it holds nothing any more and is not resumed. */
  closed(holder: BudgetHolder): void {
    this.#held -= this.#holders.get(holder) ?? 0;
    this.#holders.delete(holder);
    this.#paused.delete(holder);
    if (this.total > this.limit) this.#scheduleCheck();
  }

  /** A holder stopped reading for the budget; resumed when the pressure ends. */
  paused(holder: BudgetHolder): void {
    this.#paused.add(holder);
  }

  /**
   * Room for an inflate step's output ({@link OutputBudget}): up to `wanted` bytes of what is
   * left, only half of it while other steps are in flight, so that concurrent steps share it.
   */
  take(wanted: number): number {
    if (this.limit === Number.POSITIVE_INFINITY) return wanted;
    const left = Math.max(0, this.limit - this.total);
    const granted = Math.min(wanted, this.#granted === 0 ? left : Math.floor(left / 2));
    this.#granted += granted;
    return granted;
  }

  /** Gives back room that {@link MemoryBudget.take} gave. */
  give(granted: number): void {
    if (this.limit === Number.POSITIVE_INFINITY) return;
    this.#granted -= granted;
  }

  /** Stops the pressure timer (the server closed). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startPressure(): void {
    this.#pressure = true;
    this.#pressureLow = this.total;
    this.#pressureLowAt = now();
    // Paused holders report nothing new: refresh them on a timer to know when to resume.
    this.#timer ??= setInterval(() => this.#check(), PRESSURE_CHECK_INTERVAL);
  }

  #scheduleCheck(): void {
    if (this.#checkScheduled) return;
    this.#checkScheduled = true;
    // After the current turn's reports (a batch of data events), not inside a session's call.
    queueMicrotask(() => {
      this.#checkScheduled = false;
      this.#check();
    });
  }

  /** Refreshes every holder's bytes, then drops the biggest while over, or ends the pressure. */
  #check(): void {
    for (const holder of this.#holders.keys()) this.#refresh(holder);
    if (this.#held > this.limit) {
      const biggest = [...this.#holders].sort((a, b) => b[1] - a[1]);
      for (const [holder] of biggest) {
        if (this.#held <= this.limit) break;
        this.#shed(holder);
      }
    }
    if (this.#pressure && this.total > this.limit * 0.5) {
      const at = now();
      if (this.total < this.#pressureLow) {
        this.#pressureLow = this.total;
        this.#pressureLowAt = at;
      } else if (at - this.#pressureLowAt >= PRESSURE_STALL) {
        // No progress for a while: drop the biggest holder, and wait again.
        let biggest: BudgetHolder | undefined;
        let most = 0;
        for (const [holder, bytes] of this.#holders)
          if (bytes > most) {
            most = bytes;
            biggest = holder;
          }
        if (biggest !== undefined) this.#shed(biggest);
        this.#pressureLow = this.total;
        this.#pressureLowAt = at;
      }
    }
    if (this.#pressure && this.total <= this.limit * 0.5) {
      this.#pressure = false;
      this.stop();
      const paused = [...this.#paused];
      this.#paused.clear();
      for (const holder of paused) holder.resumeForBudget();
    }
  }

  #shed(holder: BudgetHolder): void {
    const bytes = this.#holders.get(holder) ?? 0;
    this.#holders.delete(holder);
    this.#paused.delete(holder);
    this.#held -= bytes;
    this.shed++;
    holder.shedForBudget();
  }

  #refresh(holder: BudgetHolder): void {
    const before = this.#holders.get(holder) ?? 0;
    const bytes = holder.heldBytes;
    if (bytes === before) return;
    this.#holders.set(holder, bytes);
    this.#held += bytes - before;
  }
}

/** Milliseconds from a monotonic clock when there is one. */
function now(): number {
  return typeof performance === "undefined" ? Date.now() : performance.now();
}
