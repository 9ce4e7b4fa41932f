import { encodeFrame } from "@ws/codec/frame";
import { describe, expect, it } from "vitest";
import type { AfterIo } from "./session/after-io.ts";
import { BYTES_PER_SLICE, FRAMES_PER_SLICE, TURN_BUDGET_MS } from "./session/turns.ts";
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

/** `count` binary messages of `size` bytes each (the byte `i` in message i), masked, as one chunk. */
function binaryMessages(count: number, size: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++)
    parts.push(...encodeFrame({ opcode: 2, payload: new Uint8Array(size).fill(i), maskingKey: KEY }));
  return join(parts);
}

/** A started server session over a transport that records pauses and writes. */
function server(afterIo?: AfterIo): {
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
    afterIo,
  } as unknown as Transport;
  const session = new Session(transport, { role: "server" });
  const got: string[] = [];
  session.handler = { message: (data) => void got.push(data as string) };
  session.start();
  return { session, got, transport: state };
}

/**
 * Another connection whose message handler takes longer than a turn's budget: once it has
 * handled a message, the current turn's budget is used (the clock only moves forward), so
 * that a flood that follows in the same turn gets one slice, not more. This makes the test
 * independent of how fast the machine decodes; no time is measured or asserted.
 */
function useUpTheTurn(): void {
  const busy = server();
  busy.session.handler = {
    message: () => {
      const until = performance.now() + TURN_BUDGET_MS + 1;
      while (performance.now() < until);
    },
  };
  busy.session.onData(messages(1));
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
    useUpTheTurn();
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
    useUpTheTurn();
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
    useUpTheTurn();
    session.onData(tinyFragments(3 * FRAMES_PER_SLICE, 0x62));
    session.onEnd();
    expect(closed).toBeUndefined();
    await until(() => closed !== undefined);
    expect(got).toEqual(["b".repeat(3 * FRAMES_PER_SLICE)]);
    expect(closed).toBe(1006);
  });

  it("delivers nothing while the application paused it, and goes on when it resumes", async () => {
    const { session, got, transport } = server();
    useUpTheTurn();
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

  it("counts the slice per connection per turn, not per received chunk", async () => {
    const flood = server();
    const other = server();
    // Chunks that each hold less than a slice (a message and its event count two), all
    // received in one turn, as Node hands over up to 32 reads of a socket at once.
    const perChunk = FRAMES_PER_SLICE / 4;
    const chunks = 4;
    const wire = messages(perChunk * chunks);
    const step = Math.ceil(wire.length / chunks);
    useUpTheTurn();
    for (let at = 0; at < wire.length; at += step) flood.session.onData(wire.slice(at, at + step));
    // One slice for the whole turn: half the messages, then the flood waits, not reading.
    expect(flood.got.length).toBe(FRAMES_PER_SLICE / 2);
    expect(flood.transport.paused).toBe(true);
    // Another connection's message is handled in between.
    other.session.onData(messages(1));
    expect(other.got).toEqual(["m0"]);
    await until(() => flood.got.length === perChunk * chunks);
    expect(flood.got).toEqual(Array.from({ length: perChunk * chunks }, (_, i) => `m${i}`));
    expect(flood.transport.paused).toBe(false);
  });

  it("sets no timer for a connection that stays within its slice in every turn", async () => {
    const { session, got, transport } = server();
    // Counts the timers set while the connection receives (the waits below use the original).
    const original = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers++;
      return original(...args);
    }) as typeof setTimeout;
    // Each batch is almost a slice (a message and its event count two); together they are
    // several, received in tasks further apart than a turn's budget, as a quiet peer sends.
    const perBatch = FRAMES_PER_SLICE / 2 - 1;
    const batches = 4;
    try {
      for (let i = 0; i < batches; i++) {
        session.onData(binaryMessages(perBatch, 1));
        await new Promise((resolve) => original(resolve, TURN_BUDGET_MS + 1));
      }
    } finally {
      globalThis.setTimeout = original;
    }
    expect(timers).toBe(0);
    expect(transport.pauses).toBe(0);
    expect(got.length).toBe(perBatch * batches);
  });

  it("bounds the bytes a slice decodes, so that large frames yield too", async () => {
    const flood = server();
    const other = server();
    const got: number[] = [];
    flood.session.handler = { message: (data) => void got.push((data as Uint8Array)[0] as number) };
    const size = 16 * 1024;
    const count = (4 * BYTES_PER_SLICE) / size;
    useUpTheTurn();
    flood.session.onData(binaryMessages(count, size));
    // A slice is about BYTES_PER_SLICE: the frame that reaches it is read whole.
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThanOrEqual(BYTES_PER_SLICE / size + 1);
    expect(flood.transport.paused).toBe(true);
    other.session.onData(messages(1));
    expect(other.got).toEqual(["m0"]);
    await until(() => got.length === count);
    expect(got).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(flood.transport.paused).toBe(false);
  });

  it("sets the run queue's ticks with the transport's afterIo, and with no timer", async () => {
    // A tick the transport gives (as Node's and Bun's give `setImmediate`): counted, run after
    // a zero-delay timer so that the test can tell them apart from the default's timers.
    const original = globalThis.setTimeout;
    let ticks = 0;
    let timers = 0;
    const afterIo: AfterIo = (callback) => {
      ticks++;
      original(callback, 0);
    };
    // The previous tests' last ticks (set with the default) have run: the queue is idle.
    for (let i = 0; i < 5; i++) await turn();
    const flood = server(afterIo);
    const count = 10 * FRAMES_PER_SLICE + 7;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers++;
      return original(...args);
    }) as typeof setTimeout;
    try {
      useUpTheTurn();
      flood.session.onData(tinyFragments(count));
      expect(flood.transport.paused).toBe(true);
      for (let i = 0; i < 10_000 && flood.got.length === 0; i++) await new Promise((r) => original(r, 0));
    } finally {
      globalThis.setTimeout = original;
    }
    expect(flood.got).toEqual(["a".repeat(count)]);
    // The flood waited for turns (it was paused after its first slice): every tick was the
    // transport's.
    expect(ticks).toBeGreaterThan(0);
    expect(timers).toBe(0);
  });
});
