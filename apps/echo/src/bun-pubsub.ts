// The Bun pub/sub echo server (apps/echo/targets.json `bun-pubsub`, see pubsub-cli.mjs), run
// from the TypeScript sources (no build). --reuse-port (SO_REUSEPORT): start the command n times
// on one port, with --redis for the fan-out.
import { WebSocketServer } from "../../../packages/bun/src/index.ts";
import { RedisBroker } from "../../../packages/redis/src/index.ts";
import { ECHO_SERVER_OPTIONS, serveEcho } from "./echo.mjs";
import { runPubsubCli } from "./pubsub-cli.mjs";

await runPubsubCli("@ws/bun", { WebSocketServer, RedisBroker, serveEcho, ECHO_SERVER_OPTIONS });
