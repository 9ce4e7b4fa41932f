/**
 * The process-wide permessage-deflate engine of this adapter: the codec's zlib engine on the
 * runtime's `node:zlib`, created the first time a server or client uses compression.
 *
 * @module
 */
import * as zlib from "node:zlib";
import { type DeflateEngineSource, zlibEngineProvider } from "@ws/session";

const provider = zlibEngineProvider(zlib);

/** The shared zlib engine (created on first call). */
export const deflateEngine: DeflateEngineSource = provider.engine;

/**
 * Sets how many zlib operations (compressing or inflating one message, or one piece of a
 * streamed message) may run at once in this process, across every server, client and
 * connection. Default 10, as in `ws`: zlib work runs on the runtime's thread pool, and many
 * concurrent operations fragment memory badly on Linux (nodejs/node#8871). More work waits in
 * order. Small messages without context takeover are compressed synchronously and skip the limit.
 *
 * @throws {RangeError} unless `limit` is an integer ≥ 1.
 */
export function setDeflateConcurrency(limit: number): void {
  provider.setConcurrency(limit);
}
