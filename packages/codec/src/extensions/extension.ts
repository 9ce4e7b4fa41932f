/**
 * The extension interface (RFC 6455 §9). An extension takes part in two places:
 *
 * 1. The opening handshake, through an {@link ExtensionFactory}: the client offers
 *    parameters in `Sec-WebSocket-Extensions`, the server picks one offer and answers with
 *    the accepted parameters, the client checks that answer (RFC 6455 §9.1).
 * 2. The data transfer, through the negotiated {@link Extension}: it owns some RSV bits
 *    (permessage-deflate owns RSV1, RFC 7692 §6) and transforms whole messages' payloads,
 *    piece by piece, on the way in and out.
 *
 * The frame decoder only learns which RSV bits are allowed; message-level work happens in the
 * connection, so a new extension never changes the decoder.
 *
 * @module
 */
import type { SendOptions } from "../connection/events.ts";

/** One parameter of an extension offer or response (RFC 6455 §9.1 `extension-param`). */
export interface ExtensionParam {
  /** The parameter name, e.g. `client_max_window_bits`. */
  readonly name: string;
  /** The value with quoting removed, or `null` when the parameter has no value. */
  readonly value: string | null;
}

/** One element of a `Sec-WebSocket-Extensions` header: an extension name and its parameters. */
export interface ExtensionOffer {
  /** The extension name, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The parameters, in the order given. */
  readonly params: readonly ExtensionParam[];
}

/**
 * Decodes one inbound message's payload (for example, inflates it). Created per message.
 *
 * Results may be promises (node:zlib's streaming API is asynchronous). The connection never
 * calls `push` again before the previous result settled, and keeps events in order meanwhile.
 */
export interface MessageDecoder {
  /**
   * Takes the next piece of the message's payload and returns decoded bytes. `last` is true
   * on the final piece. `piece` is borrowed until the result settles. Must not produce more
   * than `maxOutput` bytes in total for this call:
   * when it would, it throws a `RemoteProtocolError` with code `MESSAGE_TOO_BIG` and close
   * code 1009, having produced at most that much. Other failures throw a `RemoteProtocolError`
   * (code `EXTENSION_FAILURE`, close code 1007 for corrupt data or 1011). The returned arrays
   * become the caller's, kept as they are in the message (the decoder must not touch them again).
   */
  push(piece: Uint8Array, last: boolean, maxOutput: number): Uint8Array[] | Promise<Uint8Array[]>;
  /**
   * The most bytes a `push` of `inputLength` bytes can produce, where the encoding bounds it
   * (DEFLATE cannot expand past about 1032:1, RFC 1951 §3.2.5). Optional. With it, a receiver
   * with a shared memory budget reserves room in proportion to the input instead of up to the
   * whole message limit, which matters while an asynchronous `push` holds its reservation.
   */
  maxOutputFor?(inputLength: number): number;
}

/**
 * Encodes one outbound message's payload (for example, deflates it). Created per message.
 * Results may be promises; the connection keeps the frames of later sends behind them.
 */
export interface MessageEncoder {
  /** Takes the next piece of the message's payload and returns encoded bytes; `last` ends it. */
  push(piece: Uint8Array, last: boolean): Uint8Array[] | Promise<Uint8Array[]>;
}

/** A negotiated extension, used by one connection. */
export interface Extension {
  /** The registered extension name, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The RSV bits this extension owns, as a mask over the first header byte (`Rsv.Rsv1` = 0x40). */
  readonly rsvMask: number;
  /** The parameters as negotiated, for the `extensions` string (`Sec-WebSocket-Extensions` form). */
  readonly params: readonly ExtensionParam[];
  /**
   * Called at the first frame of each inbound data message with its RSV bits (only those this
   * extension owns). Returns a decoder for the message, or `undefined` when the message is not
   * transformed (its bits are clear).
   */
  decodeMessage(rsv: number): MessageDecoder | undefined;
  /**
   * Called before sending each data message. Returns the RSV bits to set on its first frame and
   * an encoder, or `undefined` to send it untransformed. `size` is the payload size when the
   * whole message is known (undefined for a streamed message).
   */
  encodeMessage(
    kind: "text" | "binary",
    size: number | undefined,
    options: SendOptions | undefined,
  ): { readonly rsv: number; readonly encoder: MessageEncoder } | undefined;
  /**
   * Frees the extension's resources (for example zlib memory). Called once when the connection
   * ends (the transport ended, after pending work settled). Idempotent.
   */
  close?(): void;
}

/** Negotiates one kind of extension during the opening handshake (RFC 6455 §9.1). */
export interface ExtensionFactory {
  /** The registered extension name. */
  readonly name: string;
  /** Client: the offers to send, most preferred first (one header element each). */
  offer(): readonly ExtensionOffer[];
  /**
   * Client: the server accepted this extension with `response`. Returns the extension to use,
   * or throws a `HandshakeError` (`BAD_EXTENSIONS`) when the response is not acceptable
   * (the client must then fail the connection, RFC 6455 §9.1).
   */
  accept(response: ExtensionOffer): Extension;
  /**
   * Server: the client's offers for this extension, in the client's order. Returns the
   * parameters to answer with and the extension to use, or `undefined` to decline.
   */
  negotiate(
    offers: readonly ExtensionOffer[],
  ): { readonly response: ExtensionOffer; readonly extension: Extension } | undefined;
}
