import { describe, expect, it } from "vitest";
import { headerEntries, normalizeHeaders, trimOws } from "./headers.ts";

describe("headers", () => {
  it("normalizeHeaders reads a Node-style record with lower-case names and array values", () => {
    const map = normalizeHeaders({ host: "a.example", "x-multi": ["1", "2"], absent: undefined });
    expect(map.get("host")).toBe("a.example");
    expect(map.get("x-multi")).toBe("1, 2");
    expect(map.has("absent")).toBe(false);
  });

  it("normalizeHeaders lower-cases names and joins repeated fields in order", () => {
    const map = normalizeHeaders([
      ["Connection", "keep-alive"],
      ["Host", "a"],
      ["CONNECTION", "Upgrade"],
    ]);
    expect([...map]).toEqual([
      ["connection", "keep-alive, Upgrade"],
      ["host", "a"],
    ]);
  });

  it("normalizeHeaders reads any iterable of pairs, such as a Map", () => {
    const map = normalizeHeaders(new Map([["Upgrade", " websocket\t"]]));
    expect(map.get("upgrade")).toBe("websocket");
  });

  it("normalizeHeaders reads a record with mixed-case names", () => {
    expect(normalizeHeaders({ "Sec-WebSocket-Key": "k" }).get("sec-websocket-key")).toBe("k");
  });

  it("headerEntries keeps names as given and one entry per value", () => {
    expect(headerEntries({ "X-A": ["1", "2"], B: "3" })).toEqual([
      ["X-A", "1"],
      ["X-A", "2"],
      ["B", "3"],
    ]);
  });

  it("trimOws removes only SP and HTAB", () => {
    expect(trimOws(" \t a b \t ")).toBe("a b");
    expect(trimOws("\u00a0a\u00a0")).toBe("\u00a0a\u00a0");
    expect(trimOws("   ")).toBe("");
  });
});
