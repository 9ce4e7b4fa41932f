/** The server memory budget on Bun: the shared scenarios (tools/test-support/budget-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/budget-scenarios.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

runSharedScenarios("memory budget", scenarios, 60_000);
