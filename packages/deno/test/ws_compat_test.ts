/**
 * `@ws/node/ws` (the `ws`-compatible entry point) under Deno, on Deno's `node:http`, `node:net`
 * and `node:events`: the shared scenario (tools/test-support/ws-compat-scenarios.ts).
 */
import { expect } from "expect";
import {
  echoUpgradeCloseClientErrorAndHttpRoute,
  type WsModule,
} from "../../../tools/test-support/ws-compat-scenarios.ts";
import { test } from "./helpers.ts";

test("@ws/node/ws under Deno: echo, upgrade, close, wsClientError, and an HTTP route on one port", () =>
  echoUpgradeCloseClientErrorAndHttpRoute({
    expect,
    loadWs: async () => (await import("@ws/node/ws")) as unknown as WsModule,
  }));
