#!/usr/bin/env node
// The Node echo server of the contract in ARCHITECTURE.md (apps/echo/targets.json):
//   node apps/echo/src/node.mjs --port <port> [--deflate]
// It imports the built `@ws/node` (dist/): run `pnpm build` first.
import { startEchoServer } from "@ws/node";
import { runEchoCli } from "./echo-cli.mjs";

await runEchoCli("@ws/node", startEchoServer);
