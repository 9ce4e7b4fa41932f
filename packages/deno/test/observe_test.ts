/** Observability on Deno: the shared scenarios (tools/test-support/observe-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/observe-scenarios.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

runSharedScenarios("observability", scenarios);
