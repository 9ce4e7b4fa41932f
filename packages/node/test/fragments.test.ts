/** Messages in tiny fragments on Node: the shared scenarios (tools/test-support/fragment-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/fragment-scenarios.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

runSharedScenarios("tiny fragments", scenarios, 60_000);
