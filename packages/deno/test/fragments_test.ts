/** Messages in tiny fragments on Deno: the shared scenarios (tools/test-support/fragment-scenarios.ts). */
import { fragmentScenarios } from "../../../tools/test-support/fragment-scenarios.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

// The fair turns' tick is the session's default timer (Deno's immediates hold I/O back).
runSharedScenarios("tiny fragments", fragmentScenarios(true));
