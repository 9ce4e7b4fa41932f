import { encodeFrame } from "@ws/codec/frame";
import { describe, expect, it } from "vitest";
import { FRAMES_PER_SLICE } from "./session/turns.ts";
import { Session } from "./session.ts";
import type { Transport } from "./transport.ts";

const KEY = new Uint8Array([9, 8, 7, 6]);

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A text message of `count` one-byte fragments, masked (client to server), as one chunk. */
function tinyFragments(count: number, byte = 0x61): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++)
    parts.push(
      ...encodeFrame({
        opcode: i === 0 ? 1 : 0,
        fin: i === count - 1,
        payload: new Uint8Array([byte]),
        maskingKey: KEY,
      }),
    );
  return join(parts);
}

/** `count` small text messages "m0", "m1", …, masked, as one chunk. */
function messages(count: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++)
    parts.push(...encodeFrame({ opcode: 1, payload: new TextEncoder().encode(`m${i}`), maskingKey: KEY }));
  return join(parts);
}

/** A started server session over a transport that records pauses and writes. */
function server(): {
  session: Session;
  got: string[];
  transport: { paused: boolean; pauses: number; writes: number };
} {
  const state = { paused: false, pauses: 0, writes: 0 };
  const transport: Transport = {
    write: () => {
      state.writes++;
      return true;
    },
    end: () => {},
    destroy: () => {},
    pause: () => {
      state.paused = true;
      state.pauses++;
    },
    resume: () => {
      state.paused = false;
    },
  } as unknown as Transport;
  const session = new Session(transport, { role: "server" });
  const got: string[] = [];
  session.handler = { message: (data) => void got.push(data as string) };
  session.start();
  return { session, got, transport: state };
}

const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function until(done: () => boolean): Promise<number> {
  let turns = 0;
  while (!done() && turns < 10_000) {
    await turn();
    turns++;
  }
  return turns;
}

describe("fair turns (RFC 6455 §10.4)", () => {
  it("decodes a flood of tiny fragments a slice at a time, with the transport paused between, and delivers it whole", async () => {
    const flood = server();
    const other = server();
    const count = 10 * FRAMES_PER_SLICE + 7;
    flood.session.onData(tinyFragments(count));
    // One slice in the data callback, then the rest waits for its turns, not reading meanwhile.
    expect(flood.session.connection.framesRead).toBe(FRAMES_PER_SLICE);
    expect(flood.got).toEqual([]);
    expect(flood.transport.paused).toBe(true);
    // Another connection's message is handled at once, not behind the flood.
    other.session.onData(messages(1));
    expect(other.got).toEqual(["m0"]);
    const turns = await until(() => flood.got.length > 0);
    expect(turns).toBeGreaterThan(0);
    expect(flood.got).toEqual(["a".repeat(count)]);
    expect(flood.session.connection.framesRead).toBe(count);
    expect(flood.transport.paused).toBe(false);
  });

  it("handles a pipelining peer's small messages in order, in slices", async () => {
    const { session, got, transport } = server();
    session.handler = {
      message: (data) => {
        got.push(data as string);
        session.send(data);
      },
    };
    const count = 3 * FRAMES_PER_SLICE;
    session.onData(messages(count));
    expect(got.length).toBeLessThan(count);
    await until(() => got.length === count);
    expect(got).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
    expect(transport.paused).toBe(false);
    expect(transport.writes).toBeGreaterThan(1);
  });

  it("delivers what was received before the end of the transport, then reports the end", async () => {
    const { session, got } = server();
    let closed: number | undefined;
    session.handler = {
      message: (data) => void got.push(data as string),
      close: (info) => {
        closed = info.code;
      },
    };
    session.onData(tinyFragments(3 * FRAMES_PER_SLICE, 0x62));
    session.onEnd();
    expect(closed).toBeUndefined();
    await until(() => closed !== undefined);
    expect(got).toEqual(["b".repeat(3 * FRAMES_PER_SLICE)]);
    expect(closed).toBe(1006);
  });

  it("delivers nothing while the application paused it, and goes on when it resumes", async () => {
    const { session, got, transport } = server();
    session.onData(tinyFragments(3 * FRAMES_PER_SLICE));
    session.pause();
    for (let i = 0; i < 5; i++) await turn();
    expect(got).toEqual([]);
    expect(transport.paused).toBe(true);
    session.resume();
    await until(() => got.length > 0);
    expect(got).toEqual(["a".repeat(3 * FRAMES_PER_SLICE)]);
    expect(transport.paused).toBe(false);
  });
});
