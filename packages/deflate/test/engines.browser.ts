/** `engines.ts` for the browser: only the portable engine (no `node:zlib` there). */
import { createPortableEngine } from "../src/index.ts";
import type { NamedEngine } from "./engines.ts";

export const ENGINES: readonly NamedEngine[] = [{ name: "portable engine", engine: createPortableEngine() }];

export const DECODING_PATHS: readonly NamedEngine[] = ENGINES;
