/**
 * A server's counters and the diagnostics events of its connections (issue 12,
 * "Observable"): one {@link Meter} per server (`ServerCore`), handed to each session it
 * accepts. `server.stats()` reads it.
 *
 * The counters are plain integer fields incremented where the bytes and messages pass (the
 * session's receive loop and send calls, the outbox's transport write): no allocation, no
 * call on the hot path. Buffered bytes are not counted as they change (they change on every
 * write and every flush of the runtime): they are summed over the open sessions when the stats
 * are read. The events go to the channels of `diagnostics.ts`, and their messages are built
 * only when a channel has subscribers.
 *
 * @module
 */
import { type ClosedBy, channels, type HandshakeRejectionCode, type LimitName } from "./diagnostics.ts";
import type { CloseInfo } from "./session/types.ts";
import type { Session } from "./session.ts";
import type { WebSocket } from "./websocket.ts";

/** A snapshot of a server's counters ({@link Meter.stats}, `server.stats()`). */
export interface ServerStats {
  /** Connections open now (past the handshake, not closed yet). */
  readonly connections: number;
  /** Handshakes in progress now (admitted, not answered yet). */
  readonly handshakes: number;
  /** Bytes waiting to be sent, over every open connection (the sum of their `bufferedAmount`). */
  readonly bufferedAmount: number;
  /** Bytes received and not consumed yet, over every open connection (undecoded, or unread by a consumer). */
  readonly inboundBufferedAmount: number;
  /** Messages received (whole messages; a streamed one counts once). */
  readonly messagesReceived: number;
  /** Messages sent (handed to the connection; a streamed one counts once). */
  readonly messagesSent: number;
  /** Bytes received on open connections (frames as on the wire, after the handshake). */
  readonly bytesReceived: number;
  /** Bytes handed to the runtime's sockets (frames as on the wire, after the handshake). */
  readonly bytesSent: number;
  /** Handshakes accepted since the server started. */
  readonly handshakesAccepted: number;
  /** Handshakes rejected (answered with an error, or dropped) since the server started. */
  readonly handshakesRejected: number;
}

/** Stable codes of the failures that are limits, and the limits they are. */
const LIMIT_OF_ERROR: Readonly<Record<string, LimitName>> = {
  MESSAGE_TOO_BIG: "maxMessageSize",
  FRAME_TOO_BIG: "maxFrameSize",
  TOO_MANY_FRAGMENTS: "maxFragments",
  HEAD_TOO_LARGE: "maxHeadSize",
  TOO_MANY_HEADERS: "maxHeaderCount",
};

/** The limit a failure's or a rejection's stable code stands for, if it is one. */
export function limitOf(code: string): LimitName | undefined {
  return LIMIT_OF_ERROR[code];
}

/** One server's counters, and the sessions it accepted that are still open. */
export class Meter {
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  handshakesAccepted = 0;
  handshakesRejected = 0;
  /**
   * The open sessions of a server that does not keep its sockets (`clientTracking: false`):
   * added when made, removed when closed (see `Session`). A server that keeps them in its
   * `clients` set hands that set over instead ({@link Meter.countClients}), so that an idle
   * connection is not an entry in two sets.
   */
  #sessions: Set<Session> | undefined = new Set();
  #clients: ReadonlySet<{ readonly session: Session | undefined }> | undefined;
  readonly #handshakes: () => number;

  /** @param handshakes how many handshakes are in progress now. */
  constructor(handshakes: () => number) {
    this.#handshakes = handshakes;
  }

  /** The server keeps its open sockets in `clients`: the open sessions are theirs. */
  countClients(clients: ReadonlySet<{ readonly session: Session | undefined }>): void {
    this.#clients = clients;
    this.#sessions = undefined;
  }

  /** A session of this server was made (see `Session`). */
  opened(session: Session): void {
    this.#sessions?.add(session);
  }

  /** A session of this server closed. */
  closed(session: Session): void {
    this.#sessions?.delete(session);
  }

  /** The counters now; buffered bytes summed over the open sessions. */
  stats(): ServerStats {
    let connections = 0;
    let bufferedAmount = 0;
    let inboundBufferedAmount = 0;
    const count = (session: Session): void => {
      connections++;
      bufferedAmount += session.bufferedAmount;
      inboundBufferedAmount += session.inboundBufferedAmount;
    };
    if (this.#sessions !== undefined) for (const session of this.#sessions) count(session);
    else if (this.#clients !== undefined)
      for (const socket of this.#clients) {
        // A closed socket leaves `clients` a microtask after its close event.
        const session = socket.session;
        if (session !== undefined && session.state !== "closed") count(session);
      }
    return {
      connections,
      handshakes: this.#handshakes(),
      bufferedAmount,
      inboundBufferedAmount,
      messagesReceived: this.messagesReceived,
      messagesSent: this.messagesSent,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      handshakesAccepted: this.handshakesAccepted,
      handshakesRejected: this.handshakesRejected,
    };
  }
}

// ─── Events (each builds its message only when the channel has subscribers) ─────────────────

/**
 * The client's address, or a function that reads it: reading it can be a system call
 * (`getpeername` on Node), which a server turning away thousands of connections at once (a
 * slowloris wave beyond `maxPendingHandshakes`) should not pay when nobody listens.
 */
export type RemoteAddress = string | undefined | (() => string | undefined);

/**
 * `ws:handshake:rejected`, and `ws:limit:reached` when the rejection is a limit's; the client's
 * address is read only when one of them has subscribers.
 */
export function handshakeRejected(
  meter: Meter | undefined,
  request: unknown,
  target: string | undefined,
  remoteAddress: RemoteAddress,
  status: number,
  code: HandshakeRejectionCode,
  reason: string,
  since: number,
  limit?: { readonly limit: LimitName; readonly value: number },
): void {
  if (meter !== undefined) meter.handshakesRejected++;
  const channel = channels["ws:handshake:rejected"];
  const limitChannel = channels["ws:limit:reached"];
  const published = channel.hasSubscribers;
  if (!published && (limit === undefined || !limitChannel.hasSubscribers)) return;
  const address = typeof remoteAddress === "function" ? remoteAddress() : remoteAddress;
  if (published)
    channel.publish({
      request,
      target,
      remoteAddress: address,
      status,
      code,
      reason,
      duration: now() - since,
    });
  if (limit !== undefined) limitReached(limit.limit, limit.value, undefined, address);
}

/** `ws:limit:reached`. */
export function limitReached(
  limit: LimitName,
  value: number,
  socket: WebSocket | undefined,
  remoteAddress: string | undefined,
): void {
  const channel = channels["ws:limit:reached"];
  if (channel.hasSubscribers) channel.publish({ limit, value, socket, remoteAddress });
}

/**
 * `ws:protocol:error` (and `ws:limit:reached` for a limit's failure) of a server's socket;
 * `budget` is the server's `memoryBudget`, if it has one.
 */
export function connectionFailed(session: Session, error: Error, closeCode: number, budget?: number): void {
  const socket = session.socket;
  if (socket === undefined) return;
  const code = (error as { code?: unknown }).code;
  const stable = typeof code === "string" ? code : "INTERNAL_ERROR";
  const channel = channels["ws:protocol:error"];
  if (channel.hasSubscribers) channel.publish({ socket, closeCode, code: stable, message: error.message });
  // A message that would inflate past what the memory budget has left fails as "too big" too;
  // the codec says so in its message (`asExtensionFailure` in its assembler).
  if (budget !== undefined && stable === "MESSAGE_TOO_BIG" && error.message.includes("memory the server")) {
    limitReached("memoryBudget", budget, socket, undefined);
    return;
  }
  const limit = limitOf(stable);
  if (limit !== undefined) limitReached(limit, session.limits[limit as "maxMessageSize"], socket, undefined);
}

/** `ws:connection:closed`. */
export function connectionClosed(session: Session, info: CloseInfo, closedBy: ClosedBy, since: number): void {
  const socket = session.socket;
  const channel = channels["ws:connection:closed"];
  if (socket === undefined || !channel.hasSubscribers) return;
  const code = (info.error as { code?: unknown } | undefined)?.code;
  channel.publish({
    socket,
    code: info.code,
    reason: info.reason,
    wasClean: info.wasClean,
    closedBy,
    duration: now() - since,
    error: typeof code === "string" ? code : info.error === undefined ? undefined : "INTERNAL_ERROR",
  });
}

/** `ws:backpressure`. */
export function backpressure(
  session: Session,
  direction: "send" | "receive",
  engaged: boolean,
  bufferedAmount: number,
): void {
  const socket = session.socket;
  const channel = channels["ws:backpressure"];
  if (socket !== undefined && channel.hasSubscribers)
    channel.publish({ socket, direction, engaged, bufferedAmount });
}

/** Milliseconds from a monotonic clock when there is one. */
export function now(): number {
  return typeof performance === "undefined" ? Date.now() : performance.now();
}
