/** Observability on Node: the shared scenarios (tools/test-support/observe-scenarios.ts). */
import { afterEach, describe, expect, it } from "vitest";
import {
  type Adapter,
  type ScenarioServer,
  type ScenarioSocket,
  scenarios,
} from "../../../tools/test-support/observe-scenarios.ts";
import { connect, observe, WebSocketServer } from "../src/index.ts";
import { cleanup, defer } from "./helpers.ts";

afterEach(cleanup);

const adapter: Adapter = {
  expect,
  createServer: (options) => new WebSocketServer(options) as unknown as ScenarioServer,
  connect: async (url, options) => (await connect(url, options)) as unknown as ScenarioSocket,
  observe: observe as Adapter["observe"],
  defer,
};

describe("observability", () => {
  for (const [name, scenario] of Object.entries(scenarios)) it(name, () => scenario(adapter), 30_000);
});
