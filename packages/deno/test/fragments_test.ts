/** Messages in tiny fragments on Deno: the shared scenarios (tools/test-support/fragment-scenarios.ts). */
import { expect } from "expect";
import {
  type ScenarioServer,
  type ScenarioSocket,
  scenarios,
} from "../../../tools/test-support/fragment-scenarios.ts";
import { connect, WebSocketServer } from "../src/mod.ts";
import { test } from "./helpers.ts";

for (const [name, scenario] of Object.entries(scenarios)) {
  test(`tiny fragments: ${name}`, (defer) =>
    scenario({
      createServer: (options) => new WebSocketServer(options) as unknown as ScenarioServer,
      connect: async (url, options) => (await connect(url, options)) as unknown as ScenarioSocket,
      defer,
      expect,
    }));
}
