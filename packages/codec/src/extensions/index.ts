/**
 * The extension interface (RFC 6455 §9) and permessage-deflate (RFC 7692).
 *
 * @module
 */

export type {
  Compressor,
  CompressorOptions,
  Decompressor,
  DecompressorOptions,
  DeflateEngine,
} from "./deflate-engine.ts";
export type {
  Extension,
  ExtensionFactory,
  ExtensionOffer,
  ExtensionParam,
  MessageDecoder,
  MessageEncoder,
} from "./extension.ts";
export {
  DEFAULT_DEFLATE_THRESHOLD,
  type NegotiatedDeflate,
  PERMESSAGE_DEFLATE,
  type PermessageDeflateExtension,
  type PermessageDeflateFactory,
  type PermessageDeflateOptions,
  type PermessageDeflateParams,
  permessageDeflate,
} from "./permessage-deflate.ts";
