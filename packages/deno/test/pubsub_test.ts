/** Pub/sub on Deno: the shared scenarios (tools/test-support/pubsub-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/pubsub-scenarios.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

runSharedScenarios("pub/sub", scenarios);
