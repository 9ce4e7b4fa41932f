// Stop any target a timed-out test left running (each run also stops its own in `finally`).
import { afterAll } from "vitest";
import { stopAllTargets } from "../src/process.mjs";

afterAll(async () => {
  await stopAllTargets();
});
