/**
 * Topic membership: which sockets hold which topics, both ways, so that a publish finds a
 * topic's subscribers in one lookup and a closing socket leaves all its topics at once.
 *
 * Nothing is kept for a topic without subscribers or a socket without topics: a topic's set is
 * deleted with its last subscriber, so any number of subscribe/unsubscribe cycles leaves the
 * maps as they were (see `topics.test.ts`, a million cycles).
 *
 * @module
 */

/** Throws the TypeError every pub/sub method gives for a topic that is not a non-empty string. */
export function checkTopic(topic: unknown, what: string): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0) {
    throw new TypeError(`Cannot ${what}: the topic must be a non-empty string, got ${describe(topic)}`);
  }
}

function describe(value: unknown): string {
  return typeof value === "string" ? '""' : value === null ? "null" : typeof value;
}

/**
 * The topics of a server's sockets. `first` and `last` are told when a topic gains its first
 * subscriber and loses its last one (the broker subscribes and unsubscribes then).
 */
export class TopicRegistry<Socket> {
  readonly #subscribers = new Map<string, Set<Socket>>();
  readonly #topics = new Map<Socket, Set<string>>();
  readonly #first: (topic: string) => void;
  readonly #last: (topic: string) => void;

  constructor(first: (topic: string) => void = () => {}, last: (topic: string) => void = () => {}) {
    this.#first = first;
    this.#last = last;
  }

  /** Adds `socket` to `topic`; false when it was already subscribed. */
  subscribe(socket: Socket, topic: string): boolean {
    let subscribers = this.#subscribers.get(topic);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#subscribers.set(topic, subscribers);
      this.#first(topic);
    } else if (subscribers.has(socket)) return false;
    subscribers.add(socket);
    let topics = this.#topics.get(socket);
    if (topics === undefined) {
      topics = new Set();
      this.#topics.set(socket, topics);
    }
    topics.add(topic);
    return true;
  }

  /** Removes `socket` from `topic`; false when it was not subscribed. */
  unsubscribe(socket: Socket, topic: string): boolean {
    const subscribers = this.#subscribers.get(topic);
    if (subscribers === undefined || !subscribers.delete(socket)) return false;
    if (subscribers.size === 0) {
      this.#subscribers.delete(topic);
      this.#last(topic);
    }
    const topics = this.#topics.get(socket);
    if (topics !== undefined) {
      topics.delete(topic);
      if (topics.size === 0) this.#topics.delete(socket);
    }
    return true;
  }

  /** Removes `socket` from every topic (it closed). */
  leaveAll(socket: Socket): void {
    const topics = this.#topics.get(socket);
    if (topics === undefined) return;
    for (const topic of [...topics]) this.unsubscribe(socket, topic);
  }

  /** Whether `socket` is subscribed to `topic`. */
  isSubscribed(socket: Socket, topic: string): boolean {
    return this.#subscribers.get(topic)?.has(socket) ?? false;
  }

  /** The topics of `socket`, in subscription order (a new array). */
  topicsOf(socket: Socket): string[] {
    const topics = this.#topics.get(socket);
    return topics === undefined ? [] : [...topics];
  }

  /** The subscribers of `topic` (live: do not modify), or undefined when it has none. */
  subscribers(topic: string): ReadonlySet<Socket> | undefined {
    return this.#subscribers.get(topic);
  }

  /** How many sockets hold `topic`. */
  subscriberCount(topic: string): number {
    return this.#subscribers.get(topic)?.size ?? 0;
  }

  /** Every topic with at least one subscriber. */
  topics(): IterableIterator<string> {
    return this.#subscribers.keys();
  }

  /** How many topics have subscribers, and how many sockets hold topics (for leak checks). */
  get size(): { readonly topics: number; readonly sockets: number } {
    return { topics: this.#subscribers.size, sockets: this.#topics.size };
  }
}
