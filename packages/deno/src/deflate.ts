/**
 * The process-wide permessage-deflate engine, defined once for the three adapters in
 * `@ws/deflate/node-zlib` (the zlib engine on the runtime's `node:zlib`).
 *
 * @module
 */
export { deflateEngine, setDeflateConcurrency } from "@ws/deflate/node-zlib";
