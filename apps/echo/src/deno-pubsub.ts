// The Deno pub/sub echo server (apps/echo/targets.json `deno-pubsub`, see pubsub-cli.mjs), run
// from the TypeScript sources (no build). --reuse-port (SO_REUSEPORT, Linux) needs Deno's
// --unstable-net: start the command n times on one port, with --redis for the fan-out.

import { WebSocketServer } from "../../../packages/deno/src/mod.ts";
import { RedisBroker } from "../../../packages/redis/src/index.ts";
import { ECHO_SERVER_OPTIONS, serveEcho } from "./echo.mjs";
import { runPubsubCli } from "./pubsub-cli.mjs";

await runPubsubCli("@ws/deno", { WebSocketServer, RedisBroker, serveEcho, ECHO_SERVER_OPTIONS });
