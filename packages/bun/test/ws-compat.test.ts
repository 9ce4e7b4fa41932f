/**
 * `@ws/node/ws` (the `ws`-compatible entry point) under Bun, on Bun's `node:http`, `node:net` and
 * `node:events`: the shared scenario (tools/test-support/ws-compat-scenarios.ts).
 */
import { expect, it } from "bun:test";
import {
  echoUpgradeCloseClientErrorAndHttpRoute,
  type WsModule,
} from "../../../tools/test-support/ws-compat-scenarios.ts";

it("@ws/node/ws under Bun: echo, upgrade, close, wsClientError, and an HTTP route on one port", () =>
  echoUpgradeCloseClientErrorAndHttpRoute({
    expect,
    loadWs: async () => (await import("@ws/node/ws")) as unknown as WsModule,
  }));
