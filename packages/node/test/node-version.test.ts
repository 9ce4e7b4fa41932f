import { describe, expect, it } from "vitest";
import { checkNodeVersion, MINIMUM_NODE_VERSION } from "../src/node-version.ts";

describe("Node.js version check", () => {
  it("accepts the engines range (>= 20.19)", () => {
    for (const version of [MINIMUM_NODE_VERSION, "20.19.5", "20.20.0", "22.0.0", "24.1.0", "25.0.0"]) {
      expect(() => checkNodeVersion(version)).not.toThrow();
    }
  });

  it("rejects older versions with a message naming both versions", () => {
    for (const version of ["20.18.3", "20.0.0", "18.20.4", "16.0.0"]) {
      expect(() => checkNodeVersion(version)).toThrow(
        new RegExp(`needs Node\\.js >= 20\\.19\\.0 .*this is Node\\.js ${version.replaceAll(".", "\\.")}`),
      );
    }
  });

  it("passes on the Node.js running these tests (the module checked it when imported)", () => {
    expect(() => checkNodeVersion()).not.toThrow();
  });
});
