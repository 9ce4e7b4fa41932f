/** Pub/sub on Node: the shared scenarios (tools/test-support/pubsub-scenarios.ts). */
import { scenarios } from "../../../tools/test-support/pubsub-scenarios.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

runSharedScenarios("pub/sub", scenarios, 30_000);
