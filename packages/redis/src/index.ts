/**
 * `@ws/redis`: a Redis pub/sub backplane for `@ws/node`, `@ws/deno` and `@ws/bun` servers
 * ({@link RedisBroker}), so that `server.publish(topic, data)` reaches the topic's subscribers
 * in every process and on every machine.
 *
 * @module
 */
export { RedisBroker, type RedisBrokerOptions } from "./redis-broker.ts";
