/**
 * The diagnostics channels (issue 12, "Observable"): the runtime-neutral `observe()` hook, its
 * binding to `node:diagnostics_channel`, and a subscriber that throws. What the servers publish
 * is checked with real sockets on each runtime (tools/test-support/observe-scenarios.ts).
 */
import { describe, expect, it } from "vitest";
import {
  bindDiagnosticsChannels,
  channels,
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsChannelModule,
  observe,
} from "./diagnostics.ts";

// The session's own types have no node:* modules (it stays runtime-neutral); Node, Deno and Bun,
// which run these tests, all provide this one.
const moduleName = "node:diagnostics_channel";
const diagnosticsChannel = (await import(moduleName)) as DiagnosticsChannelModule & {
  hasSubscribers(name: string): boolean;
};

const message = (limit: string) =>
  ({ limit, value: 1, socket: undefined, remoteAddress: undefined }) as never;

describe("observe()", () => {
  it("has stable channel names", () => {
    expect(Object.values(DIAGNOSTICS_CHANNELS)).toEqual([
      "ws:handshake:accepted",
      "ws:handshake:rejected",
      "ws:connection:opened",
      "ws:connection:closed",
      "ws:protocol:error",
      "ws:limit:reached",
      "ws:backpressure",
    ]);
  });

  it("delivers what is published until unsubscribed; nothing is built without subscribers", () => {
    const channel = channels["ws:limit:reached"];
    expect(channel.hasSubscribers).toBe(false);
    const seen: unknown[] = [];
    const stop = observe("ws:limit:reached", (m) => seen.push(m.limit));
    expect(channel.hasSubscribers).toBe(true);
    channel.publish(message("maxFrameSize"));
    stop();
    stop(); // twice: nothing more happens
    channel.publish(message("maxFragments"));
    expect(seen).toEqual(["maxFrameSize"]);
    expect(channel.hasSubscribers).toBe(false);
  });

  it("reports a listener's exception to the console and calls the other listeners", () => {
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (error: unknown) => errors.push(error);
    const seen: string[] = [];
    const stops = [
      observe("ws:limit:reached", () => {
        throw new Error("broken exporter");
      }),
      observe("ws:limit:reached", (m) => seen.push(m.limit)),
    ];
    try {
      expect(() => channels["ws:limit:reached"].publish(message("idleTimeout"))).not.toThrow();
    } finally {
      console.error = original;
      for (const stop of stops) stop();
    }
    expect(seen).toEqual(["idleTimeout"]);
    expect((errors[0] as Error).message).toBe("broken exporter");
  });

  it("refuses a name that is not a channel, and a listener that is not a function", () => {
    expect(() => observe("ws:nope" as never, () => {})).toThrow(/Cannot observe ws:nope: not a channel/);
    expect(() => observe("ws:backpressure", "log" as never)).toThrow(TypeError);
  });

  it("moves its subscribers to node:diagnostics_channel when bound, where direct subscribers see the same events", () => {
    const before: string[] = [];
    const stop = observe("ws:limit:reached", (m) => before.push(m.limit));
    bindDiagnosticsChannels(diagnosticsChannel);
    expect(channels["ws:limit:reached"]).toBe(diagnosticsChannel.channel("ws:limit:reached"));
    const direct: unknown[] = [];
    const onMessage = (m: unknown): void => {
      direct.push((m as { limit: string }).limit);
    };
    diagnosticsChannel.subscribe("ws:limit:reached", onMessage);
    channels["ws:limit:reached"].publish(message("closeTimeout"));
    expect(before).toEqual(["closeTimeout"]);
    expect(direct).toEqual(["closeTimeout"]);
    stop();
    diagnosticsChannel.unsubscribe("ws:limit:reached", onMessage);
    expect(diagnosticsChannel.hasSubscribers("ws:limit:reached")).toBe(false);
    // A second binding does nothing.
    bindDiagnosticsChannels(diagnosticsChannel);
    const after = observe("ws:limit:reached", () => {});
    expect(diagnosticsChannel.hasSubscribers("ws:limit:reached")).toBe(true);
    after();
  });
});
