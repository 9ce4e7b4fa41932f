#!/usr/bin/env node
// The Node pub/sub echo server (apps/echo/targets.json `node-pubsub`, see pubsub-cli.mjs):
//   node apps/echo/src/node-pubsub.mjs --port <port> [--deflate] [--redis <url>] [--workers <n>]
// With --workers, this process is a node:cluster primary whose n workers share the port (the
// primary accepts and hands connections round-robin to the workers that listen); the Redis broker
// carries the fan-out between them. The primary prints its listening line only once every
// worker listens and has its broker connected: a connection accepted while a worker is still
// starting goes to the others and stays there. It imports the built packages (dist/): run
// `pnpm build` first.
import cluster from "node:cluster";
import process from "node:process";
import { WebSocketServer } from "@ws/node";
import { RedisBroker } from "@ws/redis";
import { ECHO_SERVER_OPTIONS, serveEcho } from "./echo.mjs";
import { runPubsubCli } from "./pubsub-cli.mjs";

/** The message a worker sends its primary once it listens and its broker is connected. */
const READY = "node-pubsub ready";

/** Forks `count` workers running this script with `args`; resolves once every one is ready. */
async function fork(count, args) {
  cluster.setupPrimary({ args });
  const workers = Array.from({ length: count }, () => cluster.fork());
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise((resolve) => {
          const early = (code) => {
            console.error(`node-pubsub: worker ${worker.process.pid} exited (${code}) before it was ready`);
            process.exit(1);
          };
          worker.once("exit", early);
          worker.on("message", (message) => {
            if (message !== READY) return;
            worker.off("exit", early);
            resolve();
          });
        }),
    ),
  );
  const stop = () => {
    for (const worker of workers) worker.process.kill("SIGTERM");
    Promise.all(workers.map((worker) => new Promise((resolve) => worker.once("exit", resolve)))).finally(() =>
      process.exit(0),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

await runPubsubCli(
  "@ws/node",
  { WebSocketServer, RedisBroker, serveEcho, ECHO_SERVER_OPTIONS },
  cluster.isWorker ? { ready: () => process.send?.(READY) } : { fork },
);
