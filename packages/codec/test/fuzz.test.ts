/**
 * Fuzz: random bytes, and random mutations of valid streams, fed to connections of both roles.
 * The only permitted outcomes are events (a `failed` event included); nothing may throw, and a
 * failure always carries a close code the adapter may send. Time-boxed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Connection, RemoteProtocolError } from "../src/index.ts";
import { concatBytes, drain, sync } from "./helpers.ts";

const TIME_LIMIT_MS = 4000;

function run(role: "client" | "server", chunks: readonly Uint8Array[], streamMessages: boolean): void {
  const conn = new Connection({ role, streamMessages, limits: { maxMessageSize: 4096, maxFragments: 8 } });
  let failed = false;
  for (const chunk of chunks) {
    conn.receive(chunk);
    for (const e of drain(conn)) {
      expect(failed).toBe(false);
      if (e.type === "failed") {
        failed = true;
        expect(e.error).toBeInstanceOf(RemoteProtocolError);
        expect([1002, 1007, 1008, 1009]).toContain(e.error.closeCode);
      }
    }
  }
  conn.receiveEof();
  expect(conn.nextEvent()).toMatchObject({ type: "eof" });
}

/** A valid client stream to mutate. */
function validStream(seed: number): Uint8Array {
  const client = new Connection({ role: "client", random: (t) => t.fill(seed & 0xff) });
  return concatBytes([
    ...sync(client.send({ type: "text", data: "héllo wörld €" })),
    ...sync(client.send({ type: "binary-piece", data: new Uint8Array(300).fill(seed & 0xff), last: false })),
    ...sync(client.send({ type: "ping", payload: new Uint8Array([1, 2, 3]) })),
    ...sync(client.send({ type: "binary-piece", data: new Uint8Array(10), last: true })),
    ...sync(client.send({ type: "close", code: 1000, reason: "bye" })),
  ]);
}

const chunking = (bytes: Uint8Array, size: number) => {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
};

describe("fuzz", () => {
  it("random bytes never make receive/nextEvent throw", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<"client" | "server">("client", "server"),
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }),
        fc.boolean(),
        (role, chunks, stream) => run(role, chunks, stream),
      ),
      { numRuns: 100_000, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
  });

  it("mutated valid streams never make receive/nextEvent throw", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        (seed, mutations, size, stream) => {
          const bytes = validStream(seed);
          for (const [at, value] of mutations) bytes[at % bytes.length] = value;
          run("server", chunking(bytes, size), stream);
        },
      ),
      { numRuns: 100_000, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
  });
});
