/** Messages in tiny fragments on Bun: the shared scenarios (tools/test-support/fragment-scenarios.ts). */
import { fragmentScenarios } from "../../../tools/test-support/fragment-scenarios.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

// The fair turns' tick is the transport's `setImmediate`, not a timer.
runSharedScenarios("tiny fragments", fragmentScenarios(false), 60_000);
