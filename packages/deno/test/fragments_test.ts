/** Messages in tiny fragments on Deno: the shared scenarios (tools/test-support/fragment-scenarios.ts). */
import { fragmentScenarios } from "../../../tools/test-support/fragment-scenarios.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

// The fair turns' first ticks are timers, while the loopback pair opens (src/after-io.ts;
// after_io_test.ts checks the ticks after that).
runSharedScenarios("tiny fragments", fragmentScenarios(true));
