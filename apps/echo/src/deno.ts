// The Deno echo server of the contract in ARCHITECTURE.md (apps/echo/targets.json), run from
// the TypeScript sources (no build):
//   node_modules/deno/deno run --conditions=@ws/source --allow-net=127.0.0.1 apps/echo/src/deno.ts --port <port> [--deflate]
import { WebSocketServer } from "../../../packages/deno/src/mod.ts";
import { startEchoServer } from "./echo.mjs";
import { runEchoCli } from "./echo-cli.mjs";

await runEchoCli("@ws/deno", (options) => startEchoServer(WebSocketServer, options));
