/**
 * `ws`'s option names mapped onto ours. Every `ws` option is either mapped, accepted where it
 * already means what we do, or refused with a `TypeError` naming it: an option that silently
 * does nothing is a bug waiting to happen.
 *
 * `ws` option reference: https://github.com/websockets/ws/blob/master/doc/ws.md
 *
 * @module
 */
import type { DeflateOptions, PerMessageDeflateOption } from "@ws/session";
import type { ClientOptions } from "../client.ts";

/** `ws`'s `perMessageDeflate` object form (the parts we map). */
export interface WsPerMessageDeflateOptions {
  readonly serverNoContextTakeover?: boolean | undefined;
  readonly clientNoContextTakeover?: boolean | undefined;
  readonly serverMaxWindowBits?: number | boolean | undefined;
  readonly clientMaxWindowBits?: number | boolean | undefined;
  readonly threshold?: number | undefined;
  /** Only `level` and `memLevel` are used (our deflate engine owns the rest). */
  readonly zlibDeflateOptions?: { readonly level?: number; readonly memLevel?: number } | undefined;
}

/** Refuses options we do not support, naming each; `why` says what to use instead. */
export function refuse(where: string, options: object, unsupported: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(options)) {
    const why = unsupported[name];
    if (why !== undefined && (options as Record<string, unknown>)[name] !== undefined) {
      throw new TypeError(`Cannot create ${where}: option ${name} is not supported (${why})`);
    }
  }
}

/** Throws a TypeError naming the first option that is neither known nor refused. */
export function checkKnown(where: string, options: object, known: readonly string[]): void {
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) throw new TypeError(`Cannot create ${where}: unknown option ${name}`);
  }
}

const DEFLATE_KEYS = [
  "serverNoContextTakeover",
  "clientNoContextTakeover",
  "serverMaxWindowBits",
  "clientMaxWindowBits",
  "threshold",
  "zlibDeflateOptions",
];

/** `ws`'s `perMessageDeflate` → ours (same parameter names, RFC 7692 §7.1). */
export function mapDeflate(
  where: string,
  value: boolean | WsPerMessageDeflateOptions | undefined,
): PerMessageDeflateOption | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  for (const name of Object.keys(value)) {
    if (!DEFLATE_KEYS.includes(name)) {
      throw new TypeError(
        `Cannot create ${where}: perMessageDeflate.${name} is not supported (zlib runs in our own engine; see setDeflateConcurrency for concurrency)`,
      );
    }
  }
  const { zlibDeflateOptions, ...params } = value;
  const zlib = zlibDeflateOptions ?? {};
  for (const name of Object.keys(zlib)) {
    if (name !== "level" && name !== "memLevel") {
      throw new TypeError(
        `Cannot create ${where}: perMessageDeflate.zlibDeflateOptions.${name} is not supported`,
      );
    }
  }
  const mapped: Record<string, unknown> = {};
  for (const [name, v] of Object.entries({ ...params, ...zlib })) if (v !== undefined) mapped[name] = v;
  return mapped as DeflateOptions;
}

/** `maxPayload` bounds both a frame and a message, as in `ws` (over it: close 1009). */
export function mapMaxPayload(maxPayload: number | undefined): ClientOptions["limits"] {
  if (maxPayload === undefined) return undefined;
  if (!(maxPayload > 0) || !Number.isFinite(maxPayload)) {
    throw new TypeError(`Cannot use maxPayload: ${String(maxPayload)} is not a positive number of bytes`);
  }
  return { maxMessageSize: maxPayload, maxFrameSize: maxPayload };
}
