/**
 * Fair turns for received work: one connection's flood must not hold the event loop while other
 * connections, new handshakes and timers wait (RFC 6455 §10.4: an endpoint must guard against
 * peers that exhaust its resources; a message may legally come in any number of one-byte
 * fragments, and a peer may send large frames as fast as it can).
 *
 * Work is counted per connection per *turn*, not per received chunk: a runtime may hand a
 * session many chunks between two polls for I/O (Node reads up to 32 chunks of 64 KiB from one
 * socket in one go), and a slice that started over with each chunk bounded nothing. A turn
 * begins with the first work after the previous one and ends at the next tick of this module's
 * timer, which can only run once the runtime has gone back to its event loop, so a turn spans at
 * least one poll for I/O. The timer is set only when a turn needs an end: when a session runs
 * out of its slice or waits. A turn that has none yet (quiet connections, such as a lone peer
 * that sends one message at a time, never need one) ends instead when work starts in a later
 * task and the turn began at least {@link TURN_BUDGET_MS} ago: the runtime cannot have polled
 * for I/O within one task (a task's microtasks run before the next task), and across tasks such
 * a turn bounds work as a ticked one does, one slice per connection per budget at most. So a
 * quiet server sets no timer per message.
 *
 * In one turn a session decodes:
 * - one slice: at most {@link FRAMES_PER_SLICE} frames (each event counts as one more: its
 *   handler's work) and about {@link BYTES_PER_SLICE} received bytes
 *   (`Connection.nextEvent(maxFrames, maxBytes)`). A quiet connection gets it whatever the
 *   others do, so that a fresh client's message is handled at once; a connection that waited
 *   for a turn in this turn or the one before (it floods) gets it only while the turn has lasted
 *   less than {@link TURN_BUDGET_MS}: the run queue resumes its transport, and the bytes that
 *   then arrive (Node hands them over after the queue's timer, Deno and Bun at the next poll)
 *   count against the turn's budget like those it had;
 * - more slices only while nobody waits in the run queue and the turn's budget lasts: a lone
 *   busy connection is not slowed down, a busy server is shared.
 *
 * When a session stops with bytes still buffered, it pauses its transport and waits in one FIFO
 * run queue shared by every session of this module instance. Each tick starts a new turn and
 * serves the queue in order, one slice per session, until the turn's budget is used; the rest
 * waits for the next tick, after the event loop has polled for I/O again. So between two polls
 * there is one budget of work plus at most one slice per connection that received data, however
 * much the peers send, and a fresh client's handshake and echo are served in between.
 *
 * The tick comes after the runtime has polled for I/O again, as the transport's
 * `Transport.afterIo` schedules it (`after-io.ts`): a `setImmediate` on Node and Bun, whose
 * immediates let the poll in between and cost little; a byte over a loopback TCP pair on Deno
 * while a server listens; a `setTimeout(0)` timer by default, a task after which every runtime
 * polls for I/O (HTML "timers"). While every busy
 * session waits for the tick and nothing else is ready the process is idle, so the cheapest
 * tick that still lets I/O in is the one to take.
 *
 * Runtime-neutral: only the tick the transport gives, timers and the clock; the transport's own
 * `pause()`/`resume()` stop and restart reading (backpressure to the peer), as for a slow
 * consumer.
 *
 * @module
 */
import { now } from "../meter.ts";
import { type AfterIo, afterTimer } from "./after-io.ts";

/**
 * Frames a session decodes in a slice. A slice of tiny fragments is then a small fraction of a
 * millisecond, and a pipelining peer's small messages are still handled in batches (one write of
 * the echoes per slice, see `outbox.ts`).
 */
export const FRAMES_PER_SLICE = 1024;

/**
 * Received bytes a session decodes in a slice (the frame piece that reaches it is read whole):
 * large frames cost work in proportion to their bytes (unmasking, copying, the echo's write), and
 * a slice of them is bounded like a slice of tiny ones. One 64 KiB read of Node's, about.
 */
export const BYTES_PER_SLICE: number = 64 * 1024;

/**
 * Work done in one turn (by the run queue and the sessions together) before others get theirs.
 * A turn costs more than its budget (the reads of the sessions it resumed, garbage collection),
 * and a fresh client's handshake and first echo take a few turns: the budget is kept small so
 * that they add up to little, while a lone busy connection, which goes on while nobody waits,
 * is not slowed down.
 */
export const TURN_BUDGET_MS = 2;

/** A session waiting for its turn. */
export interface TurnTaker {
  /** Decodes its next slice; calls {@link waitTurn} again if more is left after it. */
  takeTurn(): void;
}

/** The current turn, counted up when one ends. */
let turn = 0;
/** Work was done in the current turn: its start is known. */
let turnOpen = false;
/** When the current turn's work began. */
let turnStart = 0;
/** The current turn ends at the next tick. */
let tickScheduled = false;
/**
 * How the last tick was set: the tick that serves the queue sets the next one the same way
 * (the transports of one runtime all give the same).
 */
let tickVia: AfterIo = afterTimer;
/** Work was done in the current task: a microtask at its end clears this. */
let inTask = false;
const endTask = (): void => {
  inTask = false;
};

/** The sessions waiting, in order, from `head` on (a session is in it at most once). */
let queue: (TurnTaker | undefined)[] = [];
let head = 0;

function scheduleTick(afterIo: AfterIo): void {
  if (!tickScheduled) {
    tickScheduled = true;
    tickVia = afterIo;
    afterIo(tick);
  }
}

/**
 * Work starts: the current turn (opened if it was not). A turn without a tick ends when work
 * starts in a later task and the turn's budget has run out (see the module's comment).
 */
function currentTurn(): number {
  if (!inTask) {
    inTask = true;
    queueMicrotask(endTask);
    if (turnOpen && !tickScheduled && budgetUsed()) {
      turn++;
      turnOpen = false;
    }
  }
  if (!turnOpen) {
    turnOpen = true;
    turnStart = now();
  }
  return turn;
}

/** The current turn's budget is used. */
function budgetUsed(): boolean {
  return now() - turnStart >= TURN_BUDGET_MS;
}

/** Nobody waits for a turn and the turn's budget is not used: a session may take another slice. */
function mayGoOn(): boolean {
  return head === queue.length && !budgetUsed();
}

/**
 * One session's share of the turns: what is left of its slice in the current one. A session
 * calls {@link Share.begin} before it decodes and takes from `frames` and `bytes` what it used;
 * when they run out with bytes still buffered, {@link Share.next} says whether it may go on.
 */
export class Share {
  /** The turn of the current slice. */
  #turn = -1;
  /** The last turn in which this session waited for a turn or was served one. */
  #waited = -2;
  /** Frames (and events) left in the current slice. */
  frames = 0;
  /** Received bytes left in the current slice. */
  bytes = 0;

  /**
   * Work starts: a fresh slice if this session has not had one in the current turn, none if it
   * floods and the turn's budget is used.
   */
  begin(): void {
    const current = currentTurn();
    if (this.#turn !== current) {
      this.#turn = current;
      this.frames = FRAMES_PER_SLICE;
      this.bytes = BYTES_PER_SLICE;
    }
    if (current - this.#waited <= 1 && budgetUsed()) {
      this.frames = 0;
      this.bytes = 0;
    }
  }

  /** This session waits for a turn, or is served one (see {@link waitTurn}). */
  waited(): void {
    this.#waited = turn;
  }

  /**
   * The slice is used up: the turn needs an end (its tick is set, by `afterIo` if none is set
   * yet); takes another slice and returns true if nobody waits and time is left.
   */
  next(afterIo: AfterIo = afterTimer): boolean {
    scheduleTick(afterIo);
    if (!mayGoOn()) return false;
    this.frames = FRAMES_PER_SLICE;
    this.bytes = BYTES_PER_SLICE;
    return true;
  }
}

/**
 * Queues `taker` to decode its next slice in a later turn, after the event loop's I/O (the tick
 * is set by `afterIo`, its transport's, if none is set yet).
 */
export function waitTurn(taker: TurnTaker, afterIo: AfterIo = afterTimer): void {
  queue.push(taker);
  scheduleTick(afterIo);
}

/** A new turn: serves the sessions that were waiting, in order, while its budget lasts. */
function tick(): void {
  tickScheduled = false;
  turn++;
  turnOpen = false;
  if (head === queue.length) return;
  currentTurn();
  // The turn that serves the queue ends at the next tick, whether or not anybody waits then:
  // the sessions it resumes count their bytes against its budget (see `Share.begin`).
  scheduleTick(tickVia);
  // Sessions that wait again after their slice queue behind the ones not served yet.
  const end = queue.length;
  while (head < end) {
    const taker = queue[head] as TurnTaker;
    queue[head++] = undefined;
    taker.takeTurn();
    if (now() - turnStart >= TURN_BUDGET_MS) break;
  }
  if (head === queue.length) {
    queue = [];
    head = 0;
  } else {
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    scheduleTick(tickVia);
  }
}
