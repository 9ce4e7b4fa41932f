import { describe, expect, it } from "vitest";
import { WebSocket } from "../src/index.ts";

// WebSocket.length (WebIDL §3.7.1) is checked by basics-scenarios.ts (basics.test.ts).
describe("the Node adapter's WebSocket (WebIDL shape)", () => {
  it("inherits the read-only constants and [object WebSocket] (WebIDL §3.7.4, §3.7.6)", () => {
    expect(WebSocket.OPEN).toBe(1);
    expect(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(WebSocket), "OPEN")?.writable).toBe(false);
    expect(Object.prototype.toString.call(WebSocket.prototype)).toBe("[object WebSocket]");
  });
});
