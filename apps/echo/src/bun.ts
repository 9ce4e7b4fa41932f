// The Bun echo server of the contract in ARCHITECTURE.md (apps/echo/targets.json), run from
// the TypeScript sources (no build):
//   node_modules/bun/bin/bun.exe --conditions=@ws/source apps/echo/src/bun.ts --port <port> [--deflate]
import { WebSocketServer } from "../../../packages/bun/src/index.ts";
import { startEchoServer } from "./echo.mjs";
import { runEchoCli } from "./echo-cli.mjs";

await runEchoCli("@ws/bun", (options) => startEchoServer(WebSocketServer, options));
