/**
 * The WHATWG `WebSocket` interface (https://websockets.spec.whatwg.org/#the-websocket-interface)
 * over a {@link Session}, shared by every runtime adapter. Browser code runs unchanged:
 * `readyState`, `binaryType`, `bufferedAmount`, `protocol`, `extensions`, `url`, the four event
 * handler attributes and `addEventListener`, `send`, `close` with the WHATWG argument checks,
 * and the close event's `code` / `reason` / `wasClean` as a browser reports them.
 *
 * Extras: `ping()`, `terminate()`, `for await (const message of ws)`, `stream()`,
 * `sendStream()`, per-send options and an `opened` promise.
 *
 * Opening a connection is the runtime's job: an adapter passes a {@link Connector} (the
 * `WebSocket` exported by `@ws/node` does), or wraps a session its server accepted.
 *
 * @module
 */

import type { SendOptions } from "@ws/codec";
import { CloseCode } from "@ws/codec";
import { isValidCloseCode } from "@ws/codec/close";
import { parseWebSocketUrl, validateProtocols, type WebSocketUrl } from "@ws/codec/handshake";
import { WebSocketError } from "./errors.ts";
import { CloseEvent, WebSocketErrorEvent } from "./events.ts";
import { handled, rejected, reportListenerError } from "./handled.ts";
import { PreparedMessage, sendPreparedOn } from "./pubsub/prepared-message.ts";
import type { PubSub } from "./pubsub/pubsub.ts";
import {
  type CloseInfo,
  type MessageData,
  type MessagePiece,
  type Received,
  type SendStreamOptions,
  type Session,
  type SessionHandler,
  type SessionOptions,
  toBytes,
  utf8Length,
} from "./session.ts";

/**
 * What `message` events carry for binary messages: a `Blob` (the WHATWG default), an
 * `ArrayBuffer`, or a `Uint8Array` (no copy; a Node-friendly extra, not in the WHATWG enum).
 */
export type BinaryType = "blob" | "arraybuffer" | "uint8array";

/** The `binaryType` values of the WHATWG standard (and of the DOM `WebSocket` type). */
export type StandardBinaryType = "blob" | "arraybuffer";

/** The type of a binary message's `data` for each {@link BinaryType}. */
export interface BinaryTypeMap {
  blob: Blob;
  arraybuffer: ArrayBuffer;
  uint8array: Uint8Array;
}

/**
 * The `data` of a `message` event on a socket whose `binaryType` is one of `B`: a string for
 * text messages, the {@link BinaryTypeMap} type for binary ones.
 */
export type MessageEventData<B extends BinaryType = BinaryType> = string | BinaryTypeMap[B];

/**
 * The events of a {@link WebSocket} (like the DOM's `WebSocketEventMap`), for
 * `addEventListener` and the `on<event>` handlers. `B` is the socket's `binaryType` type.
 */
export interface WebSocketEventMap<B extends BinaryType = BinaryType> {
  /** The connection is open. */
  open: Event;
  /** A message arrived; `data` follows `binaryType`. */
  message: MessageEvent<MessageEventData<B>>;
  /** The connection failed; `error` says why (a browser fires a plain `Event`). */
  error: WebSocketErrorEvent;
  /** The connection closed: `code`, `reason`, `wasClean`. */
  close: CloseEvent;
}

/** A listener of `addEventListener`: a function (with `this` the socket) or a `handleEvent` object. */
export type WebSocketListener<This, E extends Event> =
  | ((this: This, event: E) => unknown)
  | { handleEvent(event: E): unknown };

/** The value of an `on<event>` handler attribute: a function with `this` the socket, or null. */
export type WebSocketEventHandler<This, E extends Event> = ((this: This, event: E) => unknown) | null;

/**
 * What reading an `on<event>` attribute gives. Typed as loosely as the DOM's `WebSocket` does
 * (`this` any `EventTarget`, the event any `Event`) so that a socket is assignable to the DOM
 * type and `WebSocket<"uint8array">` to `WebSocket`; what you assign is typed precisely
 * ({@link WebSocketEventHandler}).
 */
export type StoredEventHandler = ((this: EventTarget, event: Event) => unknown) | null;

/** The session options a `WebSocket` passes through (the handshake decides the rest). */
export type SessionSettings = Omit<
  SessionOptions,
  "role" | "protocol" | "extensions" | "extensionsHeader" | "budget"
>;

/** What a {@link Connector} is asked to open. */
export interface ConnectRequest {
  /** The parsed URL. */
  readonly url: WebSocketUrl;
  /** The subprotocols to offer, validated. */
  readonly protocols: readonly string[];
  /** Aborted when the application gives up (`close()` while connecting, its own signal). */
  readonly signal: AbortSignal;
  /** Options for the session the connector creates. */
  readonly session: SessionSettings;
}

/**
 * Opens a client connection for a runtime: connects, runs the opening handshake and resolves
 * with the session (not started), or rejects with why it failed.
 */
export type Connector = (request: ConnectRequest) => Promise<Session>;

/**
 * Options of the {@link WebSocket} constructor beyond the WHATWG arguments. `B` is the type of
 * `binaryType`, inferred from the `binaryType` given here.
 */
export interface WebSocketInit<B extends BinaryType = BinaryType> extends SessionSettings {
  /**
   * The initial `binaryType`. Default `"blob"` (WHATWG). Also sets the socket's type: with
   * `"uint8array"` here, `event.data` is typed `string | Uint8Array`.
   */
  readonly binaryType?: B | undefined;
  /** Opens the connection; supplied by the runtime adapter. */
  readonly connector?: Connector | undefined;
  /** Gives up connecting when aborted: the socket fails with `error` then `close` 1006. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Wrap this already open session instead of connecting (a server's accepted connection). No
   * `open` event is fired; the caller starts the session once its listeners are attached.
   */
  readonly session?: Session | undefined;
  /**
   * A server's `clients` set (`clientTracking`): the socket leaves it once closed, in a
   * microtask after the `close` event. Set by the server, with `session`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a server's set holds sockets of any binaryType.
  readonly clients?: Set<WebSocket<any>> | undefined;
  /** A server's pub/sub (`subscribe`, `publish`): the socket leaves its topics once closed. */
  // biome-ignore lint/suspicious/noExplicitAny: a server's topics hold sockets of any binaryType.
  readonly pubsub?: PubSub<WebSocket<any>> | undefined;
  /**
   * Where an exception thrown by one of this socket's listeners (`onmessage`, `addEventListener`
   * …, or a rejection of an `async` listener) goes, as a `WebSocketError` with code
   * `LISTENER_ERROR` and the exception as `cause`. It is never thrown into the event loop and
   * the connection stays open (as in a browser). Default: the console; a server's sockets report
   * to the server's `error` event.
   */
  readonly reportError?: ((error: WebSocketError) => void) | undefined;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

type Handler = ((this: unknown, event: Event) => unknown) | null;

/**
 * A client socket's state while it connects: the abort of the connection attempt, the
 * `opened` promise's settlers, and pull consumers created meanwhile. A server's sockets are
 * open from the start and have none.
 */
interface Connecting {
  abort: AbortController | undefined;
  settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  waiters: ((iterator: AsyncIterableIterator<Received> | undefined) => void)[] | undefined;
}

/** Sends kept in order behind a `Blob` being read: the chain, and how many steps it has left. */
interface BlobChain {
  promise: Promise<void>;
  steps: number;
}

/** A socket's state that few sockets need: made when one of its fields is first set. */
class Rare {
  /** While a client connects (see {@link Connecting}). */
  connecting: Connecting | undefined = undefined;
  error: unknown = undefined;
  pendingBytes = 0;
  blobChain: BlobChain | undefined = undefined;
  opened: Promise<void> | undefined = undefined;
  wrappers: WeakMap<object, Map<string, (event: Event) => void>> | undefined = undefined;
}

/** What a server gives each of its sockets, the same for all of them (see {@link linkOf}). */
interface SocketLink {
  /** A server's socket (made around an accepted session). */
  readonly server: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: a server's set holds sockets of any binaryType.
  readonly clients: Set<WebSocket<any>> | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: a server's topics hold sockets of any binaryType.
  readonly pubsub: PubSub<WebSocket<any>> | undefined;
  readonly reportError: ((error: WebSocketError) => void) | undefined;
}

/** The links without a server's parts: a client's, and a socket made around a session by hand. */
const CLIENT_LINK: SocketLink = {
  server: false,
  clients: undefined,
  pubsub: undefined,
  reportError: undefined,
};
const BARE_SERVER_LINK: SocketLink = { ...CLIENT_LINK, server: true };
/** Links by one of their parts (weakly: a closed server's link goes with it). */
const links = new WeakMap<object, SocketLink>();

/**
 * The link of a new socket: the one made for the same parts before (a server's sockets share
 * one object), so that a socket holds one field for them rather than four.
 */
function linkOf(
  server: boolean,
  // biome-ignore lint/suspicious/noExplicitAny: a server's set holds sockets of any binaryType.
  clients: Set<WebSocket<any>> | undefined,
  // biome-ignore lint/suspicious/noExplicitAny: a server's topics hold sockets of any binaryType.
  pubsub: PubSub<WebSocket<any>> | undefined,
  reportError: ((error: WebSocketError) => void) | undefined,
): SocketLink {
  const key = reportError ?? pubsub ?? clients;
  if (key === undefined) return server ? BARE_SERVER_LINK : CLIENT_LINK;
  const known = links.get(key);
  if (
    known !== undefined &&
    known.server === server &&
    known.clients === clients &&
    known.pubsub === pubsub &&
    known.reportError === reportError
  ) {
    return known;
  }
  const link: SocketLink = { server, clients, pubsub, reportError };
  links.set(key, link);
  return link;
}

/**
 * A socket's {@link SessionHandler}: one small object per socket whose functions are shared by
 * every socket (`this` is the handler), instead of four closures per socket. Its members are
 * plain own properties, so `{ ...session.handler, message }` keeps working.
 */
interface SocketHandler extends SessionHandler {
  // biome-ignore lint/suspicious/noExplicitAny: one handler type for sockets of every binaryType.
  readonly socket: WebSocket<any>;
}

/** Makes the handler of `socket` (defined in the class, to reach its private members). */
// biome-ignore lint/suspicious/noExplicitAny: one handler type for sockets of every binaryType.
let socketHandler: (socket: WebSocket<any>) => SocketHandler;

/** Set by {@link acceptedSocket} for the one adapter constructor call it makes. */
let accepting = false;

/**
 * Builds a server's socket around an accepted session with `create` (which calls the
 * adapter's `WebSocket` constructor with `init.session`): that constructor learns from
 * {@link isAcceptedSocket} that it may skip the client's argument and option checks and its
 * connector, which a server's sockets never use.
 */
export function acceptedSocket<T>(create: () => T): T {
  accepting = true;
  try {
    return create();
  } finally {
    accepting = false;
  }
}

/** For an adapter's `WebSocket` constructor: whether {@link acceptedSocket} is calling it. */
export function isAcceptedSocket(): boolean {
  return accepting;
}

/** Listeners are told apart by type and capture (DOM "flatten options"). */
function listenerKey(type: string, options: EventListenerOptions | boolean | undefined): string {
  const capture = typeof options === "boolean" ? options : options?.capture === true;
  return capture ? `c${type}` : `b${type}`;
}

/**
 * WHATWG "get a URL record" (§3.1): a relative URL is parsed against the API base URL. Outside a
 * browser that is `globalThis.location` where the runtime has one (Deno run with `--location`,
 * or a page-like environment that defines it); without one, only absolute URLs parse.
 */
function resolveAgainstBase(url: string): string {
  let base: unknown;
  try {
    // Deno's `location` getter throws when the process was started without --location.
    base = (globalThis as { location?: { href?: unknown } }).location?.href;
  } catch {
    return url;
  }
  if (typeof base !== "string") return url;
  try {
    return new URL(url, base).href;
  } catch {
    return url; // not a URL even against the base: parseWebSocketUrl says why
  }
}

/**
 * WebIDL `(DOMString or sequence<DOMString>)` (§3.2.10): an iterable object is a sequence whose
 * items are converted to strings, anything else one string (`null` is "null").
 */
function protocolList(protocols: unknown): string[] {
  if (protocols === undefined) return [];
  if (typeof protocols === "object" && protocols !== null && Symbol.iterator in protocols)
    return Array.from(protocols as Iterable<unknown>, (protocol) => `${protocol as string}`);
  return [`${protocols as string}`];
}

/**
 * RFC 6455 §4.1, client requirement 2: "There MUST be no more than one connection in a
 * CONNECTING state"; a client that already has a connection to the host and port in CONNECTING
 * waits until it is open or has failed. One entry per host and port with attempts in
 * CONNECTING or waiting: a promise that settles when the newest of them is done waiting and
 * open or failed. Keyed by the URL's host name and port: telling that two names are one
 * address would need a DNS lookup before connecting (browsers differ here too).
 */
const connecting = new Map<string, Promise<void>>();

/**
 * Calls `connect` once the connections to `key` opened before it are open or failed (at once
 * when there are none); `signal` gives up waiting. The next attempt to `key` waits for this one.
 */
function inTurn(key: string, signal: AbortSignal, connect: () => Promise<Session>): Promise<Session> {
  const previous = connecting.get(key);
  let promise: Promise<Session>;
  if (previous === undefined) {
    try {
      promise = connect();
    } catch (error) {
      promise = Promise.reject(error);
    }
  } else {
    promise = new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      void previous.then(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    }).then(connect);
  }
  const settled = promise.then(
    () => undefined,
    () => undefined,
  );
  // This attempt's turn ends once it and every attempt before it are done.
  const turn: Promise<void> = (previous === undefined ? settled : Promise.all([previous, settled])).then(
    () => {
      if (connecting.get(key) === turn) connecting.delete(key);
    },
  );
  connecting.set(key, turn);
  return promise;
}

/** The members of the WebIDL `WebSocket` interface (WHATWG §3), made enumerable as WebIDL's are. */
const IDL_MEMBERS = [
  "url",
  "readyState",
  "bufferedAmount",
  "onopen",
  "onerror",
  "onclose",
  "extensions",
  "protocol",
  "close",
  "onmessage",
  "binaryType",
  "send",
] as const;

/** Per WebIDL `[Clamp] unsigned short`. */
function clampUnsignedShort(value: number): number {
  const number = Number(value);
  if (Number.isNaN(number)) return 0;
  const clamped = Math.min(65535, Math.max(0, number));
  const rounded = Math.round(clamped);
  // Round half to even.
  return Math.abs(clamped - Math.trunc(clamped)) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/**
 * A WebSocket connection, as in browsers.
 *
 * @example
 * ```ts
 * import { WebSocket } from "@ws/node"; // the adapter supplies the connector
 * const ws = new WebSocket("ws://127.0.0.1:8080/chat", "chat");
 * ws.binaryType = "arraybuffer";
 * ws.onopen = () => ws.send("hello");
 * ws.onmessage = (event) => console.log(event.data);
 * ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
 * ```
 *
 * Types: `B` is the type of `binaryType` and decides the type of `event.data` in `message`
 * events ({@link WebSocketEventMap}). It is inferred from the `binaryType` constructor option
 * (`new WebSocket(url, [], { binaryType: "arraybuffer" })` gives `string | ArrayBuffer`), and
 * is every {@link BinaryType} otherwise, so that the setter accepts them all and `WebSocket`
 * alone names a socket of any `binaryType` (a server's sockets are `WebSocket<"uint8array">`).
 * A socket whose `B` is `"blob"`, `"arraybuffer"` or both is assignable to the DOM `WebSocket`
 * type; `"uint8array"` is our extra, outside the WHATWG enum.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below only types EventTarget's inherited methods.
export class WebSocket<B extends BinaryType = BinaryType> extends EventTarget {
  /** The connection has not yet been established. */
  static readonly CONNECTING: 0 = CONNECTING;
  /** The connection is established and communication is possible. */
  static readonly OPEN: 1 = OPEN;
  /** The connection is going through the closing handshake, or `close()` was called. */
  static readonly CLOSING: 2 = CLOSING;
  /** The connection has been closed or could not be opened. */
  static readonly CLOSED: 3 = CLOSED;
  // WebIDL §3.7.4 (constants): on the prototype, not on each instance (defined in the static block).
  /** {@link WebSocket.CONNECTING} */
  declare readonly CONNECTING: 0;
  /** {@link WebSocket.OPEN} */
  declare readonly OPEN: 1;
  /** {@link WebSocket.CLOSING} */
  declare readonly CLOSING: 2;
  /** {@link WebSocket.CLOSED} */
  declare readonly CLOSED: 3;

  // Its own fields are few (what most sockets never need is in objects made then, or shared
  // by a server's sockets): this object is one per connection, and an `EventTarget` subclass
  // keeps every field out of line, in storage that grows in steps.
  readonly #url: string;
  /** The origin of `url` for `message` events; computed for the first one. */
  #origin: string | undefined;
  #readyState: number = CONNECTING;
  #binaryType: BinaryType;
  #session: Session | undefined;
  /** The `on<event>` handlers; made when the first one is set (a server's sockets often have none). */
  #handlers: Map<string, Handler> | undefined;
  /** What a server shares with each of its sockets (see {@link linkOf}). */
  readonly #link: SocketLink;
  /** What few sockets need, made when first set (see {@link Rare}). */
  #rare: Rare | undefined;

  /** The rare state, made on first need. */
  #rareOf(): Rare {
    this.#rare ??= new Rare();
    return this.#rare;
  }
  /** A server's socket: `close()` accepts every code that may be sent (RFC 6455 §7.4). */
  get #server(): boolean {
    return this.#link.server;
  }
  /** The server's client set this socket leaves once closed. */
  // biome-ignore lint/suspicious/noExplicitAny: a server's set holds sockets of any binaryType.
  get #clients(): Set<WebSocket<any>> | undefined {
    return this.#link.clients;
  }
  // biome-ignore lint/suspicious/noExplicitAny: a server's topics hold sockets of any binaryType.
  get #pubsub(): PubSub<WebSocket<any>> | undefined {
    return this.#link.pubsub;
  }
  get #reportError(): ((error: WebSocketError) => void) | undefined {
    return this.#link.reportError;
  }
  /** While a client connects (see {@link Connecting}); undefined for a server's socket. */
  get #connecting(): Connecting | undefined {
    return this.#rare?.connecting;
  }
  set #connecting(value: Connecting | undefined) {
    if (value !== undefined || this.#rare !== undefined) this.#rareOf().connecting = value;
  }
  get #error(): unknown {
    return this.#rare?.error;
  }
  set #error(value: unknown) {
    if (value !== undefined || this.#rare !== undefined) this.#rareOf().error = value;
  }
  /** Bytes of sends waiting on a `Blob`, or discarded after close (WHATWG counts them). */
  get #pendingBytes(): number {
    return this.#rare?.pendingBytes ?? 0;
  }
  set #pendingBytes(value: number) {
    if (value !== 0 || this.#rare !== undefined) this.#rareOf().pendingBytes = value;
  }
  /** Sends waiting behind a `Blob` being read; made for the first `Blob`. */
  get #blobChain(): BlobChain | undefined {
    return this.#rare?.blobChain;
  }
  set #blobChain(value: BlobChain | undefined) {
    if (value !== undefined || this.#rare !== undefined) this.#rareOf().blobChain = value;
  }
  get #opened(): Promise<void> | undefined {
    return this.#rare?.opened;
  }
  set #opened(value: Promise<void> | undefined) {
    if (value !== undefined || this.#rare !== undefined) this.#rareOf().opened = value;
  }
  /** The wrapper of each listener (per type and capture), so `removeEventListener` finds it. */
  get #wrappers(): WeakMap<object, Map<string, (event: Event) => void>> | undefined {
    return this.#rare?.wrappers;
  }
  set #wrappers(value: WeakMap<object, Map<string, (event: Event) => void>> | undefined) {
    if (value !== undefined || this.#rare !== undefined) this.#rareOf().wrappers = value;
  }

  static {
    function message(this: SocketHandler, data: string | Uint8Array): void {
      this.socket.#onMessage(data);
    }
    function piece(this: SocketHandler, piece: MessagePiece): void {
      if (this.socket.#readyState === OPEN)
        this.socket.dispatchEvent(new MessageEvent("message", { data: piece }));
    }
    function error(this: SocketHandler, error: Error): void {
      this.socket.#error = error;
    }
    function close(this: SocketHandler, info: CloseInfo): void {
      this.socket.#onClose(info);
    }
    socketHandler = (socket) => ({ socket, message, piece, error, close });
    // WebIDL §3.7.1: the interface object's `length` is its required arguments (the URL) — 1.
    Object.defineProperty(WebSocket, "length", { value: 1 });
    // WebIDL §3.7.4: a constant is a read-only, enumerable, non-configurable property of both
    // the interface object and the interface prototype object.
    for (const [name, value] of [
      ["CONNECTING", CONNECTING],
      ["OPEN", OPEN],
      ["CLOSING", CLOSING],
      ["CLOSED", CLOSED],
    ] as const) {
      const descriptor = { value, writable: false, enumerable: true, configurable: false };
      Object.defineProperty(WebSocket, name, descriptor);
      Object.defineProperty(WebSocket.prototype, name, descriptor);
    }
    // WebIDL §3.7.3, §3.7.5, §3.7.6: attributes and operations are enumerable properties of the
    // prototype (class members are not), and the class string (`[object WebSocket]`) is a
    // data property.
    for (const name of IDL_MEMBERS) {
      const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name) as PropertyDescriptor;
      Object.defineProperty(WebSocket.prototype, name, { ...descriptor, enumerable: true });
    }
    Object.defineProperty(WebSocket.prototype, Symbol.toStringTag, {
      value: "WebSocket",
      configurable: true,
    });
    // WebIDL §3.7.5: an operation's `length` is its number of required arguments:
    // `close(optional code, optional reason)` 0, `send(data)` 1 (our options are an extra).
    Object.defineProperty(WebSocket.prototype.close, "length", { value: 0 });
    Object.defineProperty(WebSocket.prototype.send, "length", { value: 1 });
  }

  /**
   * Gives an adapter's subclass (`@ws/node`'s `WebSocket`…) the shape of the WebIDL interface
   * (§3.7): this class's members as own properties of its prototype, whose [[Prototype]] is
   * `EventTarget.prototype` (as `Object.getPrototypeOf(WebSocket.prototype)` is in a browser),
   * the constants on the class and the prototype, and `length` 1. The subclass keeps its own
   * members. Its instances are still `instanceof` this class (see `Symbol.hasInstance`). The
   * class object itself still inherits from this one: its constructor's `super()` needs it.
   */
  static defineInterface(Class: abstract new (...args: never[]) => WebSocket<BinaryType>): void {
    const prototype = Class.prototype as object;
    for (const key of Reflect.ownKeys(WebSocket.prototype)) {
      if (key === "constructor" || Object.hasOwn(prototype, key)) continue;
      Object.defineProperty(
        prototype,
        key,
        Object.getOwnPropertyDescriptor(WebSocket.prototype, key) as PropertyDescriptor,
      );
    }
    Object.setPrototypeOf(prototype, EventTarget.prototype);
    for (const key of ["CONNECTING", "OPEN", "CLOSING", "CLOSED", "length"]) {
      Object.defineProperty(
        Class,
        key,
        Object.getOwnPropertyDescriptor(WebSocket, key) as PropertyDescriptor,
      );
    }
  }

  /**
   * `instanceof WebSocket` holds for every socket, also those of an adapter's class (whose
   * prototype chain skips this class, see {@link WebSocket.defineInterface}); for a subclass,
   * the ordinary prototype-chain test.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` was asked about, maybe a subclass.
    if (this !== WebSocket) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && #url in value;
  }

  /**
   * @param url a `ws:`/`wss:` (or `http:`/`https:`) URL without fragment; else `SyntaxError`.
   * @param protocols subprotocols to offer, unique tokens; else `SyntaxError`.
   * @param init the connector and session options (see {@link WebSocketInit}).
   */
  constructor(url: string | URL, protocols?: string | readonly string[], init: WebSocketInit<B> = {}) {
    super();
    const accepted = accepting;
    accepting = false;
    // Read one by one: the rest of the options (`settings` below) is needed by clients only.
    const session = init.session;
    this.#binaryType = init.binaryType ?? "blob";
    // WebIDL §3.6.8 (overload resolution): the URL argument is required. An adapter passes its
    // own arguments on, so a missing one arrives as undefined.
    if (url === undefined)
      throw new TypeError("Cannot create WebSocket: 1 argument required, but only 0 present");
    this.#link = linkOf(session !== undefined, init.clients, init.pubsub, init.reportError);
    if (accepted && session !== undefined && typeof url === "string" && !url.includes("#")) {
      // A server's socket (`acceptedSocket`): the server made `url` with `URL`, a `ws:` or
      // `wss:` href; only a fragment, which a request target may hold, would be refused.
      this.#url = url;
      this.#attach(session, false);
      return;
    }
    let parsed: WebSocketUrl;
    try {
      parsed = parseWebSocketUrl(resolveAgainstBase(`${url as string}`));
    } catch (error) {
      throw new DOMException(error instanceof Error ? error.message : String(error), "SyntaxError");
    }
    this.#url = parsed.href;
    if (session !== undefined) {
      this.#attach(session, false);
      return;
    }
    const { binaryType, connector, signal, session: _, clients, pubsub, reportError, ...settings } = init;
    const offered = protocolList(protocols);
    try {
      validateProtocols(offered);
    } catch (error) {
      throw new DOMException(error instanceof Error ? error.message : String(error), "SyntaxError");
    }
    if (connector === undefined) {
      throw new TypeError(
        "Cannot create WebSocket: no connector; use the WebSocket of @ws/node, @ws/deno or @ws/bun",
      );
    }
    const abort = new AbortController();
    const connecting: Connecting = { abort, settle: undefined, waiters: undefined };
    this.#connecting = connecting;
    if (signal !== undefined) {
      if (signal.aborted) abort.abort(signal.reason);
      else signal.addEventListener("abort", () => abort.abort(signal.reason), { once: true });
    }
    const promise = inTurn(`${parsed.hostname.toLowerCase()}:${parsed.port}`, abort.signal, () =>
      connector({ url: parsed, protocols: offered, signal: abort.signal, session: settings }),
    );
    promise.then(
      (opened) => {
        connecting.abort = undefined;
        if (this.#readyState !== CONNECTING) {
          opened.terminate();
          this.#failConnect(
            abort.signal.reason ?? new DOMException("WebSocket was closed before it opened", "AbortError"),
          );
          return;
        }
        this.#attach(opened, true);
      },
      (error: unknown) => {
        connecting.abort = undefined;
        this.#failConnect(error);
      },
    );
  }

  /** The URL, with a `ws:` or `wss:` scheme. */
  get url(): string {
    return this.#url;
  }

  /** CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3). */
  get readyState(): number {
    if (this.#readyState === OPEN && this.#session !== undefined && this.#session.state !== "open")
      return CLOSING;
    return this.#readyState;
  }

  /** The subprotocol the server selected, or "". */
  get protocol(): string {
    return this.#session?.protocol ?? "";
  }

  /** The extensions the server accepted (its `Sec-WebSocket-Extensions` value), or "". */
  get extensions(): string {
    return this.#session?.extensions ?? "";
  }

  /**
   * Bytes of application data (UTF-8 text and binary payloads, not frame headers) queued by
   * `send()` and not yet transmitted to the network, counting every `send()` of the current
   * task (WHATWG: "as of the last time the event loop reached step 1"), plus `Blob`s being
   * read and sends made once the connection was closing (which WHATWG keeps counting).
   */
  get bufferedAmount(): number {
    return (this.#session?.applicationBufferedAmount ?? 0) + this.#pendingBytes;
  }

  /**
   * Whether the send queue is over its high-water mark (the runtime's socket buffer is full):
   * then wait for {@link WebSocket.drained} before sending more. An extra for backpressure:
   * `send()` returns `undefined`, as WebIDL declares it.
   */
  get needsDrain(): boolean {
    return this.#blobChain !== undefined || (this.#session?.blocked ?? false);
  }

  /** What `message` events carry for binary messages. */
  get binaryType(): B {
    return this.#binaryType as B;
  }
  set binaryType(value: B) {
    // WebIDL §3.7.6: the setter of an object that is not a WebSocket throws TypeError (reading
    // the private field does), whatever the value.
    void this.#binaryType;
    // WHATWG: an unknown value is ignored (the IDL enum makes the setter a no-op).
    if (value === "blob" || value === "arraybuffer" || value === "uint8array") this.#binaryType = value;
  }

  /** The underlying session, once open (advanced use). */
  get session(): Session | undefined {
    return this.#session;
  }

  /** Handler of the `open` event. */
  get onopen(): StoredEventHandler {
    return (this.#handlers?.get("open") ?? null) as StoredEventHandler;
  }
  set onopen(handler: WebSocketEventHandler<this, WebSocketEventMap<B>["open"]>) {
    this.#setHandler("open", handler as Handler);
  }
  /** Handler of `message` events (`MessageEvent`). */
  get onmessage(): StoredEventHandler {
    return (this.#handlers?.get("message") ?? null) as StoredEventHandler;
  }
  set onmessage(handler: WebSocketEventHandler<this, WebSocketEventMap<B>["message"]>) {
    this.#setHandler("message", handler as Handler);
  }
  /** Handler of the `error` event. */
  get onerror(): StoredEventHandler {
    return (this.#handlers?.get("error") ?? null) as StoredEventHandler;
  }
  set onerror(handler: WebSocketEventHandler<this, WebSocketEventMap<B>["error"]>) {
    this.#setHandler("error", handler as Handler);
  }
  /** Handler of the `close` event ({@link CloseEvent}). */
  get onclose(): StoredEventHandler {
    return (this.#handlers?.get("close") ?? null) as StoredEventHandler;
  }
  set onclose(handler: WebSocketEventHandler<this, WebSocketEventMap<B>["close"]>) {
    this.#setHandler("close", handler as Handler);
  }

  #setHandler(type: string, handler: Handler): void {
    this.#handlers ??= new Map();
    const handlers = this.#handlers;
    if (!handlers.has(type)) {
      this.addEventListener(type, (event) => {
        const current = handlers.get(type);
        if (typeof current === "function") current.call(this, event);
      });
    }
    // HTML §8.1.8.1: `EventHandler` is `[LegacyTreatNonObjectAsNull]`: any object is kept (the
    // getter returns it; a non-callable one is not invoked), anything else becomes null.
    handlers.set(
      type,
      typeof handler === "function" || (typeof handler === "object" && handler !== null) ? handler : null,
    );
  }

  /**
   * Resolves when the connection is open; rejects with why it could not be opened (a typed
   * error from the adapter, e.g. `HandshakeRejectedError`).
   */
  get opened(): Promise<void> {
    if (this.#opened === undefined) {
      // Closed while connecting, the failure is not known yet (CLOSING): wait for it.
      if (this.#session !== undefined || this.#readyState === CLOSED) {
        this.#opened = this.#session !== undefined ? Promise.resolve() : rejected(this.#error);
      } else {
        // Marked handled: a socket whose `opened` nobody awaits may fail without ending the process.
        this.#opened = handled(
          new Promise((resolve, reject) => {
            (this.#connecting as Connecting).settle = { resolve, reject };
          }),
        );
      }
    }
    return this.#opened;
  }

  /**
   * Sends a message: a string as text, an `ArrayBuffer`, a view or a `Blob` as binary (WHATWG).
   * Throws `InvalidStateError` while connecting; after closing starts, the data is discarded
   * (and counted in `bufferedAmount`). Returns `undefined` (WebIDL); for backpressure, check
   * {@link WebSocket.needsDrain} and await {@link WebSocket.drained}.
   */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob, options?: SendOptions): void {
    // WebIDL §3.6.8: the argument is required (checked before the state, as browsers do).
    // biome-ignore lint/complexity/noArguments: only `arguments` tells a missing argument from undefined.
    if (arguments.length === 0) throw new TypeError("Cannot send: 1 argument required, but only 0 present");
    if (this.#readyState === CONNECTING) {
      throw new DOMException("Cannot send: the WebSocket is still connecting", "InvalidStateError");
    }
    if (typeof Blob !== "undefined" && data instanceof Blob) {
      const size = data.size;
      this.#pendingBytes += size;
      this.#chain(async () => {
        const bytes = new Uint8Array(await data.arrayBuffer());
        this.#pendingBytes -= size;
        this.#sendNow(bytes, options);
      });
      return;
    }
    // WebIDL §3.2.10 (union conversion): what is neither a BufferSource nor a Blob is converted
    // to a USVString (`null` → "null", 42 → "42"; a Symbol throws TypeError; lone surrogates
    // become U+FFFD when the text is encoded).
    const payload =
      typeof data === "string"
        ? data
        : data instanceof ArrayBuffer || ArrayBuffer.isView(data)
          ? toBytes(data as ArrayBuffer | ArrayBufferView)
          : `${data as unknown as string}`;
    if (this.#blobChain !== undefined) {
      this.#pendingBytes += typeof payload === "string" ? utf8Length(payload) : payload.length;
      this.#chain(async () => {
        this.#pendingBytes -= typeof payload === "string" ? utf8Length(payload) : payload.length;
        this.#sendNow(payload, options);
      });
      return;
    }
    this.#sendNow(payload, options);
  }

  /** Keeps sends in order behind a `Blob` being read. */
  #chain(step: () => Promise<void>): void {
    const chain = this.#blobChain ?? { promise: Promise.resolve(), steps: 0 };
    this.#blobChain = chain;
    chain.steps++;
    chain.promise = chain.promise.then(step).finally(() => {
      if (--chain.steps === 0) this.#blobChain = undefined;
    });
    chain.promise.catch(() => {});
  }

  #sendNow(payload: string | Uint8Array, options: SendOptions | undefined): void {
    const session = this.#session;
    if (session === undefined || session.state !== "open" || this.#readyState !== OPEN) {
      this.#pendingBytes += typeof payload === "string" ? utf8Length(payload) : payload.length;
      return;
    }
    session.send(payload, options);
  }

  /**
   * Sends a message framed once for many sockets ({@link prepareMessage}, or a server's
   * `prepareMessage`): its shared bytes where this connection's parameters allow, else through
   * `send()`. Same rules and limits as `send()`.
   */
  sendPrepared(message: PreparedMessage): void {
    if (!(message instanceof PreparedMessage))
      throw new TypeError("Cannot send prepared message: use prepareMessage() to make one");
    const session = this.#session;
    if (this.#blobChain !== undefined || session === undefined || this.#readyState !== OPEN) {
      this.send(message.data, message.sendOptions);
      return;
    }
    if (session.state !== "open") this.#sendNow(message.data, message.sendOptions);
    else sendPreparedOn(session, message);
  }

  /** Subscribes this server socket to `topic` (see the server's `publish`); false if it already was. */
  subscribe(topic: string): boolean {
    return this.#topicsOrThrow("subscribe").subscribe(this, topic);
  }

  /** Unsubscribes from `topic`; false when it was not subscribed. */
  unsubscribe(topic: string): boolean {
    return this.#topicsOrThrow("unsubscribe").unsubscribe(this, topic);
  }

  /** Whether this socket is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.#pubsub?.isSubscribed(this, topic) ?? false;
  }

  /** The topics this socket is subscribed to, in subscription order (a new array). */
  get topics(): string[] {
    return this.#pubsub?.topicsOf(this) ?? [];
  }

  // biome-ignore lint/suspicious/noExplicitAny: a server's topics hold sockets of any binaryType.
  #topicsOrThrow(what: string): PubSub<WebSocket<any>> {
    if (this.#pubsub === undefined)
      throw new TypeError(`Cannot ${what}: only a server's sockets have topics`);
    return this.#pubsub;
  }

  /** Resolves when the send queue is no longer over its high-water mark (see {@link WebSocket.needsDrain}). */
  drained(): Promise<void> {
    // Sends waiting for a Blob to be read come first.
    const chain = this.#blobChain;
    if (chain !== undefined) return chain.promise.then(() => this.drained());
    return this.#session?.drained() ?? Promise.resolve();
  }

  /**
   * Starts the closing handshake (WHATWG `close()`): `code` must be 1000 or 3000–4999
   * (`InvalidAccessError`), `reason` at most 123 UTF-8 bytes (`SyntaxError`). While
   * connecting, the connection attempt is failed. A server's socket also accepts the other
   * codes that may be sent (1001–1003, 1007–1014, RFC 6455 §7.4).
   */
  close(code?: number, reason?: string): void {
    let closeCode = code === undefined ? undefined : clampUnsignedShort(code);
    if (this.#server) {
      if (closeCode !== undefined && !isValidCloseCode(closeCode)) {
        throw new DOMException(
          `Cannot close: code ${closeCode} may not be sent (RFC 6455 §7.4)`,
          "InvalidAccessError",
        );
      }
    } else if (
      closeCode !== undefined &&
      closeCode !== CloseCode.NormalClosure &&
      !(closeCode >= 3000 && closeCode <= 4999)
    ) {
      throw new DOMException(
        `Cannot close: code ${closeCode} is neither 1000 nor in 3000–4999`,
        "InvalidAccessError",
      );
    }
    const closeReason = reason === undefined ? undefined : String(reason);
    if (closeReason !== undefined && utf8Length(closeReason) > 123) {
      throw new DOMException("Cannot close: the reason is longer than 123 UTF-8 bytes", "SyntaxError");
    }
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      this.#readyState = CLOSING;
      this.#connecting?.abort?.abort(
        new DOMException("WebSocket was closed before the connection was established", "AbortError"),
      );
      return;
    }
    if (closeReason !== undefined && closeCode === undefined) closeCode = CloseCode.NormalClosure;
    this.#readyState = CLOSING;
    this.#session?.close(closeCode, closeReason);
  }

  /** Closes the connection at once, without a close handshake (reported as 1006). */
  terminate(): void {
    if (this.#readyState === CONNECTING) {
      this.close();
      return;
    }
    this.#session?.terminate();
  }

  /** Sends a ping; resolves with the round-trip time in ms when the pong arrives. */
  ping(payload?: MessageData): Promise<number> {
    if (this.#session === undefined || this.#readyState !== OPEN) {
      return rejected(new DOMException("Cannot ping: the WebSocket is not open", "InvalidStateError"));
    }
    return this.#session.ping(payload);
  }

  /**
   * Sends one message from the pieces of `source`, one frame per piece, waiting for the send
   * queue between pieces (for large messages).
   */
  sendStream(
    source: AsyncIterable<MessageData> | Iterable<MessageData> | ReadableStream<MessageData>,
    options?: SendStreamOptions,
  ): Promise<void> {
    return handled(this.opened.then(() => (this.#session as Session).sendStream(source, options)));
  }

  /**
   * As `EventTarget`'s, but an exception thrown by `callback` (or the rejection of the promise
   * an `async` callback returns) is reported (see {@link WebSocketInit.reportError}) instead of
   * being thrown into the event loop, where it would end the process on Node, Deno and Bun.
   */
  override addEventListener(
    type: string,
    callback: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    if (callback === null || (typeof callback !== "function" && typeof callback !== "object")) {
      super.addEventListener(type, callback, options);
      return;
    }
    const key = listenerKey(type, options);
    this.#wrappers ??= new WeakMap();
    let byKey = this.#wrappers.get(callback);
    if (byKey === undefined) {
      byKey = new Map();
      this.#wrappers.set(callback, byKey);
    }
    let wrapper = byKey.get(key);
    if (wrapper === undefined) {
      const report = (error: unknown) => this.#reportListenerError(type, error);
      wrapper = function (this: unknown, event: Event): void {
        try {
          const result: unknown =
            typeof callback === "function" ? callback.call(this, event) : callback.handleEvent(event);
          if (result instanceof Promise) result.catch(report);
        } catch (error) {
          report(error);
        }
      };
      byKey.set(key, wrapper);
    }
    super.addEventListener(type, wrapper, options);
  }

  override removeEventListener(
    type: string,
    callback: EventListenerOrEventListenerObject | null,
    options?: EventListenerOptions | boolean,
  ): void {
    const wrapper =
      callback === null ? undefined : this.#wrappers?.get(callback)?.get(listenerKey(type, options));
    super.removeEventListener(type, wrapper ?? callback, options);
  }

  #reportListenerError(type: string, cause: unknown): void {
    const error = new WebSocketError(
      "LISTENER_ERROR",
      `A '${type}' listener of a WebSocket threw: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    try {
      (this.#reportError ?? reportListenerError)(error);
    } catch (failure) {
      reportListenerError(failure);
    }
  }

  /**
   * The messages, with receive backpressure (reading pauses while the loop is behind). Binary
   * messages are `Uint8Array`s whatever `binaryType` is. Ends when the connection closes.
   * `message` events are dispatched too.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Uint8Array> {
    return this.#lazyIterator() as AsyncIterableIterator<string | Uint8Array>;
  }

  /** The pieces of each message as they arrive, when opened with `streamMessages: true`. */
  pieces(): AsyncIterableIterator<MessagePiece> {
    return this.#lazyIterator() as AsyncIterableIterator<MessagePiece>;
  }

  /**
   * A WebSocketStream-like pair: `readable` yields messages (with receive backpressure),
   * `writable` sends each chunk and waits for the send queue; closing it closes the socket.
   */
  stream(): { readable: ReadableStream<Received>; writable: WritableStream<MessageData> } {
    const iterator = this.#lazyIterator();
    const readable = new ReadableStream<Received>(
      {
        pull: async (controller) => {
          const result = await iterator.next();
          if (result.done) controller.close();
          else controller.enqueue(result.value);
        },
        cancel: async () => {
          await iterator.return?.();
        },
      },
      { highWaterMark: 0 },
    );
    const writable = new WritableStream<MessageData>({
      write: async (chunk) => {
        await this.opened;
        this.send(typeof chunk === "string" ? chunk : toBytes(chunk));
        if (this.needsDrain) await this.drained();
      },
      close: async () => {
        this.close(CloseCode.NormalClosure);
        const session = this.#session;
        if (session !== undefined) await session.closed;
      },
      abort: () => {
        this.close(CloseCode.NormalClosure);
      },
    });
    return { readable, writable };
  }

  /** An iterator over the session's messages, attached before any message is delivered. */
  #lazyIterator(): AsyncIterableIterator<Received> {
    let inner: AsyncIterableIterator<Received> | undefined;
    let reported = false;
    let ready: Promise<AsyncIterableIterator<Received> | undefined>;
    const session = this.#session;
    if (session !== undefined) {
      inner = session.streamMessages ? session.pieces() : session.messages();
      ready = Promise.resolve(inner);
    } else if (this.#readyState === CONNECTING) {
      ready = new Promise((resolve) => {
        const connecting = this.#connecting as Connecting;
        connecting.waiters ??= [];
        connecting.waiters.push(resolve);
      });
    } else {
      ready = Promise.resolve(undefined);
    }
    const done: IteratorResult<Received> = { done: true, value: undefined };
    const iterator: AsyncIterableIterator<Received> = {
      next: async () => {
        inner ??= await ready;
        if (inner !== undefined) return inner.next();
        // The connection could not be opened: the loop ends with why, once (not silently).
        const error = this.#error;
        if (error !== undefined && !reported) {
          reported = true;
          throw error;
        }
        return done;
      },
      return: async () => {
        inner ??= await ready;
        await inner?.return?.();
        return done;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #attach(session: Session, fireOpen: boolean): void {
    this.#session = session;
    this.#readyState = OPEN;
    session.handler = socketHandler(this);
    // Pull consumers registered while connecting attach before the first message.
    const connecting = this.#connecting;
    this.#connecting = undefined;
    const waiters = connecting?.waiters;
    if (waiters !== undefined) {
      for (const resolve of waiters) resolve(session.streamMessages ? session.pieces() : session.messages());
    }
    connecting?.settle?.resolve();
    if (!fireOpen) return; // A server's socket: the server starts the session after 'connection'.
    this.dispatchEvent(new Event("open"));
    // Messages are delivered from the next task (as a browser queues them), so code that
    // awaited `opened` (or `connect()`) can attach its listeners first.
    setTimeout(() => session.start(), 0);
  }

  #onMessage(data: string | Uint8Array): void {
    if (this.#readyState !== OPEN) return;
    let value: string | Uint8Array | ArrayBuffer | Blob = data;
    if (typeof data !== "string") {
      if (this.#binaryType === "arraybuffer") {
        value =
          data.byteOffset === 0 &&
          data.byteLength === data.buffer.byteLength &&
          data.buffer instanceof ArrayBuffer
            ? data.buffer
            : Uint8Array.prototype.slice.call(data).buffer;
      } else if (this.#binaryType === "blob") {
        value = new Blob([data as Uint8Array<ArrayBuffer>]);
      }
    }
    this.#origin ??= new URL(this.#url).origin;
    this.dispatchEvent(new MessageEvent("message", { data: value, origin: this.#origin }));
  }

  #onClose(info: CloseInfo): void {
    this.#readyState = CLOSED;
    this.#pubsub?.leaveAll(this);
    const clients = this.#clients;
    // The session reports its close once: the socket leaves once.
    if (clients !== undefined) queueMicrotask(() => clients.delete(this));
    // WHATWG "the WebSocket connection is closed": error first when the connection was failed.
    if (info.error !== undefined) this.dispatchEvent(new WebSocketErrorEvent("error", info.error));
    else if (this.#error !== undefined) this.dispatchEvent(new WebSocketErrorEvent("error", this.#error));
    this.dispatchEvent(
      new CloseEvent("close", { wasClean: info.wasClean, code: info.code, reason: info.reason }),
    );
  }

  #failConnect(error: unknown): void {
    this.#error = error;
    this.#readyState = CLOSED;
    const connecting = this.#connecting;
    this.#connecting = undefined;
    for (const resolve of connecting?.waiters ?? []) resolve(undefined);
    if (connecting?.settle !== undefined) {
      connecting.settle.reject(error);
    } else if (this.#opened === undefined) {
      this.#opened = rejected(error);
    }
    this.dispatchEvent(new WebSocketErrorEvent("error", error));
    this.dispatchEvent(
      new CloseEvent("close", { wasClean: false, code: CloseCode.AbnormalClosure, reason: "" }),
    );
  }

  /** Why the connection failed or could not be opened, if it did. */
  get error(): unknown {
    return this.#error;
  }
}

/**
 * The typed `addEventListener` / `removeEventListener` of {@link WebSocket}: the methods are
 * `EventTarget`'s, inherited unchanged; this declaration only adds the overloads that give each
 * event its type ({@link WebSocketEventMap}), as the DOM's own `WebSocket` interface does.
 */
export interface WebSocket<B extends BinaryType = BinaryType> {
  addEventListener<K extends keyof WebSocketEventMap<B>>(
    type: K,
    listener: WebSocketListener<this, WebSocketEventMap<B>[K]> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof WebSocketEventMap<B>>(
    type: K,
    listener: WebSocketListener<this, WebSocketEventMap<B>[K]> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
