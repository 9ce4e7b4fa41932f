/**
 * The committed seed corpus: `corpus/<group>/<name>` files, one input each, made by
 * `make-corpus.ts` and extended by hand (any file dropped into a group is used). Read with
 * `node:fs`, which Node, Deno and Bun all provide.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

const cache = new Map<string, Uint8Array[]>();

/** The corpus directory. */
export const CORPUS_DIR: URL = new URL("../corpus/", import.meta.url);

/** The seeds of one group, sorted by file name (stable across runs). */
export function seeds(group: string): Uint8Array[] {
  let found = cache.get(group);
  if (found === undefined) {
    const dir = new URL(`${group}/`, CORPUS_DIR);
    found = readdirSync(dir)
      .sort()
      .map((name) => new Uint8Array(readFileSync(new URL(name, dir))));
    if (found.length === 0) throw new Error(`The corpus group ${group} is empty`);
    cache.set(group, found);
  }
  return found;
}
