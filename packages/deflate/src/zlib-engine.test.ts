/**
 * The zlib engine on the runtime's own `node:zlib` (these tests run under Node, Deno and Bun):
 * which path each call takes, the limiter, options. What every engine must do (BFINAL, limits,
 * bombs, corrupt data) is the contract's (`test/engine-contract.test.ts`), which runs this engine
 * with each of its inflate paths forced.
 */

import * as zlib from "node:zlib";
import { ErrorCode, RemoteProtocolError } from "@ws/codec";
import type { Compressor, Decompressor } from "@ws/codec/extensions";
import { describe, expect, it } from "vitest";
import { fromHex, hex, run, same, sample, TAIL, text } from "../test/helpers.ts";
import {
  createZlibEngine,
  DEFAULT_SYNC_DEFLATE_MAX_SIZE,
  DEFAULT_SYNC_INFLATE_MAX_SIZE,
  type ZlibLike,
  type ZlibStreamLike,
} from "./zlib-engine.ts";
import { hasSyncStep } from "./zlib-sync-step.ts";

/** A message's last output without its 00 00 ff ff, as the extension sends it (RFC 7692 §7.2.1). */
function strip(bytes: Uint8Array): Uint8Array {
  expect(hex(bytes.subarray(bytes.length - 4))).toBe("0000ffff");
  return bytes.subarray(0, bytes.length - 4);
}

/** A copy of the zlib module (its own limiter) that records what the engine does with it. */
function spyZlib(): ZlibLike & {
  calls: string[];
  streamOptions: object[];
  closed: number;
  inFlight: number;
  maxInFlight: number;
  /** The index of the stream (in creation order) of each operation, in the order they started. */
  operations: number[];
} {
  const spy = {
    calls: [] as string[],
    streamOptions: [] as object[],
    closed: 0,
    inFlight: 0,
    maxInFlight: 0,
    operations: [] as number[],
    constants: zlib.constants,
    createDeflateRaw: (options: object) => wrap(zlib.createDeflateRaw(options), "createDeflateRaw", options),
    createInflateRaw: (options: object) => wrap(zlib.createInflateRaw(options), "createInflateRaw", options),
    deflateRawSync: (input: Uint8Array, options: object) => {
      spy.calls.push("deflateRawSync");
      return zlib.deflateRawSync(input, options);
    },
    inflateRawSync: (input: Uint8Array, options: object) => {
      spy.calls.push("inflateRawSync");
      return zlib.inflateRawSync(input, options);
    },
  };
  function wrap(stream: zlib.DeflateRaw | zlib.InflateRaw, name: string, options: object): ZlibStreamLike {
    spy.calls.push(name);
    spy.streamOptions.push(options);
    const flush = stream.flush.bind(stream);
    const write = stream.write.bind(stream) as (chunk: Uint8Array, callback?: () => void) => boolean;
    const close = stream.close.bind(stream);
    const index = spy.calls.filter((call) => call.startsWith("create")).length - 1;
    // An operation ends with a flush, or with a write that has a callback (the engine's streams
    // flush on every write): count those in flight.
    const track = (callback: () => void) => {
      spy.operations.push(index);
      spy.inFlight++;
      spy.maxInFlight = Math.max(spy.maxInFlight, spy.inFlight);
      return () => {
        spy.inFlight--;
        callback();
      };
    };
    return Object.assign(stream, {
      flush(kind: number, callback: () => void) {
        flush(kind, track(callback));
      },
      write(chunk: Uint8Array, callback?: () => void) {
        return callback === undefined ? write(chunk) : write(chunk, track(callback));
      },
      close() {
        spy.closed++;
        close();
      },
    }) as unknown as ZlibStreamLike;
  }
  return spy;
}

function compressor(
  noContextTakeover: boolean,
  windowBits = 15,
  zlibModule: ZlibLike = zlib,
  syncMaxSize?: number,
) {
  const engine = createZlibEngine(
    zlibModule,
    syncMaxSize === undefined ? {} : { syncDeflateMaxSize: syncMaxSize },
  );
  return engine.createCompressor({ windowBits, level: -1, memLevel: 8, noContextTakeover });
}
function decompressor(
  noContextTakeover: boolean,
  windowBits = 15,
  zlibModule: ZlibLike = zlib,
  syncMaxSize?: number,
) {
  const engine = createZlibEngine(
    zlibModule,
    syncMaxSize === undefined ? {} : { syncInflateMaxSize: syncMaxSize },
  );
  return engine.createDecompressor({ windowBits, noContextTakeover });
}

describe("createZlibEngine", () => {
  it('compresses "Hello" to f2 48 cd c9 c9 07 00 + 00 00 ff ff (RFC 7692 §7.2.3.1), sync and async', async () => {
    const sync = compressor(true).compress(text("Hello"), true);
    expect(Array.isArray(sync)).toBe(true);
    expect(hex(await run(sync))).toBe("f248cdc9c907000000ffff");
    const async = compressor(false, 15, zlib, 0).compress(text("Hello"), true);
    expect(async).toBeInstanceOf(Promise);
    expect(hex(await run(async))).toBe("f248cdc9c907000000ffff");
  });

  it("takes the synchronous fast path only for whole small messages without context takeover", async () => {
    const spy = spyZlib();
    const c = compressor(true, 15, spy);
    expect(Array.isArray(c.compress(sample(DEFAULT_SYNC_DEFLATE_MAX_SIZE), true))).toBe(true);
    const larger = c.compress(sample(DEFAULT_SYNC_DEFLATE_MAX_SIZE + 1), true); // larger than syncDeflateMaxSize
    expect(larger).toBeInstanceOf(Promise);
    const first = c.compress(sample(10), false); // a message in pieces
    expect(first).toBeInstanceOf(Promise);
    const last = c.compress(sample(10), true);
    expect(last).toBeInstanceOf(Promise);
    // Calls settle in order: once the last one has, every stream it used was freed (no context
    // takeover), whatever the machine's load.
    await Promise.all([larger, first, last]);
    // The probes' two inflaters first (zlib-sync-step.ts: hasSyncStep, writesInline), closed.
    expect(spy.calls).toEqual([
      "createInflateRaw",
      "createInflateRaw",
      "deflateRawSync",
      "createDeflateRaw",
      "createDeflateRaw",
    ]);
    expect(spy.closed).toBe(4);

    const d = decompressor(true, 15, spy);
    const small = zlib.deflateRawSync(sample(100), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    expect(Array.isArray(d.decompress([small], true, 1000))).toBe(true);
    expect(spy.calls.at(-1)).toBe("inflateRawSync");
    // Disabled: always a stream.
    expect(compressor(true, 15, zlib, 0).compress(sample(10), true)).toBeInstanceOf(Promise);
    expect(decompressor(true, 15, zlib, 0).decompress([small], true, 1000)).toBeInstanceOf(Promise);
  });

  it("steps the streams synchronously with context takeover where zlib reports errors at once (Node, Bun, Deno)", async () => {
    // Node's and Bun's handles destroy the stream inside writeSync() on corrupt data, Deno's
    // calls the handle's onerror inside it (and destroys the stream a tick later).
    expect(hasSyncStep(zlib)).toBe(true);
    const spy = spyZlib();
    const c = compressor(false, 15, spy);
    const d = decompressor(false, 15, spy);
    const expectSync = hasSyncStep(zlib);
    for (let i = 0; i < 6; i++) {
      // 8000 bytes compress to about 3 KB: both ways on the calling thread.
      const message = sample(i % 2 === 0 ? 8000 : 300, i + 1);
      const compressed = c.compress(message, true);
      expect(Array.isArray(compressed)).toBe(expectSync);
      const inflated = d.decompress([strip(await run(compressed)), TAIL], true, 1 << 20);
      expect(Array.isArray(inflated)).toBe(expectSync);
      expect(same(await run(inflated), message)).toBe(true);
    }
    // The window is shared: the same message again is a few back-references.
    const again = strip(await run(c.compress(sample(8000, 1), true)));
    expect(again.length).toBeLessThan(200); // about 3 KB from an empty window
    // (The decompressor must see every message, or its window would differ.)
    expect(same(await run(d.decompress([again, TAIL], true, 1 << 20)), sample(8000, 1))).toBe(true);
    // Larger than syncDeflateMaxSize, or in pieces: through the thread pool. 64 KiB + 1 compress
    // to about 24 KB, more than syncInflateMaxSize: inflated in the thread pool too.
    const largerSize = DEFAULT_SYNC_DEFLATE_MAX_SIZE + 1;
    const larger = c.compress(sample(largerSize, 9), true);
    expect(larger).toBeInstanceOf(Promise);
    const largerBytes = strip(await run(larger));
    expect(largerBytes.length).toBeGreaterThan(DEFAULT_SYNC_INFLATE_MAX_SIZE);
    const largerInflated = d.decompress([largerBytes, TAIL], true, 1 << 20);
    expect(largerInflated).toBeInstanceOf(Promise);
    expect(same(await run(largerInflated), sample(largerSize, 9))).toBe(true);
    const first = c.compress(sample(10), false);
    expect(first).toBeInstanceOf(Promise);
    // Behind a pending operation: queued, in order.
    const queued = c.compress(sample(10), true);
    expect(queued).toBeInstanceOf(Promise);
    await Promise.all([first, queued]);
    // One stream each way for the connection's lifetime (and the two probes' inflaters).
    expect(spy.calls.filter((call) => call === "createDeflateRaw").length).toBe(1);
    expect(spy.calls.filter((call) => call === "createInflateRaw").length).toBe(3);
    c.close();
    d.close();
  });

  it("never lets a synchronous result overtake a pending one", async () => {
    const c = compressor(true);
    const big = c.compress(sample(100_000), true);
    const small = c.compress(sample(10), true);
    expect(big).toBeInstanceOf(Promise);
    expect(small).toBeInstanceOf(Promise);
    const order: string[] = [];
    await Promise.all([
      (big as Promise<Uint8Array[]>).then(() => order.push("big")),
      (small as Promise<Uint8Array[]>).then(() => order.push("small")),
    ]);
    expect(order).toEqual(["big", "small"]);
    expect(Array.isArray(c.compress(sample(10), true))).toBe(true); // idle again
  });

  it("uses a 9-bit window when 8 is negotiated, which an 8-bit inflater reads (RFC 7692 §7.1.2)", async () => {
    const spy = spyZlib();
    const c = compressor(false, 8, spy);
    const d = decompressor(false, 8);
    for (let i = 0; i < 20; i++) {
      const message = sample(3000, i + 1);
      const compressed = strip(await run(c.compress(message, true)));
      expect(same(await run(d.decompress([compressed, TAIL], true, 1 << 20)), message)).toBe(true);
    }
    expect(spy.streamOptions[spy.calls.indexOf("createDeflateRaw")]).toMatchObject({ windowBits: 9 });
  });

  it("caps concurrent zlib operations process-wide (per zlib module)", async () => {
    const spy = spyZlib();
    // The public streams only (the spy sees their operations): without the synchronous step,
    // which on Deno does all the work in slices.
    const engine = createZlibEngine(spy, { maxConcurrency: 3, syncDeflateMaxSize: 0 });
    const compressors: Compressor[] = [];
    for (let i = 0; i < 20; i++) {
      compressors.push(
        engine.createCompressor({ windowBits: 15, level: 9, memLevel: 8, noContextTakeover: false }),
      );
    }
    // A second engine on the same module shares the limit.
    const other = createZlibEngine(spy, { syncDeflateMaxSize: 0 }).createCompressor({
      windowBits: 15,
      level: 9,
      memLevel: 8,
      noContextTakeover: false,
    });
    const work = [...compressors, other].flatMap((c, i) => [
      c.compress(sample(DEFAULT_SYNC_DEFLATE_MAX_SIZE + 1000, i + 1), true),
      c.compress(sample(DEFAULT_SYNC_DEFLATE_MAX_SIZE + 1000, i + 2), true),
    ]);
    await Promise.all(work);
    expect(spy.maxInFlight).toBeLessThanOrEqual(3);
    expect(spy.maxInFlight).toBeGreaterThan(1);
    for (const c of [...compressors, other]) c.close();
  });

  it("runs the operations queued on one stream back to back in its slot of the limit", async () => {
    const spy = spyZlib();
    const engine = createZlibEngine(spy, { maxConcurrency: 1, syncDeflateMaxSize: 0 });
    const options = { windowBits: 15, level: 6, memLevel: 8, noContextTakeover: false };
    const a = engine.createCompressor(options);
    const b = engine.createCompressor(options);
    const work = [
      a.compress(sample(20_000, 1), true),
      b.compress(sample(20_000, 2), true),
      a.compress(sample(20_000, 3), true),
      a.compress(sample(20_000, 4), true),
      b.compress(sample(20_000, 5), true),
    ];
    await Promise.all(work);
    // Stream 0 is a's, stream 1 is b's. A slot per operation would alternate: 0 1 0 1 0.
    expect(spy.operations).toEqual([0, 0, 0, 1, 1]);
    a.close();
    b.close();
  });

  it("lets the event loop take turns while a long queue runs on a zlib that calls back at once (as Deno's does)", async () => {
    // A stand-in for a zlib whose "asynchronous" calls work on the calling thread and call back
    // in a microtask: without turns, no timer or socket would run until the queue is empty.
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const stream = (): ZlibStreamLike => {
      const listeners = new Map<string, ((chunk: Uint8Array) => void)[]>();
      const emit = (chunk: Uint8Array) => {
        for (const listener of listeners.get("data") ?? []) listener(chunk);
      };
      return {
        on(event: string, listener: (...args: never[]) => void) {
          listeners.set(event, [...(listeners.get(event) ?? []), listener as (chunk: Uint8Array) => void]);
        },
        write(chunk: Uint8Array, callback?: () => void) {
          busy(0.2);
          const copy = chunk.slice();
          queueMicrotask(() => {
            emit(copy);
            callback?.();
          });
          return true;
        },
        flush(_kind: number, callback: () => void) {
          queueMicrotask(callback);
        },
        close() {},
      };
    };
    const inline: ZlibLike = {
      constants: zlib.constants,
      createDeflateRaw: stream,
      createInflateRaw: stream,
    };
    const engine = createZlibEngine(inline, { maxConcurrency: 10 });
    const compressors = Array.from({ length: 20 }, () =>
      engine.createCompressor({ windowBits: 15, level: 6, memLevel: 8, noContextTakeover: false }),
    );
    let done = 0;
    let doneWhenTimerRan = -1;
    setTimeout(() => {
      doneWhenTimerRan = done;
    }, 0);
    const total = 200;
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const c = compressors[i % compressors.length] as Compressor;
      work.push(Promise.resolve(c.compress(text(`message ${i}`), true)).then(() => done++));
    }
    await Promise.all(work);
    // 200 operations of 0.2 ms each: the timer runs after a few dozen, not after all of them.
    expect(doneWhenTimerRan).toBeGreaterThanOrEqual(0);
    expect(doneWhenTimerRan).toBeLessThan(total / 2);
    for (const c of compressors) c.close();
  });

  it("hands the event loop back while it inflates or deflates a lot, on the runtime's own zlib", async () => {
    // Timers that fire while a call is in progress: zero means it held the event loop until it
    // settled (Deno's stream writes run zlib on the calling thread and call back on
    // process.nextTick, so its public streams alone would; see writesInline).
    const timersDuring = async <T>(
      call: () => T | Promise<T>,
    ): Promise<[number, PromiseSettledResult<T>]> => {
      let fired = 0;
      let ticking = true;
      const tick = (): void => {
        fired++;
        if (ticking) setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      const [settled] = await Promise.allSettled([Promise.resolve().then(call)]);
      ticking = false;
      return [fired, settled as PromiseSettledResult<T>];
    };
    const zeros = (size: number): Uint8Array =>
      strip(zlib.deflateRawSync(new Uint8Array(size), { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
    // A whole message of 16 KiB or less (the synchronous step) that inflates to 16 MiB.
    const small = zeros(16 << 20);
    expect(small.length).toBeLessThanOrEqual(DEFAULT_SYNC_INFLATE_MAX_SIZE);
    const d = decompressor(false);
    const [fired, inflated] = await timersDuring(() => run(d.decompress([small, TAIL], true, 32 << 20)));
    expect(fired).toBeGreaterThan(0);
    expect(inflated.status === "fulfilled" && inflated.value.length).toBe(16 << 20);
    // A larger one (through the thread pool, or on Deno the step in slices): a bomb past the limit.
    const bomb = zeros(256 << 20);
    expect(bomb.length).toBeGreaterThan(DEFAULT_SYNC_INFLATE_MAX_SIZE);
    const [firedBomb, refused] = await timersDuring(() => d.decompress([bomb, TAIL], true, 32 << 20));
    expect(firedBomb).toBeGreaterThan(0);
    expect(refused.status === "rejected" && (refused.reason as RemoteProtocolError).code).toBe(
      ErrorCode.MessageTooBig,
    );
    d.close();
    // Deflating 8 MiB (the stream; on Deno the step in slices), and the result inflates back.
    const c = compressor(false);
    const message = sample(8 << 20, 3);
    const [firedDeflate, deflated] = await timersDuring(() => run(c.compress(message, true)));
    expect(firedDeflate).toBeGreaterThan(0);
    expect(deflated.status).toBe("fulfilled");
    const back = decompressor(false);
    const compressed = (deflated as PromiseFulfilledResult<Uint8Array>).value;
    expect(same(await run(back.decompress([strip(compressed), TAIL], true, 16 << 20)), message)).toBe(true);
    c.close();
    back.close();
  });

  it("inflates a small message without context takeover in one call only while its output is small", async () => {
    // The one-shot call stops after 256 KiB of output: a small input that inflates to more (up
    // to 16 MiB from 16 KiB) is inflated again on the lane, where the event loop gets turns.
    const zeros = (size: number): Uint8Array =>
      strip(zlib.deflateRawSync(new Uint8Array(size), { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
    const spy = spyZlib();
    const d = decompressor(true, 15, spy);
    const ordinary = zeros(256 << 10);
    const result = d.decompress([ordinary, TAIL], true, 32 << 20);
    expect(Array.isArray(result) && result.reduce((n, part) => n + part.length, 0)).toBe(256 << 10);
    // Exactly the limit passes and one byte more fails, at once, below the one-shot bound.
    expect(Array.isArray(decompressor(true).decompress([zeros(1000), TAIL], true, 1000))).toBe(true);
    const over = decompressor(true);
    expect(() => over.decompress([zeros(1001), TAIL], true, 1000)).toThrow(RemoteProtocolError);
    const small = zeros(16 << 20);
    expect(small.length).toBeLessThanOrEqual(DEFAULT_SYNC_INFLATE_MAX_SIZE);
    let fired = 0;
    let ticking = true;
    const tick = (): void => {
      fired++;
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const large = d.decompress([small, TAIL], true, 32 << 20);
    expect(large).toBeInstanceOf(Promise);
    const inflated = await large;
    ticking = false;
    expect(inflated.reduce((n, part) => n + part.length, 0)).toBe(16 << 20);
    expect(fired).toBeGreaterThan(0);
    // Past the limit: refused with MESSAGE_TOO_BIG, and the next message is inflated as usual.
    const bomb = decompressor(true);
    await expect(run(bomb.decompress([small, TAIL], true, 1 << 20))).rejects.toMatchObject({
      code: ErrorCode.MessageTooBig,
    });
    const after = decompressor(true, 15, spy);
    expect(Array.isArray(after.decompress([zeros(10), TAIL], true, 100))).toBe(true);
    d.close();
    after.close();
  });

  it("close() frees the streams, rejects pending calls and refuses new ones", async () => {
    const spy = spyZlib();
    const c = compressor(false, 15, spy, 0);
    const d = decompressor(false, 15, spy, 0);
    await c.compress(sample(10), true);
    await d.decompress([fromHex("f248cdc9c90700"), TAIL], true, 100);
    const pending = c.compress(sample(1_000_000), true);
    const queued = c.compress(sample(10), true);
    // Both reject one after the other once closed: take their outcomes before either settles
    // (Bun fails a test on a rejection that has no handler yet).
    const outcome = (result: Uint8Array[] | Promise<Uint8Array[]>) =>
      Promise.resolve(result).then(
        () => "resolved",
        (error: Error) => error.message,
      );
    const outcomes = Promise.all([outcome(pending), outcome(queued)]);
    c.close();
    d.close();
    c.close(); // idempotent
    for (const message of await outcomes) expect(message).toMatch(/closed/);
    expect(() => c.compress(sample(10), true)).toThrow(/closed/);
    expect(() => d.decompress([TAIL], true, 100)).toThrow(/closed/);
    expect(spy.closed).toBe(2);
  });

  it("rejects out-of-range options", () => {
    expect(() => createZlibEngine(zlib, { maxConcurrency: 0 })).toThrow(RangeError);
    expect(() => createZlibEngine(zlib, { syncDeflateMaxSize: -1 })).toThrow(RangeError);
    expect(() => createZlibEngine(zlib, { syncInflateMaxSize: 1.5 })).toThrow(RangeError);
    const engine = createZlibEngine(zlib);
    expect(() =>
      engine.createCompressor({ windowBits: 7, level: -1, memLevel: 8, noContextTakeover: false }),
    ).toThrow(RangeError);
    expect(() =>
      engine.createCompressor({ windowBits: 15, level: 10, memLevel: 8, noContextTakeover: false }),
    ).toThrow(RangeError);
    expect(() => engine.createDecompressor({ windowBits: 16, noContextTakeover: false })).toThrow(RangeError);
  });

  it("accepts the runtime's node:zlib module as a ZlibLike", () => {
    const decompressorFromModule: Decompressor = createZlibEngine(zlib).createDecompressor({
      windowBits: 15,
      noContextTakeover: true,
    });
    expect(typeof decompressorFromModule.decompress).toBe("function");
  });
});
