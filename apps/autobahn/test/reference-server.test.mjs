// The runner against a reference echo server built on `ws` (which publishes a full Autobahn
// pass): no case may be FAILED, and NON-STRICT only where ws is known to be non-strict.

import { describe, expect, it } from "vitest";
import { explain, idsWith, runFixtureServer } from "./helpers.mjs";

// ws validates UTF-8 when a message is complete (6.4.x fail-fast), accepts the hybi-10 draft
// version 8 and rejects unknown versions with 400 instead of 426 (H.4.x), and answers a 64-bit
// length with the MSB set with 1009 instead of 1002 (R.1.2).
const WS_NON_STRICT = ["6.4.1", "6.4.2", "6.4.3", "6.4.4", "H.4.1", "H.4.2", "R.1.2"];

describe("server mode against the ws reference echo server", () => {
  it("passes every case (quick profile), NON-STRICT only where ws is known non-strict", async () => {
    const results = await runFixtureServer("ws");
    expect(results.size).toBeGreaterThan(300);
    expect(idsWith(results, "FAILED"), explain(results, "FAILED")).toEqual([]);
    expect(idsWith(results, "NON-STRICT").sort()).toEqual([...WS_NON_STRICT].sort());
    expect(idsWith(results, "UNIMPLEMENTED")).toEqual([]);
    // Without --deflate the compression families are not run at all.
    expect([...results.keys()].some((id) => id.startsWith("12.") || id.startsWith("13."))).toBe(false);
    // Performance cases report timings.
    expect(results.get("9.1.6")?.verdict).toBe("INFORMATIONAL");
  });

  it("passes the permessage-deflate families with --deflate", async () => {
    const results = await runFixtureServer("ws", { deflate: true, cases: "12.*,13.*,R.4.*" });
    expect(results.size).toBeGreaterThan(120);
    expect(idsWith(results, "FAILED"), explain(results, "FAILED")).toEqual([]);
    expect(idsWith(results, "NON-STRICT"), explain(results, "NON-STRICT")).toEqual([]);
    expect(idsWith(results, "UNIMPLEMENTED")).toEqual([]);
    expect(results.get("R.4.1")?.verdict).toBe("OK");
  });

  it("reports compression as UNIMPLEMENTED, not FAILED, when the server does not negotiate it", async () => {
    // The raw fixture ignores --deflate and never accepts an extension offer.
    const results = await runFixtureServer("raw-broken", { deflate: true, cases: "12.1.1,13.1.1,R.4.1" });
    expect(idsWith(results, "UNIMPLEMENTED").sort()).toEqual(["12.1.1", "13.1.1", "R.4.1"]);
  });
});
