/**
 * The synchronous step's use of `node:zlib` internals, on the runtime's own `node:zlib`. These
 * tests run under Node 20, Node 24 (the newest release available here), Deno and Bun, so a
 * change in what `_handle.writeSync()` and `_writeState` mean shows up as a failure here, not
 * as corrupt messages.
 */
import * as zlib from "node:zlib";
import { RemoteProtocolError } from "@ws/codec";
import { describe, expect, it } from "vitest";
import { same } from "../test/helpers.ts";
import { createZlibEngine, type ZlibLike, type ZlibStreamLike } from "./zlib-engine.ts";
import { hasSyncStep, SyncStep, stepSync, writesInline } from "./zlib-sync-step.ts";

const SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
const TAIL = new Uint8Array([0, 0, 0xff, 0xff]);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (parts: readonly Uint8Array[]): string =>
  new TextDecoder().decode(Uint8Array.from(parts.flatMap((p) => Array.from(p))));

/** An inflater whose errors are handled (the step reports them through `destroyed`). */
function inflater(): ZlibStreamLike {
  const stream = zlib.createInflateRaw({ windowBits: 15 });
  stream.on("error", () => {});
  return stream as unknown as ZlibStreamLike;
}

describe("the zlib synchronous step", () => {
  it("is found on Node, Bun and Deno", () => {
    expect(hasSyncStep(zlib)).toBe(true);
  });

  it("inflates on the calling thread and keeps the window between calls", () => {
    const stream = inflater();
    // "Hello" (RFC 7692 §7.2.3.1), then "Hello" again as a back-reference (§7.2.3.2).
    const first = stepSync(
      stream,
      SYNC_FLUSH,
      [Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), TAIL],
      100,
      () => {
        throw new Error("too much");
      },
    );
    expect(decode(first.output)).toBe("Hello");
    expect(first.ended).toBe(false);
    const again = stepSync(
      stream,
      SYNC_FLUSH,
      [Uint8Array.of(0xf2, 0x00, 0x11, 0x00, 0x00), TAIL],
      100,
      () => {
        throw new Error("too much");
      },
    );
    expect(decode(again.output)).toBe("Hello");
    stream.close();
  });

  it("reports the end of the DEFLATE stream (BFINAL) and ignores what follows", () => {
    const stream = inflater();
    const result = stepSync(
      stream,
      SYNC_FLUSH,
      [Uint8Array.of(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), TAIL],
      100,
      () => {
        throw new Error("too much");
      },
    );
    expect(decode(result.output)).toBe("Hello");
    expect(result.ended).toBe(true);
    stream.close();
  });

  it("throws zlib's error at once on corrupt data, and the stream is destroyed", async () => {
    const stream = inflater();
    let thrown: unknown;
    try {
      stepSync(stream, SYNC_FLUSH, [Uint8Array.of(0xff, 0xff, 0xff), TAIL], 100, () => undefined);
    } catch (error) {
      thrown = error;
    }
    // The code the engine maps to 1007 (RFC 6455 §7.4.1), on every runtime.
    expect((thrown as { code?: unknown } | undefined)?.code).toBe("Z_DATA_ERROR");
    // Node and Bun destroy it inside writeSync(), Deno on the next tick.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(stream.destroyed).toBe(true);
  });

  it("stops as soon as the output passes the limit (a bomb costs one 64 KiB buffer more)", () => {
    const bomb = zlib.deflateRawSync(new Uint8Array(64 << 20), { finishFlush: SYNC_FLUSH });
    const stream = inflater();
    let total = -1;
    expect(() =>
      stepSync(stream, SYNC_FLUSH, [bomb], 1 << 20, () => {
        total = 0;
        return new Error("too much");
      }),
    ).toThrow("too much");
    expect(total).toBe(0);
    stream.close();
  });

  it("runs zlib inside a stream's public write() on Deno only (there the engine slices its work)", () => {
    // Deno's node:zlib works on the calling thread and calls back on process.nextTick; Node's
    // and Bun's go to a thread pool. If this changes, the engine's choice of path should too.
    expect(writesInline(zlib)).toBe(typeof (globalThis as { Deno?: unknown }).Deno === "object");
  });

  it("gives the same output when it stops after every zlib call and goes on later, both ways", () => {
    const message = new Uint8Array(300_000);
    let seed = 7;
    for (let i = 0; i < message.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      // Runs of a few letters, some noise: several blocks, and inputs past 64 KiB per call.
      message[i] = i % 5000 < 2500 ? 97 + ((seed >>> 16) % 4) : (seed >>> 16) & 0xff;
    }
    const deflater = zlib.createDeflateRaw({ windowBits: 15 }) as unknown as ZlibStreamLike;
    const compressing = new SyncStep(
      deflater,
      SYNC_FLUSH,
      [message.subarray(0, 100_000), message.subarray(100_000)],
      Infinity,
      () => undefined,
    );
    let calls = 0;
    while (!compressing.run(() => true)) calls++;
    expect(calls).toBeGreaterThan(3);
    const compressed = Uint8Array.from(compressing.output.flatMap((p) => Array.from(p)));
    expect(Array.from(compressed.subarray(-4))).toEqual(Array.from(TAIL));
    // What a one-shot inflate reads is the message.
    const oneShot = zlib.inflateRawSync(compressed, { finishFlush: SYNC_FLUSH });
    expect(same(oneShot, message)).toBe(true);
    const inflating = new SyncStep(
      inflater(),
      SYNC_FLUSH,
      [compressed],
      message.length,
      () => new Error("too much"),
    );
    calls = 0;
    while (!inflating.run(() => true)) calls++;
    expect(calls).toBeGreaterThan(3);
    const inflated = Uint8Array.from(inflating.output.flatMap((p) => Array.from(p)));
    expect(same(inflated, message)).toBe(true);
    expect(inflating.ended).toBe(false);
    deflater.close();
  });

  it("falls back to the public asynchronous streams where the internals are missing", async () => {
    // The runtime's zlib with the native handle hidden: the probe refuses it.
    const hide = (stream: object): ZlibStreamLike =>
      new Proxy(stream, {
        get: (target, key) => {
          if (key === "_handle") return undefined;
          const value = Reflect.get(target, key, target) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      }) as ZlibStreamLike;
    const hidden: ZlibLike = {
      constants: zlib.constants,
      createDeflateRaw: (options) => hide(zlib.createDeflateRaw(options)),
      createInflateRaw: (options) => hide(zlib.createInflateRaw(options)),
    };
    expect(hasSyncStep(hidden)).toBe(false);
    const engine = createZlibEngine(hidden);
    const c = engine.createCompressor({ windowBits: 15, level: -1, memLevel: 8, noContextTakeover: false });
    const d = engine.createDecompressor({ windowBits: 15, noContextTakeover: false });
    for (let i = 0; i < 3; i++) {
      const compressed = c.compress(text("Hello"), true);
      expect(compressed).toBeInstanceOf(Promise);
      const inflated = d.decompress(await compressed, true, 100);
      expect(inflated).toBeInstanceOf(Promise);
      expect(decode(await inflated)).toBe("Hello");
    }
    await expect(
      Promise.resolve(d.decompress([Uint8Array.of(0xff, 0xff), TAIL], true, 100)),
    ).rejects.toBeInstanceOf(RemoteProtocolError);
    c.close();
    d.close();
  });
});
