/**
 * The engines every permessage-deflate test runs against: the portable engine everywhere, and
 * the zlib engine on runtimes with `node:zlib`. The browser bundle (`test/browser/run.mjs`)
 * swaps this file for `engines.browser.ts`, which has only the portable engine.
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
