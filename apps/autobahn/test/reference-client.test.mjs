// Client mode (fuzzing server) against a reference echo client built on `ws`.

import { describe, expect, it } from "vitest";
import { explain, idsWith, runFixtureClient } from "./helpers.mjs";

describe("client mode against the ws reference echo client", () => {
  it("passes every case (quick profile), NON-STRICT only for UTF-8 fail-fast", async () => {
    const results = await runFixtureClient("ws-client");
    expect(results.size).toBeGreaterThan(300);
    expect(idsWith(results, "FAILED"), explain(results, "FAILED")).toEqual([]);
    expect(idsWith(results, "NON-STRICT").sort()).toEqual(["6.4.1", "6.4.2", "6.4.3", "6.4.4"]);
    // Server-only families are not part of client mode.
    expect([...results.keys()].some((id) => id.startsWith("H.") || id.startsWith("R."))).toBe(false);
  });
});
