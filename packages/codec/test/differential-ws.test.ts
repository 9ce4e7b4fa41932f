/**
 * Differential test against the `ws` package's frame parser (its Receiver) on the same bytes:
 * both must agree on the messages, pings and close, and on whether the stream is invalid.
 * Known, deliberate differences: `ws` accepts non-minimal length encodings (we reject them,
 * RFC 6455 §5.2; our encoder never produces them, so they are not generated), and `ws`
 * validates UTF-8 when a message ends while we fail as soon as the bytes are certainly invalid.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame } from "../src/frame/index.ts";
import { Connection, type InboundEvent } from "../src/index.ts";
import { concatBytes, feed } from "./helpers.ts";

type Seen = { kind: string; data?: unknown }[];

/** ws's frame parser: exported by the package, though not in its type definitions. */
interface WsReceiver {
  on(event: string, listener: (...args: never[]) => void): void;
  write(chunk: Buffer): void;
}
type WsModule = {
  Receiver: new (options: {
    isServer: boolean;
    maxPayload: number;
    allowSynchronousEvents: boolean;
  }) => WsReceiver;
};
// Loaded by path: Bun swaps `import "ws"` for its own built-in `ws`, whose Receiver is a stub.
const wsModule = (await import(new URL("../node_modules/ws/index.js", import.meta.url).href)) as WsModule & {
  default?: WsModule;
};
const { Receiver } = wsModule.default ?? wsModule;

async function viaWs(bytes: Uint8Array): Promise<{ seen: Seen; error: boolean }> {
  const seen: Seen = [];
  let error = false;
  const receiver = new Receiver({ isServer: true, maxPayload: 1 << 20, allowSynchronousEvents: true });
  receiver.on("message", (data: Buffer, isBinary: boolean) =>
    seen.push(
      isBinary ? { kind: "binary", data: Array.from(data) } : { kind: "text", data: data.toString("utf8") },
    ),
  );
  receiver.on("ping", (data: Buffer) => seen.push({ kind: "ping", data: Array.from(data) }));
  receiver.on("pong", (data: Buffer) => seen.push({ kind: "pong", data: Array.from(data) }));
  receiver.on("conclude", (code: number, reason: Buffer) =>
    seen.push({ kind: "close", data: [code, reason.toString()] }),
  );
  receiver.on("error", () => {
    error = true;
  });
  receiver.write(Buffer.from(bytes));
  // The Writable reports errors asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 0));
  return { seen, error };
}

function viaCodec(bytes: Uint8Array): { seen: Seen; error: boolean; errorCode?: string } {
  const events: InboundEvent[] = feed(
    new Connection({ role: "server", limits: { maxMessageSize: 1 << 20 } }),
    [bytes],
  );
  const seen: Seen = [];
  let error = false;
  let errorCode: string | undefined;
  for (const e of events) {
    if (e.type === "failed") {
      error = true;
      errorCode = e.error.code;
    } else if (e.type === "text") seen.push({ kind: "text", data: e.data });
    else if (e.type === "binary") seen.push({ kind: "binary", data: Array.from(e.data) });
    else if (e.type === "ping" || e.type === "pong") seen.push({ kind: e.type, data: Array.from(e.payload) });
    else if (e.type === "close") seen.push({ kind: "close", data: [e.code, e.reason] });
  }
  return errorCode === undefined ? { seen, error } : { seen, error, errorCode };
}

const KEY = new Uint8Array([1, 2, 3, 4]);
/** Frames with any opcode, RSV, FIN and a payload that may or may not be valid UTF-8. */
const frame = fc
  .record({
    opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 10, 11),
    fin: fc.boolean(),
    rsv: fc.constantFrom(0, 0, 0, 0x40),
    payload: fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 30 }).map((s) => new TextEncoder().encode(s)),
      fc.uint8Array({ maxLength: 30 }),
      fc.constantFrom(new Uint8Array([0x03, 0xe8]), new Uint8Array([0x03, 0xed]), new Uint8Array([0x03])),
    ),
  })
  .map((f) => concatBytes(encodeFrame({ ...f, maskingKey: KEY })));

describe("differential against ws's Receiver", () => {
  it("agrees on events up to the first error, and on whether there is one", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { maxLength: 6 }), async (frames) => {
        const bytes = concatBytes(frames);
        const ours = viaCodec(bytes);
        const theirs = await viaWs(bytes);
        if (ours.errorCode === "INVALID_UTF8") {
          // The one deliberate difference: we fail fast on invalid UTF-8 in an unfinished
          // message; ws checks when the message ends, which this stream never reaches.
          // ws validates later, so it may have reported more control frames meanwhile, and
          // may or may not have met another error (or the message's end) by then.
          expect(theirs.seen.slice(0, ours.seen.length)).toEqual(ours.seen);
        } else {
          expect(ours.error).toBe(theirs.error);
          // Both stop at the first error, so the events before it match exactly.
          expect(ours.seen).toEqual(theirs.seen);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
