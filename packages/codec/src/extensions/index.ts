/**
 * The extension interface (RFC 6455 §9).
 *
 * @module
 */
export type {
  Extension,
  ExtensionFactory,
  ExtensionOffer,
  ExtensionParam,
  MessageDecoder,
  MessageEncoder,
} from "./extension.ts";
