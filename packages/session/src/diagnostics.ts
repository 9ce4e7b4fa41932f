/**
 * What a server is doing, as events an operator can subscribe to (issue 12, "Observable"):
 * named channels in the shape of `node:diagnostics_channel`, written once for every runtime.
 *
 * | channel                   | published when                                                     | message |
 * | ------------------------- | ------------------------------------------------------------------ | ------- |
 * | `ws:handshake:accepted`   | a 101 (or HTTP/2 200) was sent and the socket exists               | {@link HandshakeAcceptedMessage} |
 * | `ws:handshake:rejected`   | a handshake was answered with an error status, or dropped unanswered | {@link HandshakeRejectedMessage} |
 * | `ws:connection:opened`    | an accepted socket is handed to the application                    | {@link ConnectionOpenedMessage} |
 * | `ws:connection:closed`    | a server's socket closed, however it ended                         | {@link ConnectionClosedMessage} |
 * | `ws:protocol:error`       | a connection failed (RFC 6455 §7.1.7): the peer broke the protocol or a limit, or a handler threw | {@link ProtocolErrorMessage} |
 * | `ws:limit:reached`        | a limit was hit (which one, its value)                             | {@link LimitReachedMessage} |
 * | `ws:backpressure`         | reading or writing a connection stopped waiting for the other side, and when it goes on again | {@link BackpressureMessage} |
 *
 * Every channel here is a {@link DiagnosticsChannel}: the same four members as a channel of
 * `node:diagnostics_channel`. Until an adapter binds them ({@link bindDiagnosticsChannels}),
 * they are this module's own small implementation, so `@ws/session` stays runtime-neutral;
 * `@ws/node`, `@ws/deno` and `@ws/bun` bind them to `node:diagnostics_channel` (which Node,
 * Deno and Bun all provide) when a server is created, so tools that subscribe there (APM
 * agents, `diagnostics_channel.subscribe("ws:connection:closed", …)`) see the same events.
 *
 * Messages are built only when a channel has subscribers (`hasSubscribers`): a server nobody
 * observes pays a property read per event, nothing per message. The counters of
 * `server.stats()` are separate (`meter.ts`).
 *
 * @module
 */
import { reportListenerError } from "./handled.ts";
import type { WebSocket } from "./websocket.ts";

/** The names of the channels, stable across releases. */
export const DIAGNOSTICS_CHANNELS: {
  readonly handshakeAccepted: "ws:handshake:accepted";
  readonly handshakeRejected: "ws:handshake:rejected";
  readonly connectionOpened: "ws:connection:opened";
  readonly connectionClosed: "ws:connection:closed";
  readonly protocolError: "ws:protocol:error";
  readonly limitReached: "ws:limit:reached";
  readonly backpressure: "ws:backpressure";
} = Object.freeze({
  handshakeAccepted: "ws:handshake:accepted",
  handshakeRejected: "ws:handshake:rejected",
  connectionOpened: "ws:connection:opened",
  connectionClosed: "ws:connection:closed",
  protocolError: "ws:protocol:error",
  limitReached: "ws:limit:reached",
  backpressure: "ws:backpressure",
} as const);

/** One of the {@link DIAGNOSTICS_CHANNELS} names. */
export type DiagnosticsChannelName = keyof DiagnosticsMessages;

/** A handshake the server accepted: the 101 was written and the socket made. */
export interface HandshakeAcceptedMessage {
  /** The new socket. */
  readonly socket: WebSocket;
  /** The runtime's request (Node: `IncomingMessage` or `Http2ConnectRequest`; Deno, Bun: the parsed head). */
  readonly request: unknown;
  /** The request URL (`ws:`/`wss:`). */
  readonly url: string;
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The agreed subprotocol, or "". */
  readonly protocol: string;
  /** The agreed extensions (`Sec-WebSocket-Extensions`), or "". */
  readonly extensions: string;
  /** Milliseconds from the connection's admission to the response. */
  readonly duration: number;
}

/**
 * Why a handshake was rejected, stable across releases: the codec's handshake error codes
 * (`ErrorCode`: `MISSING_HOST`, `BAD_KEY`, `TOO_MANY_HEADERS` …) or one of the server's own.
 */
export type HandshakeRejectionCode =
  | "HEAD_TOO_LARGE"
  | "TOO_MANY_HEADERS"
  | "MALFORMED_HEAD"
  | "BAD_METHOD"
  | "BAD_HTTP_VERSION"
  | "MISSING_HOST"
  | "BAD_UPGRADE"
  | "BAD_CONNECTION"
  | "BAD_KEY"
  | "UNSUPPORTED_VERSION"
  | "BAD_SUBPROTOCOL"
  | "BAD_EXTENSIONS"
  /** A plain HTTP request (no `Upgrade`) on a WebSocket-only server: 426. */
  | "UPGRADE_REQUIRED"
  /** No WebSocket server handles the request's path: 400. */
  | "NO_ENDPOINT"
  /** The request target and `Host` do not make a URL: 400. */
  | "BAD_TARGET"
  /** The `verify` hook said no (its status, or 403). */
  | "VERIFY_REJECTED"
  /** The `verify` hook or the subprotocol selection threw: 500. */
  | "VERIFY_FAILED"
  /** `maxConnections` connections are open: 503. */
  | "TOO_MANY_CONNECTIONS"
  /** The server is closing: 503. */
  | "SHUTTING_DOWN"
  /** `handshakeTimeout` passed before the handshake completed: closed without an answer. */
  | "HANDSHAKE_TIMEOUT"
  /** Dropped unanswered to make room under `maxPendingHandshakes`. */
  | "TOO_MANY_HANDSHAKES";

/** A handshake the server refused: answered with `status`, or closed unanswered (`status` 0). */
export interface HandshakeRejectedMessage {
  /** The runtime's request, when the head was read. */
  readonly request: unknown;
  /** The request target as sent (`/chat?room=1`), when the head was read. */
  readonly target: string | undefined;
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The HTTP status answered; 0 when the connection was closed without an answer. */
  readonly status: number;
  /** The stable reason. */
  readonly code: HandshakeRejectionCode;
  /** The reason in words (the response body, or why there was none). */
  readonly reason: string;
  /** Milliseconds from the connection's admission to the answer. */
  readonly duration: number;
}

/** An accepted socket handed to the application. */
export interface ConnectionOpenedMessage {
  readonly socket: WebSocket;
  /** The request URL (`ws:`/`wss:`). */
  readonly url: string;
  readonly remoteAddress: string | undefined;
  readonly protocol: string;
  readonly extensions: string;
}

/** Which side ended the connection: the one whose close frame came first, or that dropped it. */
export type ClosedBy = "server" | "client";

/** A server's socket closed. */
export interface ConnectionClosedMessage {
  readonly socket: WebSocket;
  /** The close code as the application sees it (1006 when no close frame was received). */
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  /**
   * `"server"`: this server sent the first close frame or dropped the connection (its
   * `close()`, a failure, a limit, a timeout, `terminate()`); `"client"`: the client's close
   * frame came first, or the client went away (FIN, reset).
   */
  readonly closedBy: ClosedBy;
  /** Milliseconds the connection was open. */
  readonly duration: number;
  /** The stable code of the error that ended it (`MESSAGE_TOO_BIG`, `BUFFER_OVERFLOW` …), if any. */
  readonly error: string | undefined;
}

/** A connection failed: the close code sent and the stable error code. */
export interface ProtocolErrorMessage {
  readonly socket: WebSocket;
  /** The close code sent (1002, 1007, 1008, 1009, 1010, 1011). */
  readonly closeCode: number;
  /** The stable code: the codec's `ErrorCode` (`INVALID_UTF8`, `MISSING_MASK` …) or `LISTENER_ERROR`. */
  readonly code: string;
  readonly message: string;
}

/** The limits a {@link LimitReachedMessage} names (the options of the same names). */
export type LimitName =
  | "maxMessageSize"
  | "maxFrameSize"
  | "maxFragments"
  | "maxHeadSize"
  | "maxHeaderCount"
  | "maxBufferedAmount"
  | "maxConnections"
  | "maxPendingHandshakes"
  | "handshakeTimeout"
  | "idleTimeout"
  | "closeTimeout"
  | "heartbeat"
  | "memoryBudget";

/** A limit was hit. */
export interface LimitReachedMessage {
  /** Which limit (the option's name; `limits.*` without the prefix). */
  readonly limit: LimitName;
  /** The limit's value in force. */
  readonly value: number;
  /** The socket, once the handshake is done. */
  readonly socket: WebSocket | undefined;
  readonly remoteAddress: string | undefined;
}

/** Reading from or writing to a connection stopped (`engaged`) or went on again. */
export interface BackpressureMessage {
  readonly socket: WebSocket;
  /**
   * `"send"`: the runtime's socket buffer is full, frames wait in the send queue (the client
   * reads slowly); `"receive"`: reading from the socket is paused (a consumer is behind, or
   * `pause()`).
   */
  readonly direction: "send" | "receive";
  readonly engaged: boolean;
  /** Bytes buffered in that direction at the time. */
  readonly bufferedAmount: number;
}

/** The message type of each channel. */
export interface DiagnosticsMessages {
  "ws:handshake:accepted": HandshakeAcceptedMessage;
  "ws:handshake:rejected": HandshakeRejectedMessage;
  "ws:connection:opened": ConnectionOpenedMessage;
  "ws:connection:closed": ConnectionClosedMessage;
  "ws:protocol:error": ProtocolErrorMessage;
  "ws:limit:reached": LimitReachedMessage;
  "ws:backpressure": BackpressureMessage;
}

/** A subscriber: the message and the channel's name, as `node:diagnostics_channel` calls it. */
export type DiagnosticsListener<M> = (message: M, name: string | symbol) => void;

/** The part of a `node:diagnostics_channel` `Channel` the server publishes with. */
export interface DiagnosticsChannel<M = unknown> {
  readonly hasSubscribers: boolean;
  publish(message: M): void;
}

/**
 * The part of the `node:diagnostics_channel` module used here: its `channel`, `subscribe` and
 * `unsubscribe` functions (by name: the module's documented way to subscribe, which keeps the
 * channel alive).
 */
export interface DiagnosticsChannelModule {
  channel(name: string): DiagnosticsChannel;
  subscribe(name: string, listener: DiagnosticsListener<unknown>): void;
  unsubscribe(name: string, listener: DiagnosticsListener<unknown>): unknown;
}

/** The runtime-neutral channel, used until {@link bindDiagnosticsChannels}. */
class LocalChannel implements DiagnosticsChannel {
  readonly #name: string;
  /** Copied on write: a listener that unsubscribes while called does not make another be skipped. */
  listeners: readonly DiagnosticsListener<unknown>[] = [];

  constructor(name: string) {
    this.#name = name;
  }

  get hasSubscribers(): boolean {
    return this.listeners.length > 0;
  }

  publish(message: unknown): void {
    for (const listener of this.listeners) listener(message, this.#name);
  }
}

/** The runtime-neutral channels, as the module `node:diagnostics_channel` would give them. */
function localModule(): DiagnosticsChannelModule {
  const local = new Map<string, LocalChannel>();
  const channel = (name: string): LocalChannel => {
    let found = local.get(name);
    if (found === undefined) {
      found = new LocalChannel(name);
      local.set(name, found);
    }
    return found;
  };
  return {
    channel,
    subscribe(name, listener) {
      const target = channel(name);
      target.listeners = [...target.listeners, listener];
    },
    unsubscribe(name, listener) {
      const target = channel(name);
      const index = target.listeners.indexOf(listener);
      if (index === -1) return false;
      target.listeners = target.listeners.filter((_, i) => i !== index);
      return true;
    },
  };
}

type Channels = { -readonly [N in DiagnosticsChannelName]: DiagnosticsChannel<DiagnosticsMessages[N]> };

const NAMES: readonly DiagnosticsChannelName[] = Object.values(DIAGNOSTICS_CHANNELS);

let hub: DiagnosticsChannelModule = localModule();
/** The listeners {@link observe} subscribed, by channel: moved over when the channels are bound. */
const observers = new Map<DiagnosticsChannelName, Set<DiagnosticsListener<unknown>>>();

function channelsOf(module: DiagnosticsChannelModule): Channels {
  const result: Record<string, DiagnosticsChannel> = {};
  for (const name of NAMES) result[name] = module.channel(name);
  return result as Channels;
}

/** The channels the server publishes on (read at each publish: binding replaces them). */
export const channels: Readonly<Channels> = channelsOf(hub);

let bound = false;

/**
 * Makes the channels those of `module` (`node:diagnostics_channel`): subscribers made with
 * {@link observe} so far move over. Called by the adapters when a server is created; later
 * calls do nothing.
 */
export function bindDiagnosticsChannels(module: DiagnosticsChannelModule): void {
  if (bound) return;
  bound = true;
  for (const [name, listeners] of observers) {
    for (const listener of listeners) {
      hub.unsubscribe(name, listener);
      module.subscribe(name, listener);
    }
  }
  hub = module;
  Object.assign(channels, channelsOf(module));
}

/**
 * Subscribes `listener` to the channel `name` on every runtime; returns the function that
 * unsubscribes it. An exception the listener throws is reported to the console, never thrown
 * into the server (a subscriber made with `node:diagnostics_channel` directly follows that
 * module's rules instead: Node and Bun rethrow its exceptions as uncaught).
 *
 * @example
 * ```ts
 * import { observe } from "@ws/session";
 * const stop = observe("ws:connection:closed", (message) => {
 *   console.log(`closed ${message.code} by ${message.closedBy} after ${message.duration} ms`);
 * });
 * stop();
 * ```
 */
export function observe<N extends DiagnosticsChannelName>(
  name: N,
  listener: (message: DiagnosticsMessages[N]) => void,
): () => void {
  if (!NAMES.includes(name))
    throw new TypeError(`Cannot observe ${String(name)}: not a channel (${NAMES.join(", ")})`);
  if (typeof listener !== "function") throw new TypeError("Cannot observe: the listener must be a function");
  const safe: DiagnosticsListener<unknown> = (message) => {
    try {
      listener(message as DiagnosticsMessages[N]);
    } catch (error) {
      reportListenerError(error);
    }
  };
  let listeners = observers.get(name);
  if (listeners === undefined) {
    listeners = new Set();
    observers.set(name, listeners);
  }
  listeners.add(safe);
  hub.subscribe(name, safe);
  return () => {
    if (!listeners.delete(safe)) return;
    hub.unsubscribe(name, safe);
  };
}
