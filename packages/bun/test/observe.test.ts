/** Observability on Bun: the shared scenarios (tools/test-support/observe-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/observe-scenarios.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

runSharedScenarios("observability", scenarios, 30_000);
