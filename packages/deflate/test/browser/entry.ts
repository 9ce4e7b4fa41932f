/** The browser bundle: the engine-independent permessage-deflate tests, on the portable engine. */
import "../engine-contract.test.ts";
import "../permessage-deflate.test.ts";
import "../permessage-deflate.connection.test.ts";
import { runAll } from "./vitest-shim.ts";

(globalThis as { runTests?: typeof runAll }).runTests = runAll;
