#!/usr/bin/env node
// The Node echo server of the contract in ARCHITECTURE.md (apps/echo/targets.json):
//   node apps/echo/src/node.mjs --port <port> [--deflate]
// It imports the built `@ws/node` (dist/): run `pnpm build` first.
import { WebSocketServer } from "@ws/node";
import { startEchoServer } from "./echo.mjs";
import { runEchoCli } from "./echo-cli.mjs";

await runEchoCli("@ws/node", (options) => startEchoServer(WebSocketServer, options));
