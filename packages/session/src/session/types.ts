/**
 * The session's public vocabulary: its options (with their defaults), the owner's callbacks,
 * how a connection ended, and the shapes of data going in and out. Declared apart from the
 * session's parts so that each part (and `websocket.ts`, `server-core.ts`, `dial.ts`) can name
 * them without importing the session itself.
 *
 * @module
 */
import type { Extension, RandomSource, SendOptions } from "@ws/codec";
import type { SessionLimits } from "../limits.ts";
import type { MemoryBudget } from "../memory-budget.ts";
import type { Meter } from "../meter.ts";

/** Default close timeout in milliseconds (see {@link SessionOptions.closeTimeout}). */
export const DEFAULT_CLOSE_TIMEOUT = 5000;

/** Default receive high-water mark in bytes (see {@link SessionOptions.receiveHighWaterMark}). */
export const DEFAULT_RECEIVE_HIGH_WATER_MARK: number = 1024 * 1024;

/** Keepalive pings (see {@link SessionOptions.heartbeat}). */
export interface HeartbeatOptions {
  /** Milliseconds between pings. */
  readonly interval: number;
  /** Milliseconds to wait, after a ping, for any byte from the peer before giving up. */
  readonly timeout: number;
}

/** Options of a {@link Session}; every one has the same default on every runtime. */
export interface SessionOptions {
  /** This endpoint's role: a client masks its frames (RFC 6455 §5.3). */
  readonly role: "client" | "server";
  /** The negotiated subprotocol, or "" (WHATWG `protocol`). */
  readonly protocol?: string | undefined;
  /** The negotiated extensions. */
  readonly extensions?: readonly Extension[] | undefined;
  /** The `Sec-WebSocket-Extensions` value agreed on, or "" (WHATWG `extensions`). */
  readonly extensionsHeader?: string | undefined;
  /** Limits; see {@link SessionLimits}. */
  readonly limits?: Partial<SessionLimits> | undefined;
  /**
   * Echo the reason too when answering the peer's close frame (RFC 6455 §5.5.1 only says the
   * code is typically echoed). Default false; echo servers turn it on.
   */
  readonly echoCloseReason?: boolean | undefined;
  /** Answer pings with pongs (RFC 6455 §5.5.2). Default true. */
  readonly autoPong?: boolean | undefined;
  /**
   * Milliseconds to wait for the close handshake to finish (the peer's close frame, then the
   * end of the transport) before destroying the transport. Default 5000 (ws uses 30000; a
   * live peer answers within a round trip, a dead one should not hold a socket for long).
   */
  readonly closeTimeout?: number | undefined;
  /**
   * Ping every `interval` ms; when nothing at all arrives within `timeout` ms after a ping, the
   * peer is taken for dead: the transport is destroyed and the close is reported as 1006,
   * `wasClean` false. Off by default.
   */
  readonly heartbeat?: HeartbeatOptions | undefined;
  /**
   * Milliseconds without traffic (no bytes received, no message, ping or pong sent) after which
   * the connection is closed with 1001 (Going Away) "Idle timeout". Off by default (0 or
   * undefined): a connection may be quiet for long; `heartbeat` detects dead peers.
   */
  readonly idleTimeout?: number | undefined;
  /**
   * The counters of the server that accepted this connection (`server.stats()`), set by the
   * server; a session with one also publishes the diagnostics events (`diagnostics.ts`).
   * @internal
   */
  readonly meter?: Meter | undefined;
  /**
   * Deliver data messages in pieces as they arrive (read them with `pieces()`), instead of
   * whole. Default false.
   */
  readonly streamMessages?: boolean | undefined;
  /**
   * Bytes a pull consumer (`messages()`, `pieces()`, `readable`) may leave unread before the
   * transport is paused. Default 1 MiB.
   */
  readonly receiveHighWaterMark?: number | undefined;
  /** Randomness for masking keys (client). Default `crypto.getRandomValues`. */
  readonly random?: RandomSource | undefined;
  /**
   * The server's memory budget this connection's buffered bytes count against (set by the
   * server for the sessions it accepts, from its `memoryBudget` option; see `memory-budget.ts`).
   */
  readonly budget?: MemoryBudget | undefined;
}

/** How the connection ended (WHATWG "the WebSocket connection close code / reason"). */
export interface CloseInfo {
  /** The peer's close code, 1005 when its close frame had none, 1006 without a close frame. */
  readonly code: number;
  /** The peer's close reason, or "". */
  readonly reason: string;
  /** Whether the close handshake completed before the transport closed (RFC 6455 §7.1.4). */
  readonly wasClean: boolean;
  /** Why the session failed the connection, when it did (protocol error, full buffer, …). */
  readonly error?: Error | undefined;
}

/** A piece of a data message, delivered when `streamMessages` is on. */
export interface MessagePiece {
  /** Text pieces end on code point boundaries. */
  readonly data: string | Uint8Array;
  /** Whether the message is binary. */
  readonly binary: boolean;
  /** The first piece of its message. */
  readonly first: boolean;
  /** The last piece of its message. */
  readonly last: boolean;
}

/** Callbacks of the session's owner (the `WebSocket` object, a server). All optional. */
export interface SessionHandler {
  /** A whole message arrived. */
  message?(data: string | Uint8Array): void;
  /** A piece of a message arrived (`streamMessages`). */
  piece?(piece: MessagePiece): void;
  /** A ping arrived (already answered when `autoPong`). */
  ping?(payload: Uint8Array): void;
  /** A pong arrived. */
  pong?(payload: Uint8Array): void;
  /** The send queue drained after a send returned false. */
  drain?(): void;
  /** The session failed the connection (reported before `close`). */
  error?(error: Error): void;
  /** The connection is closed; called once. */
  close?(info: CloseInfo): void;
}

/** Data a message can be sent from. */
export type MessageData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** Options of {@link Session.sendStream}. */
export interface SendStreamOptions extends SendOptions {
  /** Send a binary message (default: text when the first piece is a string, else binary). */
  readonly binary?: boolean | undefined;
}

/** The session's state, from the application's side. */
export type SessionState = "open" | "closing" | "closed";

/** What a pull consumer receives: whole messages, or pieces with `streamMessages`. */
export type Received = string | Uint8Array | MessagePiece;

/** `value` when it is a usable number of milliseconds; else a RangeError naming the option. */
export function checkDuration(name: string, value: number): number {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot use ${name}: ${String(value)} is not a non-negative number of milliseconds`);
  }
  return value;
}
