/** The README's state diagram is the output of transitionsAsMermaid(), so it cannot drift. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { transitionsAsMermaid } from "../src/connection/states.ts";
import { computeAcceptKey } from "../src/handshake/index.ts";
import { HANDSHAKE_SAMPLE } from "./vectors/rfc6455.ts";

describe("README", () => {
  it("shows the state diagram generated from TRANSITIONS", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(`\`\`\`mermaid\n${transitionsAsMermaid()}\n\`\`\``);
  });
});

describe("RFC 6455 §1.3 handshake vector", () => {
  it("computes the sample Sec-WebSocket-Accept", () => {
    expect(computeAcceptKey(HANDSHAKE_SAMPLE.key)).toBe(HANDSHAKE_SAMPLE.accept);
  });
});
