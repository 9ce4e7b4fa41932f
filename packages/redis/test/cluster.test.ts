/**
 * RedisBroker on a real Redis Cluster (three `redis-server --cluster-enabled yes` masters on
 * free loopback ports, joined with `redis-cli --cluster create`): sharded pub/sub
 * (`SSUBSCRIBE`/`SPUBLISH`, Redis 7) across the shards, each channel held by the shard that
 * owns its slot. Node only (the broker code is the same on Deno and Bun, tested in
 * broker.test.ts against one Redis with `sharded: true`).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBroker } from "../src/index.ts";
import { freePort, type RedisServer, RedisServer as Server } from "./redis-server.ts";
import { adapter, type Socket, type Server as WsServer } from "./runtime.ts";

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("RedisBroker on a Redis Cluster (sharded pub/sub)", () => {
  const nodes: RedisServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), "ws-redis-cluster-"));

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const node = new Server(port, [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--dir",
        dir,
      ]);
      await node.start();
      nodes.push(node);
    }
    execFileSync(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { stdio: "ignore", timeout: 30_000 },
    );
    // Wait until every node agrees the cluster is up.
    for (const node of nodes) {
      for (let i = 0; i < 200; i++) {
        const info = execFileSync("redis-cli", ["-p", String(node.port), "cluster", "info"], {
          encoding: "utf8",
        });
        if (info.includes("cluster_state:ok")) break;
        await tick(50);
      }
    }
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers across servers through the shards owning each topic's channel", async () => {
    const rootNodes = [{ url: nodes[0]?.url as string }];
    const servers: { server: WsServer; broker: RedisBroker; url: string }[] = [];
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const broker = new RedisBroker({ cluster: { rootNodes } });
        const server = new adapter.WebSocketServer({ port: 0, host: "127.0.0.1", broker });
        server.on("error", () => {});
        server.on("connection", (socket: Socket, request: unknown) => {
          const target = String((request as { url?: string }).url);
          socket.subscribe(target.slice(1));
        });
        await new Promise<void>((resolve) => server.once("listening", () => resolve()));
        await broker.connected();
        servers.push({
          server,
          broker,
          url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
        });
      }
      // Topics spread over slots, hence over the three shards.
      const topics = Array.from({ length: 12 }, (_, i) => `topic-${i}`);
      const received = new Map<string, unknown[]>();
      for (const topic of topics) {
        const socket = await adapter.connect(`${servers[1]?.url}/${topic}`);
        sockets.push(socket);
        const list: unknown[] = [];
        received.set(topic, list);
        socket.addEventListener("message", (event) => list.push((event as MessageEvent).data));
      }
      // Each channel is subscribed at the shard that owns it (SSUBSCRIBE).
      const held = async (): Promise<string[][]> =>
        Promise.all(
          nodes.map(async (node) => {
            const client = createClient({ url: node.url });
            client.on("error", () => {});
            await client.connect();
            try {
              return ((await client.sendCommand(["PUBSUB", "SHARDCHANNELS"])) as string[]).sort();
            } finally {
              client.destroy();
            }
          }),
        );
      let perNode: string[][] = [];
      for (let i = 0; i < 200; i++) {
        perNode = await held();
        if (perNode.flat().filter((name) => name.startsWith("ws:topic:")).length === topics.length) break;
        await tick(20);
      }
      expect(
        perNode
          .flat()
          .filter((name) => name.startsWith("ws:topic:"))
          .sort(),
      ).toEqual(topics.map((topic) => `ws:topic:${topic}`).sort());
      expect(
        perNode.filter((names) => names.some((name) => name.startsWith("ws:topic:"))).length,
      ).toBeGreaterThan(1);
      for (const topic of topics) expect(servers[0]?.server.publish(topic, `to ${topic}`)).toBe(0);
      for (let i = 0; i < 500 && [...received.values()].some((list) => list.length === 0); i++)
        await tick(10);
      await tick(100);
      for (const topic of topics) expect(received.get(topic)).toEqual([`to ${topic}`]);
    } finally {
      for (const socket of sockets) socket.close();
      for (const { server } of servers) await server.close(200);
    }
  });
});
