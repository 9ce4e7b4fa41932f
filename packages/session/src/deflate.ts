/**
 * permessage-deflate (RFC 7692) as the servers and clients of every adapter expose it: the
 * `perMessageDeflate` option, turned into the codec's extension factory on an engine the
 * adapter injects. The session stays runtime-neutral: it never imports `node:zlib`; each
 * adapter passes `import * as zlib from "node:zlib"` (Node, Deno and Bun all provide it) to
 * {@link zlibEngineProvider} once, at module level, and hands the provider's `engine` to
 * `ServerCore` and `dial`.
 *
 * @module
 */
import {
  createZlibEngine,
  type DeflateEngine,
  type ExtensionFactory,
  type PermessageDeflateOptions,
  permessageDeflate,
  type ZlibLike,
} from "@ws/codec/extensions";

/**
 * The permessage-deflate settings of a server or client: the codec's
 * {@link PermessageDeflateOptions} without `engine` (the adapter supplies it).
 *
 * - `threshold` (default 1024): messages smaller than this many bytes are sent uncompressed;
 *   `send(data, { compress: false })` skips compression for one message.
 * - `level` (-1 to 9, default -1: zlib's 6), `memLevel` (1 to 9, default 8).
 * - `serverNoContextTakeover`, `clientNoContextTakeover`, `serverMaxWindowBits`,
 *   `clientMaxWindowBits` (RFC 7692 §7.1): a server applies them to what it accepts, a client
 *   offers them. A server without them accepts whatever the client asks for.
 * - `offers` (client): several offers, most preferred first.
 *
 * The decompressed size of a message counts against `limits.maxMessageSize` (a message that
 * inflates past it closes the connection with 1009).
 */
export type DeflateOptions = Omit<PermessageDeflateOptions, "engine">;

/**
 * The `perMessageDeflate` option: `true` for the defaults, `false` for none, or
 * {@link DeflateOptions}.
 */
export type PerMessageDeflateOption = boolean | DeflateOptions;

/** Supplies the process-wide deflate engine (created on first use). */
export type DeflateEngineSource = () => DeflateEngine;

/**
 * The extension factories for a `perMessageDeflate` option (`[]` when it is off). `fallback`
 * applies when the option is `undefined` (servers: false, clients: true).
 *
 * @throws {TypeError} when deflate is asked for and no engine was supplied.
 * @throws {RangeError} on an option out of range (from the codec).
 */
export function deflateExtensions(
  option: PerMessageDeflateOption | undefined,
  fallback: boolean,
  engine: DeflateEngineSource | undefined,
): ExtensionFactory[] {
  const wanted = option ?? fallback;
  if (wanted === false) return [];
  if (engine === undefined) {
    throw new TypeError("Cannot use perMessageDeflate: this runtime adapter supplies no deflate engine");
  }
  const settings: DeflateOptions = wanted === true ? {} : wanted;
  return [permessageDeflate({ ...settings, engine: engine() })];
}

/** The lazily created zlib engine of one adapter, see {@link zlibEngineProvider}. */
export interface ZlibEngineProvider {
  /** The engine, created on first call and shared by every server and client of the process. */
  readonly engine: DeflateEngineSource;
  /**
   * Sets the most zlib operations (compress or inflate calls) running at once in this process,
   * across every connection. Default 10.
   */
  setConcurrency(limit: number): void;
}

/**
 * A lazily created, process-wide zlib engine over an injected `node:zlib`-compatible module.
 *
 * @example
 * ```ts
 * import * as zlib from "node:zlib";
 * const provider = zlibEngineProvider(zlib);
 * const core = new ServerCore({ perMessageDeflate: true }, createSocket, [], provider.engine);
 * ```
 */
export function zlibEngineProvider(zlib: ZlibLike): ZlibEngineProvider {
  let engine: DeflateEngine | undefined;
  return {
    engine: () => {
      engine ??= createZlibEngine(zlib);
      return engine;
    },
    // The codec keeps one concurrency limiter per zlib module, updated by every engine created
    // with maxConcurrency: the throwaway engine only sets the shared limit (and checks it).
    setConcurrency: (limit) => {
      createZlibEngine(zlib, { maxConcurrency: limit });
    },
  };
}
