/** Messages in tiny fragments on Node: the shared scenarios (tools/test-support/fragment-scenarios.ts). */
import { afterEach, describe, expect, it } from "vitest";
import {
  type Adapter,
  type ScenarioServer,
  type ScenarioSocket,
  scenarios,
} from "../../../tools/test-support/fragment-scenarios.ts";
import { connect, WebSocketServer } from "../src/index.ts";
import { cleanup, defer } from "./helpers.ts";

afterEach(cleanup);

const adapter: Adapter = {
  createServer: (options) => new WebSocketServer(options) as unknown as ScenarioServer,
  connect: async (url, options) => (await connect(url, options)) as unknown as ScenarioSocket,
  defer,
  expect,
};

describe("tiny fragments", () => {
  for (const [name, scenario] of Object.entries(scenarios)) it(name, () => scenario(adapter), 60_000);
});
