/**
 * The engines every permessage-deflate test runs against: the portable engine everywhere, and
 * the zlib engine on runtimes with `node:zlib`. The browser bundle (`test/browser/run.mjs`)
 * swaps this file for `engines.browser.ts`, which has only the portable engine.
 *
 * {@link DECODING_PATHS}: the same engines, plus the zlib engine with each of its ways to
 * inflate forced (its streams only; its synchronous calls and step up to 1 MiB), for the
 * contract's limit, bomb and corrupt-data cases, so that each of those is written once and
 * still reaches every path.
 */
import * as zlib from "node:zlib";
import type { DeflateEngine } from "@ws/codec/extensions";
import { createPortableEngine, createZlibEngine } from "../src/index.ts";

/** A named engine for the test titles. */
export interface NamedEngine {
  readonly name: string;
  readonly engine: DeflateEngine;
}

export const ENGINES: readonly NamedEngine[] = [
  { name: "portable engine", engine: createPortableEngine() },
  { name: "zlib engine", engine: createZlibEngine(zlib) },
];

export const DECODING_PATHS: readonly NamedEngine[] = [
  ...ENGINES,
  {
    name: "zlib engine, streams only",
    engine: createZlibEngine(zlib, { syncDeflateMaxSize: 0, syncInflateMaxSize: 0 }),
  },
  {
    name: "zlib engine, synchronous up to 1 MiB",
    engine: createZlibEngine(zlib, { syncInflateMaxSize: 1 << 20 }),
  },
];
