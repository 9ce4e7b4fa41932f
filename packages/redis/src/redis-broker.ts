/**
 * A Redis pub/sub backplane for `@ws/node`, `@ws/deno` and `@ws/bun` servers: give
 * `broker: new RedisBroker({ url })` to each server, in any number of processes and machines,
 * and `server.publish(topic, data)` on any of them reaches the topic's subscribers on all.
 *
 * Built on node-redis (`@redis/client`): Redis's own client, actively maintained, with no
 * dependencies, RESP3, Redis Cluster and sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`, Redis 7), and
 * it runs unchanged on Node, Deno and Bun (tested on all three by this package). It reconnects
 * with our backoff and re-subscribes a connection's channels by itself after a reconnect.
 *
 * Two connections per server: one publishes (in call order, so one publisher's messages arrive
 * everywhere in publish order, as Redis keeps a connection's order), one subscribes, only to
 * the channels of topics this server's sockets hold, plus the broadcast channel.
 *
 * Delivery is Redis pub/sub's: at most once. While a server's subscriber connection is down it
 * misses what others publish (nothing is replayed, nothing is delivered twice). A publish while
 * the publishing connection is down throws `BrokerError` `BROKER_UNAVAILABLE` and delivers
 * nothing, not even locally; a publish whose connection fails after the message was handed to
 * it is reported as `BROKER_PUBLISH_FAILED` on the server's `error` event.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  createClient,
  createCluster,
  type RedisClientOptions,
  type RedisClusterOptions,
} from "@redis/client";
import { type Broker, BrokerError, type BrokerLink, type BrokerMessage, type BrokerPeer } from "@ws/session";
import { decodeEnvelope, encodeEnvelope, newOrigin, sameOrigin } from "./envelope.ts";

/** Options of {@link RedisBroker}. */
export interface RedisBrokerOptions {
  /** The Redis server, e.g. `redis://127.0.0.1:6379` (`rediss:` for TLS, credentials and db in the URL). */
  readonly url?: string | undefined;
  /** More node-redis client options (`socket`, `username`, `password`, `database` …). */
  readonly client?: RedisClientOptions | undefined;
  /**
   * Redis Cluster: node-redis cluster options (`rootNodes` at least). Messages then use sharded
   * pub/sub (Redis 7), so each one goes through the shard that owns its channel only.
   */
  readonly cluster?: RedisClusterOptions | undefined;
  /**
   * Use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7). Default true with `cluster`, false
   * otherwise (on a single server it changes nothing but the command names).
   */
  readonly sharded?: boolean | undefined;
  /** Prefix of the channel names (`<prefix>topic:<topic>`, `<prefix>broadcast`). Default `"ws:"`. */
  readonly prefix?: string | undefined;
  /** Reconnect backoff: first delay and cap, in ms (doubling, with jitter). Default 50 and 2000. */
  readonly reconnect?: { readonly initialDelay?: number; readonly maxDelay?: number } | undefined;
}

type Listener = (message: Uint8Array, channel: Uint8Array) => void;

/** What the broker needs of a node-redis client or cluster. */
interface Connection {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  close(): Promise<void>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  publish(channel: string, message: Uint8Array): Promise<number>;
  sPublish(channel: string, message: Uint8Array): Promise<number>;
  subscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
  unsubscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
  sSubscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
  sUnsubscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
}

const OPTION_NAMES = new Set(["url", "client", "cluster", "sharded", "prefix", "reconnect"]);

/**
 * The Redis backplane of one server (create one per server).
 *
 * @example
 * ```ts
 * import { WebSocketServer } from "@ws/node"; // or @ws/deno, @ws/bun
 * import { RedisBroker } from "@ws/redis";
 *
 * const server = new WebSocketServer({ port: 8080, broker: new RedisBroker({ url: "redis://127.0.0.1:6379" }) });
 * server.on("connection", (socket) => {
 *   socket.subscribe("news");
 *   socket.onmessage = (event) => server.publish("news", event.data); // reaches every process
 * });
 * ```
 */
export class RedisBroker implements Broker {
  readonly #options: RedisBrokerOptions;
  readonly #prefix: string;
  readonly #sharded: boolean;
  readonly #origin = newOrigin();
  #publisher: Connection | undefined;
  #subscriber: Connection | undefined;
  #peer: BrokerPeer | undefined;
  #connected: Promise<void> | undefined;
  #closed = false;
  /** Whether the connection loss being reported was reported already (one report per outage). */
  #reportedLoss = false;

  /** @throws {TypeError} on an unknown option or neither/both of `url`+`client` and `cluster`. */
  constructor(options: RedisBrokerOptions = {}) {
    for (const name in options) {
      if (!OPTION_NAMES.has(name)) throw new TypeError(`Cannot create RedisBroker: unknown option ${name}`);
    }
    if (options.cluster !== undefined && (options.url !== undefined || options.client !== undefined)) {
      throw new TypeError("Cannot create RedisBroker: give url/client or cluster, not both");
    }
    this.#options = options;
    this.#prefix = options.prefix ?? "ws:";
    this.#sharded = options.sharded ?? options.cluster !== undefined;
  }

  /** Whether the broker can publish now (its publishing connection is ready). */
  get ready(): boolean {
    return this.#publisher?.isReady === true && this.#subscriber?.isReady === true;
  }

  /**
   * Resolves once both connections are ready (the first time). The broker connects when a
   * server attaches it; until then, and while Redis is down, publishes throw.
   */
  connected(): Promise<void> {
    return (
      this.#connected ?? Promise.reject(new TypeError("Cannot wait for RedisBroker: no server attached"))
    );
  }

  /** Attaches the server (once) and starts connecting. */
  attach(peer: BrokerPeer): BrokerLink {
    if (this.#peer !== undefined) {
      throw new TypeError("Cannot attach RedisBroker: it serves one server; create one per server");
    }
    this.#peer = peer;
    const publisher = this.#create(false);
    const subscriber = this.#create(true);
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    for (const connection of [publisher, subscriber]) {
      // Without an 'error' listener node-redis would throw into the event loop.
      connection.on("error", (error) => this.#lost(error));
      // A cluster reports its nodes' connection failures separately.
      connection.on("node-error", (error) => this.#lost(error));
      connection.on("ready", () => {
        if (this.ready) this.#reportedLoss = false;
      });
    }
    this.#connected = Promise.all([publisher.connect(), subscriber.connect()]).then(() => undefined);
    this.#connected.catch(() => {});
    this.#subscribeChannel(this.#broadcastChannel());
    return {
      publish: (topic, message) => this.#publish(topic, message),
      subscribe: (topic) => this.#subscribeChannel(this.#topicChannel(topic)),
      unsubscribe: (topic) => this.#unsubscribeChannel(this.#topicChannel(topic)),
      detach: () => this.close(),
    };
  }

  /** Closes both connections (the server closing does this). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [this.#publisher, this.#subscriber].map(async (connection) => {
        if (connection === undefined) return;
        if (!connection.isReady) {
          connection.destroy();
          return;
        }
        try {
          await connection.close();
        } catch {
          connection.destroy();
        }
      }),
    );
  }

  /**
   * A connection. The publisher has no offline queue (a publish while disconnected fails at
   * once); the subscriber has one, so that a subscription made while Redis is down is sent
   * when it is back.
   */
  #create(offlineQueue: boolean): Connection {
    const { initialDelay = 50, maxDelay = 2000 } = this.#options.reconnect ?? {};
    // Doubling from initialDelay up to maxDelay, plus up to 20% jitter so that many servers
    // do not reconnect in step after Redis comes back.
    const reconnectStrategy = (retries: number): number => {
      const delay = Math.min(initialDelay * 2 ** Math.min(retries, 20), maxDelay);
      return Math.round(delay * (1 + Math.random() * 0.2));
    };
    if (this.#options.cluster !== undefined) {
      const cluster = this.#options.cluster;
      return createCluster({
        ...cluster,
        defaults: {
          ...cluster.defaults,
          disableOfflineQueue: !offlineQueue,
          socket: { ...cluster.defaults?.socket, reconnectStrategy },
        },
      }) as unknown as Connection;
    }
    const client = this.#options.client ?? {};
    return createClient({
      ...client,
      ...(this.#options.url === undefined ? {} : { url: this.#options.url }),
      disableOfflineQueue: !offlineQueue,
      socket: { ...client.socket, reconnectStrategy },
    } as RedisClientOptions) as unknown as Connection;
  }

  #topicChannel(topic: string): string {
    return `${this.#prefix}topic:${topic}`;
  }

  #broadcastChannel(): string {
    return `${this.#prefix}broadcast`;
  }

  #lost(error: unknown): void {
    if (this.#closed || this.#reportedLoss) return;
    this.#reportedLoss = true;
    this.#peer?.error(
      new BrokerError("BROKER_CONNECTION_LOST", "Redis connection failed; reconnecting", { cause: error }),
    );
  }

  #publish(topic: string | null, message: BrokerMessage): void {
    const publisher = this.#publisher as Connection;
    if (this.#closed || !publisher.isReady) {
      throw new BrokerError(
        "BROKER_UNAVAILABLE",
        `Cannot publish${topic === null ? " a broadcast" : ` to ${topic}`}: Redis is unreachable`,
        { topic },
      );
    }
    const channel = topic === null ? this.#broadcastChannel() : this.#topicChannel(topic);
    const envelope = encodeEnvelope(this.#origin, message);
    // node-redis sends a Buffer as bytes (any other Uint8Array would be turned into text).
    const bytes = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
    const sent = this.#sharded ? publisher.sPublish(channel, bytes) : publisher.publish(channel, bytes);
    sent.catch((error: unknown) => {
      this.#peer?.error(
        new BrokerError("BROKER_PUBLISH_FAILED", `Cannot publish to ${channel}: ${String(error)}`, {
          cause: error,
          topic,
        }),
      );
    });
  }

  readonly #listener: Listener = (bytes, channel) => {
    const envelope = decodeEnvelope(bytes);
    if (envelope === undefined || sameOrigin(envelope.origin, this.#origin)) return;
    const name = new TextDecoder().decode(channel);
    const topicPrefix = `${this.#prefix}topic:`;
    const topic = name.startsWith(topicPrefix) ? name.slice(topicPrefix.length) : null;
    this.#peer?.deliver(topic, envelope.message);
  };

  // The subscriber connection keeps its offline queue: a subscription made while Redis is
  // down is sent once it is back (and node-redis re-sends them all after a reconnect).
  #subscribeChannel(channel: string): void {
    const subscriber = this.#subscriber as Connection;
    const done = this.#sharded
      ? subscriber.sSubscribe(channel, this.#listener, true)
      : subscriber.subscribe(channel, this.#listener, true);
    done.catch((error: unknown) => this.#lost(error));
  }

  #unsubscribeChannel(channel: string): void {
    if (this.#closed) return;
    const subscriber = this.#subscriber as Connection;
    const done = this.#sharded
      ? subscriber.sUnsubscribe(channel, this.#listener, true)
      : subscriber.unsubscribe(channel, this.#listener, true);
    done.catch((error: unknown) => this.#lost(error));
  }
}
