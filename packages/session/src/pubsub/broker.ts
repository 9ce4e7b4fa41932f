/**
 * The broker: how a server's publishes reach the sockets of other servers, in this process or
 * in others (a Redis backplane, `@ws/redis`). The server always delivers to its own
 * subscribers itself; the broker carries each message to the other members, and brings their
 * messages in. A member subscribes at the broker only to the topics its sockets hold (the
 * server calls `subscribe` for a topic's first local subscriber and `unsubscribe` after its
 * last), and never receives its own messages back, so no local subscriber gets a message twice.
 *
 * {@link InProcessBroker} is the default: one per server unless you share one between
 * several servers of the same process.
 *
 * @module
 */

/** A message as it crosses the broker: the payload and how to send it. */
export interface BrokerMessage {
  /** The payload (UTF-8 for text). */
  readonly payload: Uint8Array;
  /** A binary message (else text). */
  readonly binary: boolean;
  /** The publisher's `compress` option. */
  readonly compress: boolean | undefined;
}

/** What a server gives the broker when it attaches. */
export interface BrokerPeer {
  /**
   * Delivers a message another member published to this server's subscribers of `topic`, or
   * to all its sockets when `topic` is null (a broadcast).
   */
  deliver(topic: string | null, message: BrokerMessage): void;
  /** Reports a broker failure (a lost connection, a publish that failed after it was sent). */
  error(error: Error): void;
}

/** A server's membership of a broker. */
export interface BrokerLink {
  /**
   * Sends a message to the other members' subscribers of `topic` (every socket when null). In
   * publish order for one member.
   *
   * @throws {BrokerError} (`BROKER_UNAVAILABLE`) when the broker is known to be unreachable:
   * the server then delivers nothing, not even locally.
   */
  publish(topic: string | null, message: BrokerMessage): void;
  /** This member now has subscribers of `topic`. */
  subscribe(topic: string): void;
  /** This member has no subscriber of `topic` left. */
  unsubscribe(topic: string): void;
  /** Leaves the broker (the server is closing). */
  detach(): Promise<void>;
}

/** A pub/sub backplane between servers. */
export interface Broker {
  /** Attaches a server. */
  attach(peer: BrokerPeer): BrokerLink;
}

/** Stable codes of {@link BrokerError}. */
export type BrokerErrorCode =
  /** The broker cannot be reached now (down at start, or the connection dropped). */
  | "BROKER_UNAVAILABLE"
  /** A message handed to the broker did not get there (the connection failed meanwhile). */
  | "BROKER_PUBLISH_FAILED"
  /** The connection to the broker failed; the broker reconnects by itself. */
  | "BROKER_CONNECTION_LOST";

/** A failure of the broker, with a stable {@link BrokerErrorCode}. */
export class BrokerError extends Error {
  /** Stable code. */
  readonly code: BrokerErrorCode;
  /** The topic of the publish that failed (null: a broadcast), when the error is about one. */
  readonly topic: string | null | undefined;
  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown; topic?: string | null }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BrokerError";
    this.code = code;
    this.topic = options?.topic;
  }
}

/**
 * The in-process broker: the servers attached to one instance share their topics (a publish on
 * one reaches the subscribers of all). A server without a `broker` option gets one of its own.
 *
 * @example
 * ```ts
 * import { InProcessBroker } from "@ws/session";
 * const broker = new InProcessBroker(); // give { broker } to several servers of this process
 * ```
 */
export class InProcessBroker implements Broker {
  readonly #members = new Set<{ peer: BrokerPeer; topics: Set<string> }>();

  /** Attaches a server. */
  attach(peer: BrokerPeer): BrokerLink {
    const member = { peer, topics: new Set<string>() };
    this.#members.add(member);
    const members = this.#members;
    return {
      publish(topic, message) {
        for (const other of members) {
          if (other === member || (topic !== null && !other.topics.has(topic))) continue;
          other.peer.deliver(topic, message);
        }
      },
      subscribe(topic) {
        member.topics.add(topic);
      },
      unsubscribe(topic) {
        member.topics.delete(topic);
      },
      detach() {
        members.delete(member);
        return Promise.resolve();
      },
    };
  }

  /** How many servers are attached. */
  get size(): number {
    return this.#members.size;
  }
}
