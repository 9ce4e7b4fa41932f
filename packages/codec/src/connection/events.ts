/**
 * What crosses the boundary of a {@link Connection}: discriminated unions, not classes.
 *
 * @module
 */
import type { RemoteProtocolError } from "../errors.ts";

/** A complete text message (RFC 6455 §5.6), UTF-8 validated. */
export interface TextEvent {
  /** The kind of event. */
  readonly type: "text";
  /** The message's data (or this piece of it). */
  readonly data: string;
}
/** A complete binary message (RFC 6455 §5.6). */
export interface BinaryEvent {
  /** The kind of event. */
  readonly type: "binary";
  /** The message's data (or this piece of it). */
  readonly data: Uint8Array;
}
/**
 * A piece of a text message, delivered when the connection streams messages
 * (`streamMessages: true`). Pieces end on code point boundaries; `first` marks the first piece
 * of a message, `last` the final one. A message may be a single piece that is both.
 */
export interface TextPieceEvent {
  /** The kind of event. */
  readonly type: "text-piece";
  /** The message's data (or this piece of it). */
  readonly data: string;
  /** Whether this is the first piece of its message. */
  readonly first: boolean;
  /** Whether this is the last piece of its message. */
  readonly last: boolean;
}
/** A piece of a binary message, delivered when the connection streams messages. */
export interface BinaryPieceEvent {
  /** The kind of event. */
  readonly type: "binary-piece";
  /** The message's data (or this piece of it). */
  readonly data: Uint8Array;
  /** Whether this is the first piece of its message. */
  readonly first: boolean;
  /** Whether this is the last piece of its message. */
  readonly last: boolean;
}
/** A ping (RFC 6455 §5.5.2). The codec does not answer it: see {@link pongFor}. */
export interface PingEvent {
  /** The kind of event. */
  readonly type: "ping";
  /** The frame's application data (at most 125 bytes). */
  readonly payload: Uint8Array;
}
/** A pong (RFC 6455 §5.5.3). */
export interface PongEvent {
  /** The kind of event. */
  readonly type: "pong";
  /** The frame's application data (at most 125 bytes). */
  readonly payload: Uint8Array;
}
/**
 * The peer's close frame was received (RFC 6455 §5.5.1). `code` is 1005 (No Status Received)
 * when the frame had no payload, as a browser's `CloseEvent` reports it. The codec does not
 * answer it: see {@link closeReplyFor}. (Named apart from the DOM's `CloseEvent`, which is what
 * a `WebSocket` fires when the connection is closed.)
 */
export interface CloseReceived {
  /** The kind of event. */
  readonly type: "close";
  /** The close code (1005 when the frame had no payload). */
  readonly code: number;
  /** The close reason (empty when absent). */
  readonly reason: string;
}
/**
 * The peer broke the protocol. Terminal: the connection's state is now `failed`; the adapter
 * should send a close frame with `error.closeCode` (still allowed once, if no close frame was
 * sent before) and close the transport ("_Fail the WebSocket Connection_", RFC 6455 §7.1.7).
 */
export interface FailedEvent {
  /** The kind of event. */
  readonly type: "failed";
  /** What the peer did wrong, with the close code to send. */
  readonly error: RemoteProtocolError;
}
/**
 * The transport ended ({@link Connection.receiveEof}). `clean` is true only when both close
 * frames had been exchanged first ("The WebSocket Connection is Closed" cleanly, RFC 6455 §7.1.4);
 * otherwise the close code to report is 1006.
 */
export interface EofEvent {
  /** The kind of event. */
  readonly type: "eof";
  /** Whether both close frames were exchanged before the transport ended. */
  readonly clean: boolean;
}

/** Everything {@link Connection.nextEvent} can return, besides `NEED_DATA`. */
export type InboundEvent =
  | TextEvent
  | BinaryEvent
  | TextPieceEvent
  | BinaryPieceEvent
  | PingEvent
  | PongEvent
  | CloseReceived
  | FailedEvent
  | EofEvent;

/** Per-message send options. */
export interface SendOptions {
  /**
   * Let extensions transform this message (for permessage-deflate: compress it). Default
   * true; false sends it as is.
   */
  readonly compress?: boolean;
}

/** Everything {@link Connection.send} accepts. */
export type OutboundEvent =
  /**
   * A text message. A `Uint8Array` is text already encoded as UTF-8 and is sent as is: it must
   * be valid UTF-8 (RFC 6455 §5.6), which the codec does not check.
   */
  | { readonly type: "text"; readonly data: string | Uint8Array; readonly options?: SendOptions }
  | { readonly type: "binary"; readonly data: Uint8Array; readonly options?: SendOptions }
  /**
   * One piece of a message sent as a stream of frames (RFC 6455 §5.4). The first piece fixes
   * the message's kind; `last: true` ends it. Control frames may be sent between pieces; data
   * messages may not.
   */
  | {
      readonly type: "text-piece" | "binary-piece";
      readonly data: string | Uint8Array;
      readonly last: boolean;
      readonly options?: SendOptions;
    }
  | { readonly type: "ping"; readonly payload?: Uint8Array }
  | { readonly type: "pong"; readonly payload?: Uint8Array }
  | { readonly type: "close"; readonly code?: number; readonly reason?: string };
