/**
 * The raw DEFLATE engine for permessage-deflate under fuzzing: the one the codec's own tests
 * use, `@ws/deflate`'s `createZlibEngine` over the runtime's `node:zlib` (Node, Deno and Bun
 * all have it). Kept
 * in one place so a move of the engine touches one import.
 *
 * @module
 */
import * as zlib from "node:zlib";
import type { DeflateEngine } from "@ws/codec/extensions";
import { createZlibEngine } from "@ws/deflate";

/** One engine per process, as adapters use it. */
export const engine: DeflateEngine = createZlibEngine(zlib);
