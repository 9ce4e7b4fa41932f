#!/usr/bin/env node
// The Node pub/sub echo server (apps/echo/targets.json `node-pubsub`, see pubsub-cli.mjs):
//   node apps/echo/src/node-pubsub.mjs --port <port> [--deflate] [--redis <url>] [--workers <n>]
// With --workers, this process is a node:cluster primary whose n workers share the port (the
// primary accepts and hands connections round-robin); the Redis broker carries the fan-out
// between them. It imports the built packages (dist/): run `pnpm build` first.
import cluster from "node:cluster";
import process from "node:process";
import { WebSocketServer } from "@ws/node";
import { RedisBroker } from "@ws/redis";
import { ECHO_SERVER_OPTIONS, serveEcho } from "./echo.mjs";
import { runPubsubCli } from "./pubsub-cli.mjs";

/** Forks `count` workers running this script with `args`; resolves once all listen. */
async function fork(count, args) {
  cluster.setupPrimary({ args });
  const workers = Array.from({ length: count }, () => cluster.fork());
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("listening", resolve))));
  const stop = () => {
    for (const worker of workers) worker.process.kill("SIGTERM");
    Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("exit", resolve)))).finally(() =>
      process.exit(0),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

await runPubsubCli("@ws/node", { WebSocketServer, RedisBroker, serveEcho, ECHO_SERVER_OPTIONS }, { fork });
