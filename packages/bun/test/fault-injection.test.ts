/** Fault injection with real sockets on loopback on Bun: the shared scenarios (tools/test-support/fault-scenarios.ts). */
import { clientScenarios, serverScenarios } from "../../../tools/test-support/fault-scenarios.ts";
import { runSharedScenarios } from "./shared-scenarios.ts";

runSharedScenarios("fault injection, real sockets (server side)", serverScenarios, 30_000);
runSharedScenarios("fault injection, real sockets (client side)", clientScenarios, 30_000);
