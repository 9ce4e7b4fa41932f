/**
 * Fair turns for received work: one connection's flood of small frames must not hold the event
 * loop while other connections, new handshakes and timers wait (RFC 6455 §10.4: an endpoint
 * must guard against peers that exhaust its resources, and a message may legally come in any
 * number of one-byte fragments).
 *
 * A session decodes at most {@link FRAMES_PER_SLICE} frames of what it received at a time
 * (`Connection.nextEvent(maxFrames)`). When more is buffered, it pauses its transport and
 * waits in one run queue shared by every session of this module instance. The queue is served
 * in order after the event loop's I/O, one slice per session, until {@link TURN_BUDGET_MS} of
 * work is done; the rest waits for the next turn, after the event loop has polled for I/O
 * again. So between two polls there is at most one slice per connection that received data
 * plus one budget of queued work, however much the peers send, and a fresh client's handshake
 * and echo are served in between.
 *
 * Each turn of the queue comes with `setTimeout(0)`: a timer is a task after which every
 * runtime polls for I/O (HTML "timers"). Not `setImmediate`: Deno runs the `setImmediate`
 * callbacks queued from I/O callbacks, and those they queue, before it polls again, so a fresh
 * client would wait behind the whole flood. A chain of timers may be clamped to a few
 * milliseconds per step (HTML timer nesting), which only gives the other work more room.
 *
 * Runtime-neutral: only timers and the clock; the transport's own `pause()`/`resume()` stop and
 * restart reading (backpressure to the peer), as for a slow consumer.
 *
 * @module
 */
import { now } from "../meter.ts";

/**
 * Frames a session decodes at a time before it lets other work run. A slice of tiny
 * fragments is then a small fraction of a millisecond, and a pipelining peer's small messages
 * are still handled in batches (one write of the echoes per slice, see `outbox.ts`).
 */
export const FRAMES_PER_SLICE = 1024;

/** Work the run queue does in one turn of the event loop before it waits for the next. */
export const TURN_BUDGET_MS = 4;

/** A session waiting for its turn. */
export interface TurnTaker {
  /** Decodes its next slice; calls {@link waitTurn} again if more is left after it. */
  takeTurn(): void;
}

/** The sessions waiting, in order (a session is in it at most once). */
let queue: TurnTaker[] = [];
let scheduled = false;

/** Queues `taker` to decode its next slice after the event loop's I/O. */
export function waitTurn(taker: TurnTaker): void {
  queue.push(taker);
  if (!scheduled) {
    scheduled = true;
    setTimeout(serveQueue, 0);
  }
}

function serveQueue(): void {
  scheduled = false;
  const serving = queue;
  // Sessions that yield again while being served queue behind the ones not served yet.
  queue = [];
  const deadline = now() + TURN_BUDGET_MS;
  let served = 0;
  while (served < serving.length) {
    (serving[served++] as TurnTaker).takeTurn();
    if (now() >= deadline) break;
  }
  if (served < serving.length) queue = serving.slice(served).concat(queue);
  if (queue.length > 0 && !scheduled) {
    scheduled = true;
    setTimeout(serveQueue, 0);
  }
}
