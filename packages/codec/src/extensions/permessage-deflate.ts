/**
 * permessage-deflate (RFC 7692): negotiation for both roles and the per-message transform, on
 * an injected raw DEFLATE engine ({@link DeflateEngine}): the codec has none of its own, so it
 * stays free of I/O, timers and runtime globals. `@ws/deflate` provides two,
 * `createPortableEngine()` (every runtime, browsers included) and `createZlibEngine(zlib)`
 * (Node, Deno, Bun; what the adapters use).
 *
 * ```ts
 * import { createPortableEngine } from "@ws/deflate";
 * import { permessageDeflate } from "./permessage-deflate.ts";
 * const engine = createPortableEngine();
 * const deflate = permessageDeflate({ engine });
 * // Server: checkUpgradeRequest(request, { extensions: [deflate] }).
 * // Client: buildUpgradeRequest({ url, key, extensions: [deflate] }), then
 * //         checkUpgradeResponse(response, { key, extensions: [deflate] }).
 * ```
 *
 * ## Memory per connection
 *
 * With zlib's algorithm (both engines), a compressor holds about `(1 << (windowBits + 2)) + (1 << (memLevel + 9))` bytes
 * (256 KiB with the defaults 15 and 8; 4 KiB + 128 KiB with 10 and 8; 64 KiB with 12 and 6) and
 * a decompressor about `(1 << windowBits) + 7 KiB` (39 KiB with 15). With context takeover
 * (the default) both live as long as the connection: a server with 10 000 idle connections
 * holds about 3 GiB with the defaults. `*_no_context_takeover` lets the engine free them after
 * every message (both engines do), at some loss of compression for similar consecutive
 * messages; smaller `*_max_window_bits` and `memLevel` shrink them at a smaller loss.
 *
 * @module
 */
import type { SendOptions } from "../connection/events.ts";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { Compressor, Decompressor, DeflateEngine } from "./deflate-engine.ts";
import type {
  Extension,
  ExtensionFactory,
  ExtensionOffer,
  ExtensionParam,
  MessageDecoder,
  MessageEncoder,
} from "./extension.ts";

/** The registered extension name (RFC 7692 §7). */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** The RSV bit permessage-deflate owns: RSV1, the "Per-Message Compressed" bit (RFC 7692 §6). */
export const RSV1 = 0x40;

/** The default {@link PermessageDeflateOptions.threshold}, in bytes. */
export const DEFAULT_DEFLATE_THRESHOLD = 1024;

// RFC 7692 §7.2.1 / §7.2.2: the empty stored block a sync flush ends with, removed by the
// sender and appended again by the receiver.
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/**
 * The most one inflate step of `inputLength` bytes can output. In DEFLATE (RFC 1951 §3.2.5) a
 * length/distance pair copies at most 258 bytes and takes at least 2 bits (1-bit codes in a
 * dynamic Huffman block), so each input byte yields at most 1032 bytes. The step may also
 * finish bits the inflater held from earlier input (zlib holds under 8 bytes) and gets the
 * 4-byte tail on the last piece: counted as 16 bytes more input, plus one maximal match.
 */
function inflatedAtMost(inputLength: number): number {
  return (inputLength + 16) * 1032 + 258;
}

/**
 * The parameters of one permessage-deflate offer (RFC 7692 §7.1). On the server the same fields
 * say what the server asks for in its response.
 */
export interface PermessageDeflateParams {
  /**
   * `server_no_context_takeover` (§7.1.1.1). Client: ask the server to compress every message
   * from an empty window. Server: do so. Saves the server's compressor memory between messages
   * (about `(1 << (serverMaxWindowBits + 2)) + (1 << (memLevel + 9))` bytes, 256 KiB by default)
   * on the server and the matching decompressor (about 39 KiB) on the client. Default false.
   */
  readonly serverNoContextTakeover?: boolean;
  /**
   * `client_no_context_takeover` (§7.1.1.2). Client: promise to compress every message from an
   * empty window. Server: require it. Saves the client's compressor and the server's
   * decompressor between messages. Default false. (A server also answers with it whenever the
   * client offered it: the client has promised it anyway, and the server may then free its
   * decompressor between messages.)
   */
  readonly clientNoContextTakeover?: boolean;
  /**
   * `server_max_window_bits` (§7.1.2.1), 8 to 15. Client: ask the server for at most this window.
   * Server: use at most this window (and at most what the client asks for). The server's
   * compressor and the client's decompressor shrink with it: `1 << (bits + 2)` and
   * `1 << bits` bytes of window. Default: not asked for, 15.
   */
  readonly serverMaxWindowBits?: number;
  /**
   * `client_max_window_bits` (§7.1.2.2). Client: `true` (the default) offers the parameter
   * without a value (the server may then limit our window), a number 8 to 15 promises at most that
   * window, `false` leaves it out. Server: a number asks the client for at most that window and
   * declines offers that do not allow it (as `ws` does); otherwise the client's own limit is
   * accepted. The client's compressor and the server's decompressor shrink with it.
   */
  readonly clientMaxWindowBits?: number | boolean;
}

/** Options of {@link permessageDeflate}. */
export interface PermessageDeflateOptions extends PermessageDeflateParams {
  /** The raw DEFLATE engine, e.g. `createPortableEngine()` from `@ws/deflate`. Required: the codec has none. */
  readonly engine: DeflateEngine;
  /**
   * Messages smaller than this many bytes are sent uncompressed (compressing them rarely pays).
   * Messages sent in pieces, whose size is unknown, are always compressed. Default 1024.
   */
  readonly threshold?: number;
  /** zlib compression level, 0 to 9, or -1 for zlib's default (6). Default -1. */
  readonly level?: number;
  /**
   * zlib `memLevel`, 1 to 9: the compressor's hash tables take `1 << (memLevel + 9)` bytes
   * (128 KiB at the default 8; 16 KiB at 5), for the connection's lifetime with context takeover.
   * Default 8.
   */
  readonly memLevel?: number;
  /**
   * Client: the offers to send, most preferred first (RFC 7692 §5: several offers may be sent;
   * the server accepts at most one). Default: one offer made of the fields of these options.
   * Example: `[{ serverMaxWindowBits: 10 }, {}]` asks for a small server window and falls back
   * to the plain offer. Ignored on the server.
   */
  readonly offers?: readonly PermessageDeflateParams[];
}

/** What one side agreed to (RFC 7692 §7.1), with absent window sizes as 15. */
export interface NegotiatedDeflate {
  /** The server compresses every message with a fresh context (RFC 7692 §7.1.1.1). */
  readonly serverNoContextTakeover: boolean;
  /** The client compresses every message with a fresh context (RFC 7692 §7.1.1.2). */
  readonly clientNoContextTakeover: boolean;
  /** The LZ77 window the server compresses with, in bits, 8–15 (RFC 7692 §7.1.2.1). */
  readonly serverMaxWindowBits: number;
  /** The LZ77 window the client compresses with, in bits, 8–15 (RFC 7692 §7.1.2.2). */
  readonly clientMaxWindowBits: number;
}

/** The permessage-deflate {@link Extension} of one connection. */
export interface PermessageDeflateExtension extends Extension {
  /** The negotiated parameters as this endpoint applies them. */
  readonly negotiated: NegotiatedDeflate;
  /** Frees the compressor and decompressor (the engine's memory). Idempotent. */
  close(): void;
}

/** The permessage-deflate {@link ExtensionFactory}. */
export interface PermessageDeflateFactory extends ExtensionFactory {
  /** Client: checks the server's response and returns the extension to use. */
  accept(response: ExtensionOffer): PermessageDeflateExtension;
  /** Server: picks the first acceptable offer, or declines them all. */
  negotiate(
    offers: readonly ExtensionOffer[],
  ): { readonly response: ExtensionOffer; readonly extension: PermessageDeflateExtension } | undefined;
}

/** One offer or response, parsed and checked (RFC 7692 §7.1). */
interface Parsed {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** undefined: absent. */
  serverMaxWindowBits: number | undefined;
  /** undefined: absent; null: present without a value (allowed in offers only). */
  clientMaxWindowBits: number | null | undefined;
}

// RFC 7692 §7.1.2.1, §7.1.2.2: a decimal integer from 8 to 15, without leading zeros.
const WINDOW_BITS = /^(?:8|9|1[0-5])$/;

/**
 * Parses the parameters of an offer (`inOffer`) or a response. Returns the reason when they are
 * invalid (RFC 7692 §5: an unknown parameter, a parameter twice, an invalid value).
 */
function parseParams(params: readonly ExtensionParam[], inOffer: boolean): Parsed | string {
  const parsed: Parsed = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const { name, value } of params) {
    if (seen.has(name)) return `parameter ${name} appears twice`;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        // §7.1.1.1, §7.1.1.2: no value.
        if (value !== null) return `parameter ${name} has a value`;
        if (name === "server_no_context_takeover") parsed.serverNoContextTakeover = true;
        else parsed.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits":
        // §7.1.2.1: always with a value.
        if (value === null || !WINDOW_BITS.test(value)) return `parameter ${name} has an invalid value`;
        parsed.serverMaxWindowBits = Number(value);
        break;
      case "client_max_window_bits":
        // §7.1.2.2: without a value only in an offer.
        if (value === null) {
          if (!inOffer) return `parameter ${name} has no value`;
          parsed.clientMaxWindowBits = null;
        } else if (!WINDOW_BITS.test(value)) {
          return `parameter ${name} has an invalid value`;
        } else {
          parsed.clientMaxWindowBits = Number(value);
        }
        break;
      default:
        return `unknown parameter ${name}`;
    }
  }
  return parsed;
}

function checkWindowBits(what: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 8 || value > 15)) {
    throw new RangeError(
      `Cannot create permessage-deflate: ${what} must be an integer from 8 to 15, got ${value}`,
    );
  }
}

function checkParams(params: PermessageDeflateParams): void {
  checkWindowBits("serverMaxWindowBits", params.serverMaxWindowBits);
  const client = params.clientMaxWindowBits;
  if (typeof client === "number") checkWindowBits("clientMaxWindowBits", client);
}

/** The offer a client sends for `params` (RFC 7692 §7.1). */
function offerFor(params: PermessageDeflateParams): ExtensionOffer {
  const out: ExtensionParam[] = [];
  if (params.serverNoContextTakeover === true) out.push({ name: "server_no_context_takeover", value: null });
  if (params.clientNoContextTakeover === true) out.push({ name: "client_no_context_takeover", value: null });
  if (params.serverMaxWindowBits !== undefined) {
    out.push({ name: "server_max_window_bits", value: String(params.serverMaxWindowBits) });
  }
  const client = params.clientMaxWindowBits ?? true;
  if (client === true) out.push({ name: "client_max_window_bits", value: null });
  else if (client !== false) out.push({ name: "client_max_window_bits", value: String(client) });
  return { name: PERMESSAGE_DEFLATE, params: out };
}

/** The parameters of a response, in the usual order. */
function responseParams(agreed: Parsed): ExtensionParam[] {
  const out: ExtensionParam[] = [];
  if (agreed.serverNoContextTakeover) out.push({ name: "server_no_context_takeover", value: null });
  if (agreed.clientNoContextTakeover) out.push({ name: "client_no_context_takeover", value: null });
  if (agreed.serverMaxWindowBits !== undefined) {
    out.push({ name: "server_max_window_bits", value: String(agreed.serverMaxWindowBits) });
  }
  if (typeof agreed.clientMaxWindowBits === "number") {
    out.push({ name: "client_max_window_bits", value: String(agreed.clientMaxWindowBits) });
  }
  return out;
}

function badResponse(detail: string): never {
  // The status of a 101 response that we refuse: the client fails the connection (RFC 6455 §9.1).
  throw new HandshakeError(
    ErrorCode.BadExtensions,
    101,
    `Cannot accept permessage-deflate response: ${detail}`,
  );
}

interface TransformSettings {
  readonly engine: DeflateEngine;
  readonly threshold: number;
  readonly level: number;
  readonly memLevel: number;
}

/**
 * Creates the permessage-deflate extension factory (RFC 7692 §7) for either role.
 *
 * Server (`negotiate`): accepts the first of the client's offers that is valid and acceptable
 * (RFC 7692 §5); an offer with an unknown or repeated parameter or an invalid value is declined,
 * as is, when `clientMaxWindowBits` is a number, an offer without `client_max_window_bits`.
 * Client (`offer`, `accept`): sends the configured offers and fails the handshake with a
 * `HandshakeError` (`BAD_EXTENSIONS`) when the response is invalid or answers none of them.
 *
 * @throws {RangeError} on an option out of range.
 *
 * @example
 * ```ts
 * import { createPortableEngine } from "@ws/deflate";
 * import { permessageDeflate } from "./permessage-deflate.ts";
 * const factory = permessageDeflate({ engine: createPortableEngine(), serverMaxWindowBits: 12 });
 * const result = factory.negotiate([{ name: "permessage-deflate", params: [] }]);
 * console.assert(result?.response.params[0]?.name === "server_max_window_bits");
 * ```
 */
export function permessageDeflate(options: PermessageDeflateOptions): PermessageDeflateFactory {
  const engine = options.engine;
  if (engine === undefined || typeof engine.createCompressor !== "function") {
    throw new TypeError("Cannot create permessage-deflate: options.engine must be a DeflateEngine");
  }
  const threshold = options.threshold ?? DEFAULT_DEFLATE_THRESHOLD;
  if (!(threshold >= 0))
    throw new RangeError(`Cannot create permessage-deflate: threshold must be ≥ 0, got ${threshold}`);
  const level = options.level ?? -1;
  if (!Number.isInteger(level) || level < -1 || level > 9) {
    throw new RangeError(
      `Cannot create permessage-deflate: level must be an integer from -1 to 9, got ${level}`,
    );
  }
  const memLevel = options.memLevel ?? 8;
  if (!Number.isInteger(memLevel) || memLevel < 1 || memLevel > 9) {
    throw new RangeError(
      `Cannot create permessage-deflate: memLevel must be an integer from 1 to 9, got ${memLevel}`,
    );
  }
  checkParams(options);
  const offers = options.offers ?? [options];
  if (offers.length === 0) throw new RangeError("Cannot create permessage-deflate: offers is empty");
  for (const offer of offers) checkParams(offer);
  const settings: TransformSettings = { engine, threshold, level, memLevel };
  const clientOffers = offers.map(offerFor);

  return {
    name: PERMESSAGE_DEFLATE,

    offer: () => clientOffers,

    accept(response: ExtensionOffer): PermessageDeflateExtension {
      const parsed = parseParams(response.params, false);
      if (typeof parsed === "string") badResponse(parsed);
      // The response answers one of our offers; find the first it is a valid answer to.
      let reason = "";
      for (const offered of offers) {
        const wanted = offerFor(offered);
        const mine = parseParams(wanted.params, true) as Parsed;
        // §7.1.2.2: client_max_window_bits in a response only when the offer had it.
        if (parsed.clientMaxWindowBits !== undefined && mine.clientMaxWindowBits === undefined) {
          reason = "client_max_window_bits was not offered";
          continue;
        }
        // §7.1.2.1: the server's window is at most what was asked for.
        if (
          mine.serverMaxWindowBits !== undefined &&
          parsed.serverMaxWindowBits !== undefined &&
          parsed.serverMaxWindowBits > mine.serverMaxWindowBits
        ) {
          reason = `server_max_window_bits=${parsed.serverMaxWindowBits} is larger than the ${mine.serverMaxWindowBits} offered`;
          continue;
        }
        // A server that leaves out a parameter we asked for (server_no_context_takeover,
        // server_max_window_bits) declined that request; we can live with it (we inflate with
        // the full window and keep the context), so the response is accepted as it says.
        const negotiated: NegotiatedDeflate = {
          serverNoContextTakeover: parsed.serverNoContextTakeover,
          // §7.1.1.2: a client that offered client_no_context_takeover keeps its promise.
          clientNoContextTakeover: parsed.clientNoContextTakeover || mine.clientNoContextTakeover,
          serverMaxWindowBits: parsed.serverMaxWindowBits ?? 15,
          // §7.1.2.2: an offered value is a promise too, whatever the response says.
          clientMaxWindowBits: Math.min(parsed.clientMaxWindowBits ?? 15, mine.clientMaxWindowBits ?? 15),
        };
        return new DeflateExtension("client", negotiated, response.params, settings);
      }
      return badResponse(reason);
    },

    negotiate(clientOffers: readonly ExtensionOffer[]) {
      for (const offer of clientOffers) {
        const parsed = parseParams(offer.params, true);
        // RFC 7692 §5: an invalid offer is declined; the next one may still be accepted.
        if (typeof parsed === "string") continue;
        const wantClientBits = options.clientMaxWindowBits;
        // We want to limit the client's window but this client cannot be told to (§7.1.2.2).
        if (typeof wantClientBits === "number" && parsed.clientMaxWindowBits === undefined) continue;
        const agreed: Parsed = {
          // §7.1.1.1: we must comply when asked, and may on our own.
          serverNoContextTakeover: parsed.serverNoContextTakeover || options.serverNoContextTakeover === true,
          // §7.1.1.2: we may ask for it; we also confirm the client's own promise.
          clientNoContextTakeover: parsed.clientNoContextTakeover || options.clientNoContextTakeover === true,
          // §7.1.2.1: at most what the client asked for, and at most our own limit.
          serverMaxWindowBits: minDefined(parsed.serverMaxWindowBits, options.serverMaxWindowBits),
          // §7.1.2.2: only when the client allowed it (with or without a value).
          clientMaxWindowBits:
            parsed.clientMaxWindowBits === undefined
              ? undefined
              : minDefined(
                  parsed.clientMaxWindowBits ?? undefined,
                  typeof wantClientBits === "number" ? wantClientBits : undefined,
                ),
        };
        const params = responseParams(agreed);
        const negotiated: NegotiatedDeflate = {
          serverNoContextTakeover: agreed.serverNoContextTakeover,
          clientNoContextTakeover: agreed.clientNoContextTakeover,
          serverMaxWindowBits: agreed.serverMaxWindowBits ?? 15,
          clientMaxWindowBits: (agreed.clientMaxWindowBits as number | undefined) ?? 15,
        };
        return {
          response: { name: PERMESSAGE_DEFLATE, params },
          extension: new DeflateExtension("server", negotiated, params, settings),
        };
      }
      return undefined;
    },
  };
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** The extension of one connection: one compressor and one decompressor, created on first use. */
class DeflateExtension implements PermessageDeflateExtension {
  readonly name: string = PERMESSAGE_DEFLATE;
  readonly rsvMask: number = RSV1;
  readonly params: readonly ExtensionParam[];
  readonly negotiated: NegotiatedDeflate;
  readonly #settings: TransformSettings;
  readonly #role: "client" | "server";
  #compressor: Compressor | undefined;
  #decompressor: Decompressor | undefined;
  #closed = false;

  constructor(
    role: "client" | "server",
    negotiated: NegotiatedDeflate,
    params: readonly ExtensionParam[],
    settings: TransformSettings,
  ) {
    this.#role = role;
    this.negotiated = negotiated;
    this.params = params;
    this.#settings = settings;
  }

  #getCompressor(): Compressor {
    if (this.#closed) throw new Error("Cannot compress: the permessage-deflate extension was closed");
    if (this.#compressor === undefined) {
      const n = this.negotiated;
      const server = this.#role === "server";
      this.#compressor = this.#settings.engine.createCompressor({
        windowBits: server ? n.serverMaxWindowBits : n.clientMaxWindowBits,
        level: this.#settings.level,
        memLevel: this.#settings.memLevel,
        noContextTakeover: server ? n.serverNoContextTakeover : n.clientNoContextTakeover,
      });
    }
    return this.#compressor;
  }

  #getDecompressor(): Decompressor {
    if (this.#closed) throw new Error("Cannot decompress: the permessage-deflate extension was closed");
    if (this.#decompressor === undefined) {
      const n = this.negotiated;
      const server = this.#role === "server";
      this.#decompressor = this.#settings.engine.createDecompressor({
        windowBits: server ? n.clientMaxWindowBits : n.serverMaxWindowBits,
        noContextTakeover: server ? n.clientNoContextTakeover : n.serverNoContextTakeover,
      });
    }
    return this.#decompressor;
  }

  decodeMessage(rsv: number): MessageDecoder | undefined {
    if ((rsv & RSV1) === 0) return undefined;
    const decompressor = this.#getDecompressor();
    const decoder: MessageDecoder = {
      push(piece: Uint8Array, last: boolean, maxOutput: number): Uint8Array[] | Promise<Uint8Array[]> {
        // RFC 7692 §7.2.2: append 00 00 ff ff to the message's payload, then inflate.
        return decompressor.decompress(last ? [piece, TAIL] : [piece], last, maxOutput);
      },
      maxOutputFor: inflatedAtMost,
    };
    return decoder;
  }

  encodeMessage(
    _kind: "text" | "binary",
    size: number | undefined,
    options: SendOptions | undefined,
  ): { readonly rsv: number; readonly encoder: MessageEncoder } | undefined {
    if (options?.compress === false) return undefined;
    if (size !== undefined && size < this.#settings.threshold) return undefined;
    const compressor = this.#getCompressor();
    const encoder: MessageEncoder = {
      push(piece: Uint8Array, last: boolean): Uint8Array[] | Promise<Uint8Array[]> {
        const output = compressor.compress(piece, last);
        if (!last) return output;
        return Array.isArray(output) ? endMessage(output) : output.then(endMessage);
      },
    };
    // RFC 7692 §6: RSV1 on the first frame of a compressed message.
    return { rsv: RSV1, encoder };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#compressor?.close();
    this.#decompressor?.close();
    this.#compressor = undefined;
    this.#decompressor = undefined;
  }
}

const EMPTY_BLOCK = new Uint8Array([0x00]);

/**
 * The last output of a message: without the trailing `00 00 ff ff` (RFC 7692 §7.2.1), or the
 * single byte `00` when nothing is left (§7.2.3.6: an empty stored block's header, padded).
 * The tail may straddle output chunks.
 */
export function endMessage(output: Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const chunk of output) total += chunk.length;
  if (total >= 4 && endsWithTail(output)) {
    let remove = 4;
    const out = output.slice();
    while (remove > 0) {
      const last = out[out.length - 1] as Uint8Array;
      if (last.length <= remove) {
        out.pop();
        remove -= last.length;
      } else {
        out[out.length - 1] = last.subarray(0, last.length - remove);
        remove = 0;
      }
    }
    total -= 4;
    if (total > 0) return out;
  } else if (total > 0) {
    // Not ended by a sync flush (an engine that ended with BFINAL, §7.2.3.4): send as is.
    return output;
  }
  // Nothing to send: after a flush with no new input, or a fresh stream's lone empty block.
  return [EMPTY_BLOCK.slice()];
}

function endsWithTail(output: readonly Uint8Array[]): boolean {
  let want = 3;
  for (let i = output.length - 1; i >= 0 && want >= 0; i--) {
    const chunk = output[i] as Uint8Array;
    for (let j = chunk.length - 1; j >= 0 && want >= 0; j--, want--) {
      if (chunk[j] !== TAIL[want]) return false;
    }
  }
  return want < 0;
}
