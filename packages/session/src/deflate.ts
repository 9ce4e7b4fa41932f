/**
 * permessage-deflate (RFC 7692) as the servers and clients of every adapter expose it: the
 * `perMessageDeflate` option, turned into the codec's extension factory on an engine the
 * adapter injects. The session stays runtime-neutral and holds no engine: the adapters hand
 * `deflateEngine` from `@ws/deflate/node-zlib` to `ServerCore` and `dial`.
 *
 * @module
 */
import {
  type DeflateEngine,
  type ExtensionFactory,
  type PermessageDeflateOptions,
  permessageDeflate,
} from "@ws/codec/extensions";

/**
 * The permessage-deflate settings of a server or client: the codec's
 * {@link PermessageDeflateOptions}, with `engine` optional.
 *
 * - `engine`: the raw DEFLATE engine (default: the adapter's, the zlib engine of
 *   `@ws/deflate/node-zlib`); for example `createPortableEngine()` from `@ws/deflate`.
 * - `threshold` (default 1024): messages smaller than this many bytes are sent uncompressed;
 *   `send(data, { compress: false })` skips compression for one message.
 * - `level` (-1 to 9, default -1: the engine's default, 6), `memLevel` (1 to 9, default 8).
 * - `serverNoContextTakeover`, `clientNoContextTakeover`, `serverMaxWindowBits`,
 *   `clientMaxWindowBits` (RFC 7692 §7.1): a server applies them to what it accepts, a client
 *   offers them. A server without them accepts whatever the client asks for.
 * - `offers` (client): several offers, most preferred first.
 *
 * The decompressed size of a message counts against `limits.maxMessageSize` (a message that
 * inflates past it closes the connection with 1009).
 */
export type DeflateOptions = Omit<PermessageDeflateOptions, "engine"> & {
  readonly engine?: DeflateEngine | undefined;
};

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
 * @throws {TypeError} when deflate is asked for and neither the option nor the adapter supplies
 *   an engine.
 * @throws {RangeError} on an option out of range (from the codec).
 */
export function deflateExtensions(
  option: PerMessageDeflateOption | undefined,
  fallback: boolean,
  engine: DeflateEngineSource | undefined,
): ExtensionFactory[] {
  const wanted = option ?? fallback;
  if (wanted === false) return [];
  const settings: DeflateOptions = wanted === true ? {} : wanted;
  const chosen = settings.engine ?? engine?.();
  if (chosen === undefined) {
    throw new TypeError(
      "Cannot use perMessageDeflate: this runtime adapter supplies no deflate engine; pass perMessageDeflate.engine",
    );
  }
  return [permessageDeflate({ ...settings, engine: chosen })];
}
