/** Observability on Deno: the shared scenarios (tools/test-support/observe-scenarios.ts). */

import { expect } from "expect";
import {
  type Adapter,
  type ScenarioServer,
  type ScenarioSocket,
  scenarios,
} from "../../../tools/test-support/observe-scenarios.ts";
import { connect, observe, WebSocketServer } from "../src/mod.ts";
import { test } from "./helpers.ts";

for (const [name, scenario] of Object.entries(scenarios)) {
  test(`observability: ${name}`, (defer) =>
    scenario({
      expect,
      createServer: (options) => new WebSocketServer(options) as unknown as ScenarioServer,
      connect: async (url, options) => (await connect(url, options)) as unknown as ScenarioSocket,
      observe: observe as Adapter["observe"],
      defer,
    }));
}
