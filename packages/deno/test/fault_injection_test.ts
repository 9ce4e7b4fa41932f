/** Fault injection with real sockets on loopback on Deno: the shared scenarios (tools/test-support/fault-scenarios.ts). */
import { clientScenarios, serverScenarios } from "../../../tools/test-support/fault-scenarios.ts";
import { runSharedScenarios } from "./shared_scenarios.ts";

runSharedScenarios("fault injection (server)", serverScenarios);
runSharedScenarios("fault injection (client)", clientScenarios);
