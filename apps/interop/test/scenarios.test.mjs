// The suite checks itself: its payload helpers, and that each scenario fails against a server
// with the matching fault (an in-process `ws` server that breaks one rule), so a green matrix
// means something.
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { checksum, makeBytes, makeText, runScenarios, SIZES, scenarioNames } from "../src/scenarios.mjs";

describe("payload helpers", () => {
  it("makeText gives exactly the requested UTF-8 size, with multi-byte characters", () => {
    for (const size of [0, 1, 9, 10, 11, 125, 126, 65535, 65536]) {
      expect(new TextEncoder().encode(makeText(size)).byteLength).toBe(size);
    }
    expect(makeText(40)).toMatch(/😀/);
  });

  it("makeBytes is deterministic and the checksum sees a one-bit change anywhere", () => {
    const a = makeBytes(65537);
    expect(checksum(a)).toBe(checksum(makeBytes(65537)));
    for (const at of [0, 1, 4095, 65536]) {
      const b = a.slice();
      b[at] = /** @type {number} */ (b[at]) ^ 1;
      expect(checksum(b)).not.toBe(checksum(a));
    }
    expect(checksum(makeBytes(126))).not.toBe(checksum(makeBytes(125)));
  });

  it("covers the frame-length edges", () => {
    expect(SIZES).toEqual([0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20]);
    expect(scenarioNames()).toContain("binary-16MiB");
  });
});

/** @type {WebSocketServer | undefined} */
let wss;
afterEach(async () => {
  for (const ws of wss?.clients ?? []) ws.terminate();
  await new Promise((resolve) => (wss ? wss.close(() => resolve(undefined)) : resolve(undefined)));
  wss = undefined;
});

/** A `ws` echo server with one fault, on a free port; resolves with its URL. */
async function faultyServer(fault) {
  wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    handleProtocols: (protocols) => {
      const list = [...protocols].filter((p) => p === "chat" || p === "superchat");
      if (fault === "last-protocol") return list.at(-1) ?? false;
      return list[0] ?? false;
    },
  });
  wss.on("connection", (ws, req) => {
    ws.on("error", () => {});
    if (req.url?.startsWith("/close")) {
      if (fault === "server-close-1000") ws.close(1000);
      else if (fault === "server-close-abrupt") ws.terminate();
      else ws.close(4001, "server bye");
      return;
    }
    ws.on("message", (data, isBinary) => {
      const bytes = /** @type {Buffer} */ (data);
      if (fault === "drop-last-byte" && isBinary && bytes.length > 0) ws.send(bytes.subarray(0, -1));
      else if (fault === "flip-a-byte" && isBinary && bytes.length > 1000) {
        bytes[bytes.length >> 1] = /** @type {number} */ (bytes[bytes.length >> 1]) ^ 0x80;
        ws.send(bytes, { binary: true });
      } else if (fault === "text-as-binary" && !isBinary) ws.send(bytes, { binary: true });
      else if (fault === "drop-every-100th" && /^m\d*00$/.test(bytes.toString())) {
        // swallowed
      } else if (fault === "no-echo-over-64k" && bytes.length > 65536) {
        // swallowed: the scenario must time out rather than hang
      } else ws.send(bytes, { binary: isBinary });
    });
    if (fault === "close-reason-dropped") {
      // Answer a close with 1000 and no reason instead of echoing.
      // (reaching into ws's receiver, which has no public hook for this)
      const receiver = /** @type {any} */ (ws)._receiver;
      receiver.removeAllListeners("conclude");
      receiver.on("conclude", () => ws.close(1000));
    }
  });
  await new Promise((resolve) => wss?.on("listening", resolve));
  const { port } = /** @type {import("node:net").AddressInfo} */ (wss.address());
  return `ws://127.0.0.1:${port}`;
}

async function failing(fault, only, timeoutScale = 1) {
  const url = await faultyServer(fault);
  const results = await runScenarios({ WebSocket, url, only, timeoutScale });
  return Object.fromEntries(results.map((r) => [r.name, r.ok ? "ok" : r.detail]));
}

describe("the scenarios catch a faulty server", () => {
  it("a truncated binary echo", async () => {
    const got = await failing("drop-last-byte", ["binary-0", "binary-1", "binary-126"]);
    expect(got["binary-0"]).toBe("ok");
    expect(got["binary-1"]).toMatch(/0 bytes for 1 sent/);
    expect(got["binary-126"]).toMatch(/125 bytes for 126 sent/);
  });

  it("a corrupted binary echo of the same length", async () => {
    const got = await failing("flip-a-byte", ["binary-65536"]);
    expect(got["binary-65536"]).toMatch(/checksum/);
  });

  it("text echoed as binary", async () => {
    const got = await failing("text-as-binary", ["text-1"]);
    expect(got["text-1"]).toMatch(/expected a string, got ArrayBuffer/);
  });

  it("lost messages in a burst", async () => {
    const got = await failing("drop-every-100th", ["many-small-in-order"]);
    expect(got["many-small-in-order"]).toMatch(/message 100: got "m101"/);
  });

  it("a missing echo times out", async () => {
    const got = await failing("no-echo-over-64k", ["text-65536", "text-1MiB"], 0.05);
    expect(got["text-65536"]).toBe("ok");
    expect(got["text-1MiB"]).toMatch(/timed out .*waiting for the echo/);
  });

  it("the wrong subprotocol", async () => {
    const got = await failing("last-protocol", ["subprotocol-superchat", "subprotocol-fallback-chat"]);
    expect(got["subprotocol-superchat"]).toMatch(/protocol is "chat", expected "superchat"/);
    expect(got["subprotocol-fallback-chat"]).toBe("ok");
  });

  it("a close reason that is not echoed", async () => {
    const got = await failing("close-reason-dropped", ["close-client-4000"]);
    expect(got["close-client-4000"]).toMatch(
      /close event code 1000, reason "".*expected code 4000, reason "bye ✓"/,
    );
  });

  it("a server-initiated close with the wrong code, or none", async () => {
    expect((await failing("server-close-1000", ["close-server-4001"]))["close-server-4001"]).toMatch(
      /code 1000.*expected code 4001/,
    );
    await new Promise((resolve) => (wss ? wss.close(() => resolve(undefined)) : resolve(undefined)));
    expect((await failing("server-close-abrupt", ["close-server-4001"]))["close-server-4001"]).toMatch(
      /code 1006.*wasClean false/,
    );
  });
});
