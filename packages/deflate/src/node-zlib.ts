/**
 * The process-wide permessage-deflate engine of the Node, Deno and Bun adapters, defined once:
 * the zlib engine on the runtime's own `node:zlib` (all three provide it), created the first
 * time a server or client uses compression. Each adapter re-exports `setDeflateConcurrency` and
 * hands `deflateEngine` to the session's `ServerCore` and `dial`.
 *
 * The zlib engine (with its synchronous step where the runtime passes the probe) is the default
 * on all three runtimes because it was faster than the portable engine at every message size
 * measured (package README, "Choosing an engine"); the portable engine stays available through
 * `createPortableEngine()` for runtimes without `node:zlib`.
 *
 * @module
 */
import * as zlib from "node:zlib";
import type { DeflateEngine } from "@ws/codec/extensions";
import { createZlibEngine } from "./zlib-engine.ts";

export { setTurnTick, type TurnTick } from "./limiter.ts";

let engine: DeflateEngine | undefined;

/** The shared zlib engine (created on first call). */
export function deflateEngine(): DeflateEngine {
  engine ??= createZlibEngine(zlib);
  return engine;
}

/**
 * Sets how many zlib operations (compressing or inflating one message, or one piece of a
 * streamed message) may run at once in this process, across every server, client and
 * connection. Default 10, as in `ws`: zlib work runs on the runtime's thread pool, and many
 * concurrent operations fragment memory badly on Linux (nodejs/node#8871). More work waits in
 * order. Messages handled synchronously (small ones) skip the limit.
 *
 * @throws {RangeError} unless `limit` is an integer ≥ 1.
 */
export function setDeflateConcurrency(limit: number): void {
  // The engine keeps one limiter per zlib module, updated by every engine created with
  // maxConcurrency: this throwaway engine only sets the shared limit (and checks it).
  createZlibEngine(zlib, { maxConcurrency: limit });
}
