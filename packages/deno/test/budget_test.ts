/** The server memory budget on Deno: the shared scenarios (tools/test-support/budget-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/budget-scenarios.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

runSharedScenarios("memory budget", scenarios);
