/**
 * Raw DEFLATE engines for permessage-deflate (RFC 7692) in `@ws/codec`: the codec implements
 * the extension (negotiation, RSV1, the `00 00 ff ff` tail) on an injected `DeflateEngine`, and
 * this package provides two.
 *
 * - {@link createPortableEngine}: synchronous, plain JavaScript on public APIs (pako), for every
 *   runtime, browsers and workers included.
 * - {@link createZlibEngine}: on an injected `node:zlib`-compatible module (Node, Deno, Bun),
 *   faster there. `@ws/deflate/node-zlib` holds the process-wide instance the adapters share.
 *
 * @module
 */
export { createPortableEngine } from "./portable-engine.ts";
export {
  createZlibEngine,
  DEFAULT_SYNC_DEFLATE_MAX_SIZE,
  DEFAULT_SYNC_INFLATE_MAX_SIZE,
  DEFAULT_ZLIB_CONCURRENCY,
  type ZlibEngineOptions,
  type ZlibLike,
  type ZlibOptionsLike,
  type ZlibStreamLike,
} from "./zlib-engine.ts";
