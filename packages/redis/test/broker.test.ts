/**
 * RedisBroker against a real redis-server (started here on a free loopback port, no
 * persistence), on the runtime the suite runs on (Node, Deno or Bun, each with its adapter).
 * Several servers in this process, each with its own broker and connections, stand for several
 * processes: Redis cannot tell them apart. (Separate processes: apps/echo's pubsub targets and
 * the cluster test.)
 */
import { createClient } from "@redis/client";
import { BrokerError } from "@ws/session";
import { afterEach, describe, expect, it } from "vitest";
import { RedisBroker, type RedisBrokerOptions } from "../src/index.ts";
import { type RedisServer, startRedis } from "./redis-server.ts";
import { adapter, runtime, type Server, type Socket } from "./runtime.ts";

const cleanups: (() => unknown)[] = [];
function defer<T>(value: T, close: (value: T) => unknown): T {
  cleanups.push(() => close(value));
  return value;
}
afterEach(async () => {
  while (cleanups.length > 0) {
    try {
      await (cleanups.pop() as () => unknown)();
    } catch {
      // Already closed.
    }
  }
});

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (let waited = 0; !check() && waited < ms; waited += 10) await tick(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

interface Node {
  server: Server;
  broker: RedisBroker;
  url: string;
  errors: Error[];
}

/** A server with its own RedisBroker; sockets subscribe to the topic their path names. */
async function node(redis: RedisServer, options: RedisBrokerOptions = {}): Promise<Node> {
  const broker = new RedisBroker({
    url: redis.url,
    reconnect: { initialDelay: 20, maxDelay: 200 },
    ...options,
  });
  const server = defer(new adapter.WebSocketServer({ port: 0, host: "127.0.0.1", broker }), (s) =>
    s.close(200),
  );
  const errors: Error[] = [];
  server.on("error", (error: Error) => errors.push(error));
  server.on("connection", (socket: Socket, request: unknown) => {
    const target = String((request as { url?: string }).url ?? (request as { target: string }).target);
    const match = /^\/topic\/(.+)$/.exec(target);
    if (match !== null) socket.subscribe(decodeURIComponent(match[1] as string));
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as { port: number };
  return { server, broker, url: `ws://127.0.0.1:${port}`, errors };
}

/** A client of `url` and the messages it receives. */
async function client(url: string): Promise<{ socket: Socket; received: unknown[] }> {
  const socket = defer(await adapter.connect(url), (s) => s.close());
  socket.binaryType = "uint8array";
  const received: unknown[] = [];
  socket.addEventListener("message", (event) => received.push((event as MessageEvent).data));
  return { socket, received };
}

/** The channels Redis has subscribers for (`PUBSUB CHANNELS` or `SHARDCHANNELS`). */
async function channels(redis: RedisServer, sharded = false): Promise<string[]> {
  const admin = createClient({ url: redis.url });
  admin.on("error", () => {});
  await admin.connect();
  try {
    const list = (await admin.sendCommand(["PUBSUB", sharded ? "SHARDCHANNELS" : "CHANNELS"])) as string[];
    return list.sort();
  } finally {
    admin.destroy();
  }
}

describe(`RedisBroker on ${runtime}`, () => {
  for (const sharded of [false, true]) {
    it(`${sharded ? "sharded (SPUBLISH/SSUBSCRIBE)" : "PUBLISH/SUBSCRIBE"}: a message published on any server reaches the subscribers on every server once, in publish order`, async () => {
      const redis = defer(await startRedis(), (r) => r.stop());
      const [one, two] = [await node(redis, { sharded }), await node(redis, { sharded })];
      await Promise.all([one.broker.connected(), two.broker.connected()]);
      const a = await client(`${one.url}/topic/room`);
      const b = await client(`${two.url}/topic/room`);
      const c = await client(`${two.url}/topic/elsewhere`);
      await until(
        () => two.server.subscriberCount("room") === 1 && one.server.subscriberCount("room") === 1,
        "subscriptions",
      );
      // Each server subscribes in Redis to the topics its sockets hold, and the broadcast channel.
      let held: string[] = [];
      for (let i = 0; i < 100 && held.length < 3; i++) {
        held = await channels(redis, sharded);
        await tick(20);
      }
      expect(held).toEqual(["ws:broadcast", "ws:topic:elsewhere", "ws:topic:room"]);
      for (let i = 0; i < 50; i++) expect(one.server.publish("room", `m${i}`)).toBe(1);
      expect(two.server.publish("room", new Uint8Array([1, 2, 3]))).toBe(1);
      expect(one.server.broadcast("all")).toBe(1);
      const expected = Array.from({ length: 50 }, (_, i) => `m${i}`);
      await until(
        () => b.received.length >= 51 && a.received.length >= 52 && c.received.length >= 1,
        "delivery",
      );
      await tick(100); // anything duplicated would have arrived by now
      // Publish order holds per publisher (server one's strings; server two's bytes).
      for (const { received } of [a, b]) {
        expect(received.filter((data) => typeof data === "string")).toEqual([...expected, "all"]);
        expect(received.filter((data) => typeof data !== "string")).toEqual([new Uint8Array([1, 2, 3])]);
      }
      expect(c.received).toEqual(["all"]);
      // The last socket of a topic leaving unsubscribes its server in Redis.
      c.socket.close();
      await until(() => two.server.subscriberCount("elsewhere") === 0, "the socket to leave");
      for (let i = 0; i < 100 && held.length !== 2; i++) {
        held = await channels(redis, sharded);
        await tick(20);
      }
      expect(held).toEqual(["ws:broadcast", "ws:topic:room"]);
      expect(one.errors).toEqual([]);
    });
  }

  it("survives Redis stopping and coming back: publish throws BROKER_UNAVAILABLE meanwhile, then delivery resumes without duplicates", async () => {
    const redis = defer(await startRedis(), (r) => r.stop());
    const [one, two] = [await node(redis), await node(redis)];
    await Promise.all([one.broker.connected(), two.broker.connected()]);
    const a = await client(`${one.url}/topic/t`);
    const b = await client(`${two.url}/topic/t`);
    await tick(100);
    one.server.publish("t", "before");
    await until(() => b.received.length === 1, "the first message");

    await redis.stop();
    await until(() => !one.broker.ready, "the broker to notice");
    // `ready` turns false when either of the broker's two connections notices; publishing
    // checks the publishing one, which may notice a moment later (seen once on Deno under load).
    await tick(200);
    let thrown: unknown;
    try {
      one.server.publish("t", "while down");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BrokerError);
    expect((thrown as BrokerError).code).toBe("BROKER_UNAVAILABLE");
    // Nothing was delivered, not even locally: the publisher knows it failed.
    expect(a.received).toEqual(["before"]);
    // The loss was reported once on each server's 'error' event; nothing crashed.
    await until(() => one.errors.length > 0 && two.errors.length > 0, "error events");
    expect((one.errors[0] as BrokerError).code).toBe("BROKER_CONNECTION_LOST");
    // A socket subscribing while Redis is down is subscribed in Redis once it is back.
    const late = await client(`${two.url}/topic/late`);
    await tick(300); // a few reconnect attempts

    await redis.start();
    await until(() => one.broker.ready && two.broker.ready, "reconnection");
    await tick(200); // node-redis re-subscribes after its ready event
    one.server.publish("t", "after");
    one.server.publish("late", "to the late one");
    await until(() => b.received.length === 2 && late.received.length === 1, "delivery after the restart");
    await tick(200);
    expect(b.received).toEqual(["before", "after"]);
    expect(a.received).toEqual(["before", "after"]);
    expect(late.received).toEqual(["to the late one"]);
    expect(one.errors.length).toBeLessThanOrEqual(2); // one report per outage and connection at most
  });

  it("starts with Redis down: publishes fail until it is up, subscriptions made meanwhile take effect", async () => {
    const redis = defer(await startRedis(), (r) => r.stop());
    await redis.stop();
    const [one, two] = [await node(redis), await node(redis)];
    const b = await client(`${two.url}/topic/t`);
    expect(() => one.server.publish("t", "too early")).toThrow(BrokerError);
    await tick(200);
    expect(one.errors.length).toBe(1);
    await redis.start();
    await Promise.all([one.broker.connected(), two.broker.connected()]);
    await tick(200);
    expect(one.server.publish("t", "now")).toBe(0);
    await until(() => b.received.length === 1, "delivery");
    expect(b.received).toEqual(["now"]);
  });

  it("checks its options", () => {
    expect(() => new RedisBroker({ uri: "redis://x" } as RedisBrokerOptions)).toThrow(/unknown option uri/);
    expect(() => new RedisBroker({ url: "redis://x", cluster: { rootNodes: [] } })).toThrow(TypeError);
    const broker = new RedisBroker({ url: "redis://127.0.0.1:1" });
    const link = broker.attach({ deliver() {}, error() {} });
    expect(() => broker.attach({ deliver() {}, error() {} })).toThrow(/one server/);
    return link.detach();
  });
});
