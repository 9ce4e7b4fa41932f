/** Messages in tiny fragments on Deno: the shared scenarios (tools/test-support/fragment-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/fragment-scenarios.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

runSharedScenarios("tiny fragments", scenarios);
