import { describe, expect, it } from "vitest";
import { WebSocket } from "../src/index.ts";

describe("the Node adapter's WebSocket (WebIDL shape)", () => {
  it("WebSocket.length is 1, the one required argument (WebIDL §3.7.1)", () => {
    expect(WebSocket.length).toBe(1);
  });

  it("inherits the read-only constants and [object WebSocket] (WebIDL §3.7.4, §3.7.6)", () => {
    expect(WebSocket.OPEN).toBe(1);
    expect(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(WebSocket), "OPEN")?.writable).toBe(false);
    expect(Object.prototype.toString.call(WebSocket.prototype)).toBe("[object WebSocket]");
  });
});
