// The runner must catch deliberately broken peers, on exactly the right cases.

import { describe, expect, it } from "vitest";
import { allCases } from "../src/cases/index.mjs";
import { explain, idsWith, runFixtureClient, runFixtureServer } from "./helpers.mjs";

/** 6.x cases that send invalid UTF-8 (their descriptions say so). */
const invalidUtf8 = allCases()
  .filter(
    (c) =>
      c.id.startsWith("6.") &&
      (c.id.startsWith("6.3.") || c.id.startsWith("6.4.") || c.description.includes("invalid, expect")),
  )
  .map((c) => c.id);

describe("broken peers", () => {
  it("ws server with skipUTF8Validation: FAILED on every invalid UTF-8 case and 7.5.1, OK elsewhere", async () => {
    const results = await runFixtureServer("ws-broken-utf8", { cases: "6.*,7.5.1,7.7.*" });
    expect(invalidUtf8.length).toBeGreaterThan(70);
    expect(idsWith(results, "FAILED").sort()).toEqual([...invalidUtf8, "7.5.1"].sort());
    const others = [...results.values()].filter((r) => !invalidUtf8.includes(r.id) && r.id !== "7.5.1");
    expect(others.filter((r) => r.verdict !== "OK").map((r) => `${r.id} ${r.verdict}: ${r.reason}`)).toEqual(
      [],
    );
  });

  it("raw server that validates nothing: FAILED on RSV, opcodes, bad close frames; OK on valid closes", async () => {
    const results = await runFixtureServer("raw-broken", { cases: "1.1.1,3.*,4.*,7.*" });
    const failedIds = idsWith(results, "FAILED");
    for (const id of [...results.keys()]) {
      if (
        id.startsWith("3.") ||
        id.startsWith("4.") ||
        id.startsWith("7.9.") ||
        ["7.3.2", "7.3.6", "7.5.1"].includes(id)
      ) {
        expect(failedIds, `${id} should be FAILED`).toContain(id);
      }
    }
    expect(
      failedIds.filter((id) => id.startsWith("7.7.")),
      explain(results, "FAILED"),
    ).toEqual([]);
    expect(results.get("1.1.1")?.verdict).toBe("OK");
    expect(results.get("7.1.1")?.verdict).toBe("OK");
    expect(results.get("7.9.1")?.reason).toMatch(/invalid code 0/);
  });

  it("ws client with skipUTF8Validation: FAILED on invalid UTF-8, OK on valid UTF-8", async () => {
    const results = await runFixtureClient("ws-client", {
      cases: "6.2.*,6.3.*,6.12.*",
      extraArgs: "--broken-utf8",
    });
    expect(idsWith(results, "FAILED").sort()).toEqual(
      invalidUtf8.filter((id) => /^6\.(3|12)\./.test(id)).sort(),
    );
    expect(idsWith(results, "OK").sort()).toEqual(["6.2.1", "6.2.2", "6.2.3", "6.2.4"]);
  });
});
