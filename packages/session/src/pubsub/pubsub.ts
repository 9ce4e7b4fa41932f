/**
 * A server's pub/sub: topics of its sockets, `publish` and `broadcast` with the message framed
 * (and compressed) once, and the broker that carries messages to other servers and processes.
 *
 * Delivery never waits for a socket: a message is queued on each subscriber under that
 * socket's own limit and policy, exactly as `send()` would be. A subscriber that reads slower
 * than messages are published accumulates them in its send queue (`bufferedAmount`); the
 * publish that would take it past `limits.maxBufferedAmount` is dropped for that socket alone,
 * which gets an `error` (`BUFFER_OVERFLOW`) and is closed with 1008 (Policy Violation, "Send
 * buffer is full"), and leaves its topics once closed. Other subscribers are not affected.
 * The queued bytes of a prepared message are shared by every subscriber that queues them.
 *
 * One subscriber's failure is its own: a socket whose send throws is skipped (not counted in
 * the number `publish` returns), the exception goes to the server's `error` listeners, and
 * every other subscriber still gets the message; the publisher sees no exception.
 *
 * @module
 */
import type { MessageData, Session } from "../session.ts";
import { type Broker, type BrokerLink, type BrokerMessage, InProcessBroker } from "./broker.ts";
import {
  checkOptions,
  type PreparedDeflate,
  PreparedMessage,
  type PrepareMessageOptions,
  prepareMessage,
} from "./prepared-message.ts";
import { checkTopic, TopicRegistry } from "./topics.ts";

/** Options of `server.publish` and `server.broadcast`. */
export interface PublishOptions<Socket = unknown> extends PrepareMessageOptions {
  /** A socket that does not get the message (typically its sender). */
  readonly except?: Socket | undefined;
}

/** What the hub needs of a socket: its session. */
export interface PubSubSocket {
  readonly session: Session | undefined;
  /** Sends a prepared message (the socket keeps its own send order). */
  sendPrepared(message: PreparedMessage): void;
}

/**
 * The pub/sub of one server. `clients` are the server's open sockets (for `broadcast`).
 */
export class PubSub<Socket extends PubSubSocket = PubSubSocket> {
  readonly #registry: TopicRegistry<Socket>;
  readonly #clients: ReadonlySet<Socket>;
  readonly #deflate: (() => PreparedDeflate | undefined) | undefined;
  readonly #link: BrokerLink;
  readonly #onError: (error: Error) => void;
  #detached = false;

  /**
   * @param clients the server's open sockets, for broadcasts.
   * @param broker the backplane to other servers (default: an {@link InProcessBroker} of its own).
   * @param deflate the server's engine and `perMessageDeflate` settings, to compress once.
   * @param onError where broker failures go (the server's `error` event).
   */
  constructor(
    clients: ReadonlySet<Socket>,
    broker: Broker | undefined,
    deflate: (() => PreparedDeflate | undefined) | undefined,
    onError: (error: Error) => void,
  ) {
    this.#clients = clients;
    this.#deflate = deflate;
    this.#onError = onError;
    this.#registry = new TopicRegistry<Socket>(
      (topic) => this.#link.subscribe(topic),
      (topic) => this.#link.unsubscribe(topic),
    );
    this.#link = (broker ?? new InProcessBroker()).attach({
      deliver: (topic, message) => this.#deliverRemote(topic, message),
      error: (error) => this.#onError(error),
    });
  }

  /** Subscribes `socket` to `topic`; false when it already was (or is not open). */
  subscribe(socket: Socket, topic: string): boolean {
    checkTopic(topic, "subscribe");
    if (socket.session === undefined || socket.session.state === "closed") return false;
    return this.#registry.subscribe(socket, topic);
  }

  /** Unsubscribes `socket` from `topic`; false when it was not subscribed. */
  unsubscribe(socket: Socket, topic: string): boolean {
    checkTopic(topic, "unsubscribe");
    return this.#registry.unsubscribe(socket, topic);
  }

  /** Whether `socket` is subscribed to `topic`. */
  isSubscribed(socket: Socket, topic: string): boolean {
    checkTopic(topic, "check a subscription");
    return this.#registry.isSubscribed(socket, topic);
  }

  /** The topics of `socket`. */
  topicsOf(socket: Socket): string[] {
    return this.#registry.topicsOf(socket);
  }

  /** The socket closed: it leaves every topic. */
  leaveAll(socket: Socket): void {
    this.#registry.leaveAll(socket);
  }

  /** How many of this server's sockets are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    checkTopic(topic, "count subscribers");
    return this.#registry.subscriberCount(topic);
  }

  /** Topics and sockets held (for leak checks). */
  get size(): { readonly topics: number; readonly sockets: number } {
    return this.#registry.size;
  }

  /** Frames `data` once, and compresses it once with this server's deflate settings. */
  prepare(data: MessageData | PreparedMessage, options: PrepareMessageOptions = {}): PreparedMessage {
    if (data instanceof PreparedMessage) return data;
    return prepareMessage(data, options, this.#deflate?.());
  }

  /**
   * Sends `data` to the subscribers of `topic`, here and, through the broker, on every other
   * server. Returns how many of this server's sockets it reached (queued on, under their send
   * limits).
   *
   * @throws {BrokerError} `BROKER_UNAVAILABLE` when the broker is unreachable (nothing is sent).
   * @throws {TypeError} for a bad topic, data or option.
   */
  publish(topic: string, data: MessageData | PreparedMessage, options: PublishOptions<Socket> = {}): number {
    checkTopic(topic, "publish");
    checkOptions(options);
    const message = this.prepare(data, options);
    this.#toBroker(topic, message);
    return this.#deliver(this.#registry.subscribers(topic), message, options.except);
  }

  /** Sends `data` to every open socket of every server. Returns how many of this server's it reached. */
  broadcast(data: MessageData | PreparedMessage, options: PublishOptions<Socket> = {}): number {
    checkOptions(options);
    const message = this.prepare(data, options);
    this.#toBroker(null, message);
    return this.#deliver(this.#clients, message, options.except);
  }

  /** Leaves the broker (the server closes). */
  async detach(): Promise<void> {
    if (this.#detached) return;
    this.#detached = true;
    await this.#link.detach();
  }

  #toBroker(topic: string | null, message: PreparedMessage): void {
    if (this.#detached) return;
    const crossing: BrokerMessage = {
      payload: message.payload,
      binary: message.binary,
      compress: message.compress,
    };
    this.#link.publish(topic, crossing);
  }

  #deliverRemote(topic: string | null, crossing: BrokerMessage): void {
    const message = new PreparedMessage(
      crossing.payload,
      crossing.binary,
      crossing.compress,
      this.#deflate?.(),
    );
    this.#deliver(topic === null ? this.#clients : this.#registry.subscribers(topic), message, undefined);
  }

  #deliver(sockets: ReadonlySet<Socket> | undefined, message: PreparedMessage, except: unknown): number {
    if (sockets === undefined) return 0;
    let reached = 0;
    for (const socket of sockets) {
      if (socket === except) continue;
      const session = socket.session;
      if (session === undefined || session.state !== "open") continue;
      try {
        socket.sendPrepared(message);
      } catch (error) {
        // One socket's fault never costs the others their message, nor the publisher an
        // exception: the socket is skipped (not counted) and the fault goes to the server's
        // `error` listeners, like a broker failure.
        this.#onError(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      // A send over the socket's maxBufferedAmount is dropped and closes it (state "closing").
      if (session.state === "open") reached++;
    }
    return reached;
  }
}
