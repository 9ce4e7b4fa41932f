/**
 * A `ws`-compatible `WebSocket`: an `EventEmitter` with `ws`'s events, argument lists,
 * callbacks and `binaryType` values, over our WHATWG `WebSocket` (and so over the same
 * session and codec). It translates; the protocol stays in `@ws/session` and `@ws/codec`.
 *
 * `ws` API reference: https://github.com/websockets/ws/blob/master/doc/ws.md#class-websocket
 * Node `EventEmitter`: https://nodejs.org/api/events.html#class-eventemitter
 *
 * @module
 */
import { EventEmitter } from "node:events";
import { isValidCloseCode } from "@ws/codec/close";
import { HandshakeRejectedError, type Session } from "@ws/session";
import { type ClientOptions, WebSocket as NodeWebSocket } from "../client.ts";
import { checkKnown, mapDeflate, mapMaxPayload, refuse, type WsPerMessageDeflateOptions } from "./options.ts";

/** `ws`'s `binaryType` values: what a binary message is delivered as. */
export type WsBinaryType = "nodebuffer" | "arraybuffer" | "fragments";

/** Options of the `ws`-compatible client (the `ws` names we support). */
export interface WsClientOptions {
  readonly protocolVersion?: 13 | undefined;
  readonly followRedirects?: boolean | undefined;
  readonly maxRedirects?: number | undefined;
  readonly handshakeTimeout?: number | undefined;
  readonly perMessageDeflate?: boolean | WsPerMessageDeflateOptions | undefined;
  readonly maxPayload?: number | undefined;
  readonly autoPong?: boolean | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly origin?: string | undefined;
  readonly ca?: ClientOptions["ca"];
  readonly rejectUnauthorized?: boolean | undefined;
  readonly servername?: string | undefined;
  readonly cert?: NonNullable<ClientOptions["tls"]>["cert"];
  readonly key?: NonNullable<ClientOptions["tls"]>["key"];
  readonly passphrase?: string | undefined;
  readonly pfx?: NonNullable<ClientOptions["tls"]>["pfx"];
}

const CLIENT_KNOWN = [
  "protocolVersion",
  "followRedirects",
  "maxRedirects",
  "handshakeTimeout",
  "perMessageDeflate",
  "maxPayload",
  "autoPong",
  "headers",
  "origin",
  "ca",
  "rejectUnauthorized",
  "servername",
  "cert",
  "key",
  "passphrase",
  "pfx",
];

const CLIENT_REFUSED: Readonly<Record<string, string>> = {
  skipUTF8Validation: "text is always validated: RFC 6455 §8.1 requires failing on invalid UTF-8",
  generateMask: "masking keys come from crypto.getRandomValues (RFC 6455 §5.3)",
  allowSynchronousEvents: "messages are emitted as they are decoded",
  agent: "use the proxy option of @ws/node's WebSocket",
  createConnection: "the connection is opened by @ws/node's connector",
  finishRequest: "the upgrade request is built by @ws/codec",
  localAddress: "not supported by @ws/node's connector",
  family: "not supported by @ws/node's connector",
  lookup: "not supported by @ws/node's connector",
  checkServerIdentity: "not supported by @ws/node's connector",
  auth: "put user:password in the URL or an Authorization header",
  host: "not supported: the Host header comes from the URL",
  timeout: "use handshakeTimeout",
};

/** Events of the `ws`-compatible `WebSocket`, with `ws`'s argument lists. */
export interface WsEvents {
  open: [];
  message: [data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  ping: [data: Buffer];
  pong: [data: Buffer];
  "unexpected-response": [request: null, response: UnexpectedResponse];
  upgrade: [response: UpgradeResponse];
  redirect: [url: string, request: null];
}

/**
 * A response head, shaped like the parts of `http.IncomingMessage` `ws` users read: header
 * names in lower case, repeated fields joined with ", ".
 */
export interface UpgradeResponse {
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly headers: Record<string, string>;
}

/** The rejection answer, shaped like the parts of `http.IncomingMessage` `ws` users read. */
export interface UnexpectedResponse extends UpgradeResponse {
  /** The response body (at most 64 KiB of it), as text. */
  readonly body: string;
}

/** Header fields as `IncomingMessage.headers` has them: lower-case names, repeats joined. */
function headerRecord(fields: readonly (readonly [string, string])[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  return headers;
}

const STATE_NAMES: readonly string[] = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];

/** Set while {@link wrapServerSocket} constructs a server's socket. */
let accepted: NodeWebSocket | undefined;

function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === "string"
    ? Buffer.from(data)
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** `ws`'s data conversion: numbers become text, the rest must be bytes or text. */
function payloadOf(data: unknown): string | Uint8Array | ArrayBuffer {
  if (typeof data === "string") return data;
  if (typeof data === "number") return String(data);
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  throw new TypeError(
    "Cannot send: data must be a string, a number, a Buffer, a TypedArray, a DataView or an ArrayBuffer",
  );
}

/** Options of {@link WebSocket.send} (`ws`'s names). */
export interface WsSendOptions {
  readonly binary?: boolean | undefined;
  readonly compress?: boolean | undefined;
  readonly fin?: boolean | undefined;
  readonly mask?: boolean | undefined;
}

/**
 * The `ws`-compatible WebSocket.
 *
 * @example
 * ```ts
 * import WebSocket from "@ws/node/ws";
 * const ws = new WebSocket("ws://127.0.0.1:8080");
 * ws.on("open", () => ws.send("hello"));
 * ws.on("message", (data, isBinary) => console.log(isBinary ? data : data.toString()));
 * ```
 */
export class WebSocket extends EventEmitter<WsEvents> {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  /** What binary messages are delivered as. Default `"nodebuffer"`. */
  #binaryType: WsBinaryType = "nodebuffer";
  readonly #inner: NodeWebSocket;
  readonly #isServer: boolean;
  #closing = false;

  constructor(
    address: string | URL,
    protocols?: string | readonly string[] | WsClientOptions,
    options?: WsClientOptions,
  ) {
    super();
    if (accepted !== undefined) {
      this.#inner = accepted;
      accepted = undefined;
      this.#isServer = true;
      this.#wire();
      return;
    }
    this.#isServer = false;
    const optionsOnly = typeof protocols === "object" && protocols !== null && !Array.isArray(protocols);
    const init = ((optionsOnly ? protocols : options) ?? {}) as WsClientOptions;
    const offered = optionsOnly ? undefined : (protocols as string | readonly string[] | undefined);
    refuse("WebSocket", init, CLIENT_REFUSED);
    checkKnown("WebSocket", init, CLIENT_KNOWN);
    if (init.protocolVersion !== undefined && init.protocolVersion !== 13) {
      throw new TypeError(
        `Cannot create WebSocket: protocolVersion ${String(init.protocolVersion)} is not supported (only 13)`,
      );
    }
    const { cert, key, passphrase, pfx, maxPayload, perMessageDeflate, protocolVersion: _, ...rest } = init;
    const tls = { cert, key, passphrase, pfx };
    const limits = mapMaxPayload(maxPayload);
    const deflate = mapDeflate("WebSocket", perMessageDeflate);
    this.#inner = new NodeWebSocket(address, offered, {
      ...rest,
      // ws echoes the peer's close reason with its code.
      echoCloseReason: true,
      binaryType: "uint8array",
      ...(limits === undefined ? {} : { limits }),
      ...(deflate === undefined ? {} : { perMessageDeflate: deflate }),
      ...(Object.values(tls).some((v) => v !== undefined) ? { tls } : {}),
      // ws's 'upgrade' (the 101 head, before it is checked) and 'redirect' (before following).
      onUpgrade: (head) =>
        this.emit("upgrade", {
          statusCode: head.status,
          statusMessage: head.statusText,
          headers: headerRecord(head.headers),
        }),
      onRedirect: (url) => this.emit("redirect", url.href, null),
    });
    this.#wire();
  }

  /** Listens to the WHATWG socket and re-emits in `ws`'s shape. */
  #wire(): void {
    const inner = this.#inner;
    inner.addEventListener("open", () => {
      this.#hookControlFrames(inner.session);
      this.emit("open");
    });
    if (this.#isServer) this.#hookControlFrames(inner.session);
    inner.addEventListener("message", (event) => {
      const data = (event as MessageEvent<string | Uint8Array>).data;
      const isBinary = typeof data !== "string";
      const buffer = toBuffer(data);
      let value: Buffer | ArrayBuffer | Buffer[] = buffer;
      if (this.#binaryType === "arraybuffer") {
        value = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
      } else if (this.#binaryType === "fragments") {
        value = [buffer];
      }
      this.emit("message", value, isBinary);
    });
    inner.addEventListener("error", (event) => {
      const error = (event as Event & { error?: unknown }).error;
      if (error instanceof HandshakeRejectedError && this.listenerCount("unexpected-response") > 0) {
        this.emit("unexpected-response", null, {
          statusCode: error.status,
          statusMessage: error.statusText,
          headers: headerRecord(error.headers),
          body: error.body,
        });
        return;
      }
      const reported =
        error instanceof HandshakeRejectedError
          ? Object.assign(new Error(`Unexpected server response: ${error.status}`), { cause: error })
          : error instanceof Error
            ? error
            : new Error(String(error));
      if (this.listenerCount("error") > 0) this.emit("error", reported);
    });
    inner.addEventListener("close", (event) => {
      const close = event as CloseEvent;
      this.emit("close", close.code, Buffer.from(close.reason));
    });
  }

  /** `ping` and `pong` events come from the session's control-frame callbacks. */
  #hookControlFrames(session: Session | undefined): void {
    if (session === undefined) return;
    const handler = session.handler;
    handler.ping = (payload) => this.emit("ping", toBuffer(payload));
    handler.pong = (payload) => this.emit("pong", toBuffer(payload));
  }

  /** `CONNECTING`, `OPEN`, `CLOSING` or `CLOSED`. */
  get readyState(): 0 | 1 | 2 | 3 {
    const state = this.#inner.readyState as 0 | 1 | 2 | 3;
    return state === 1 && this.#closing ? 2 : state;
  }
  get binaryType(): WsBinaryType {
    return this.#binaryType;
  }
  set binaryType(value: WsBinaryType) {
    if (value === "nodebuffer" || value === "arraybuffer" || value === "fragments") this.#binaryType = value;
  }
  /** Bytes of messages queued and not yet written. */
  get bufferedAmount(): number {
    return this.#inner.bufferedAmount;
  }
  get protocol(): string {
    return this.#inner.protocol;
  }
  get extensions(): string {
    return this.#inner.extensions;
  }
  get url(): string | undefined {
    return this.#isServer ? undefined : this.#inner.url;
  }
  get isPaused(): boolean {
    return false;
  }

  /** The WHATWG socket underneath (for `ping()` round-trip times, async iteration, streams). */
  get webSocket(): NodeWebSocket {
    return this.#inner;
  }

  /** `ws` throws while connecting and reports through `cb` once closing or closed. */
  #notOpen(cb: ((error?: Error | null) => void) | undefined): boolean {
    const state = this.readyState;
    if (state === 1) return false;
    const error = new Error(`WebSocket is not open: readyState ${state} (${STATE_NAMES[state]})`);
    if (state === 0) throw error;
    if (cb !== undefined) process.nextTick(cb, error);
    return true;
  }

  /** Calls `cb` once what was queued so far is written (or with the error that stopped it). */
  #afterWrite(cb: ((error?: Error | null) => void) | undefined): void {
    if (cb === undefined) return;
    // ws calls back with null on success (Node's write callback convention).
    this.#inner.drained().then(
      () => cb(null),
      (error: unknown) => cb(error instanceof Error ? error : new Error(String(error))),
    );
  }

  send(data: unknown, cb?: (error?: Error | null) => void): void;
  send(data: unknown, options: WsSendOptions, cb?: (error?: Error | null) => void): void;
  send(
    data: unknown,
    options?: WsSendOptions | ((error?: Error | null) => void),
    cb?: (error?: Error | null) => void,
  ): void {
    if (typeof options === "function") {
      cb = options;
      options = undefined;
    }
    if (this.#notOpen(cb)) return;
    const { binary, compress, fin, mask } = options ?? {};
    if (fin === false)
      throw new TypeError("Cannot send: fin: false is not supported (use webSocket.sendStream())");
    if (mask !== undefined && mask !== !this.#isServer) {
      throw new TypeError(
        "Cannot send: mask is fixed by the role (RFC 6455 §5.1: clients mask, servers do not)",
      );
    }
    let payload = payloadOf(data);
    if (binary === true && typeof payload === "string") payload = Buffer.from(payload);
    if (binary === false && typeof payload !== "string") {
      // ws sends the bytes as a text frame; we decode them (invalid UTF-8 throws, fail-fast).
      payload = new TextDecoder("utf-8", { fatal: true }).decode(payload);
    }
    this.#inner.send(payload, compress === undefined ? undefined : { compress });
    this.#afterWrite(cb);
  }

  ping(data?: unknown, mask?: boolean, cb?: (error?: Error | null) => void): void {
    if (typeof data === "function")
      [data, mask, cb] = [undefined, undefined, data as (error?: Error | null) => void];
    else if (typeof mask === "function") [mask, cb] = [undefined, mask as (error?: Error | null) => void];
    if (this.#notOpen(cb)) return;
    // The round-trip promise rejects when the socket closes first; `ws` users learn of it by 'close'.
    this.#inner.ping(data === undefined ? undefined : payloadOf(data)).catch(() => {});
    this.#afterWrite(cb);
  }

  pong(data?: unknown, mask?: boolean, cb?: (error?: Error | null) => void): void {
    if (typeof data === "function")
      [data, mask, cb] = [undefined, undefined, data as (error?: Error | null) => void];
    else if (typeof mask === "function") [mask, cb] = [undefined, mask as (error?: Error | null) => void];
    if (this.#notOpen(cb)) return;
    this.#inner.session?.pong(data === undefined ? undefined : payloadOf(data));
    this.#afterWrite(cb);
  }

  /** Starts the closing handshake with any code that may be sent (RFC 6455 §7.4). */
  close(code?: number, data?: string | Buffer): void {
    if (code !== undefined && !isValidCloseCode(code)) {
      throw new TypeError("First argument must be a valid error code number");
    }
    const reason = data === undefined ? undefined : String(data);
    const state = this.readyState;
    if (state === 0) {
      this.#inner.close();
      return;
    }
    if (state !== 1) return;
    this.#closing = true;
    this.#inner.session?.close(code, reason);
  }

  terminate(): void {
    this.#inner.terminate();
  }

  pause(): void {
    this.#inner.session?.pause();
  }

  resume(): void {
    this.#inner.session?.resume();
  }
}

/** @internal */
export function wrapServerSocket(inner: NodeWebSocket): WebSocket {
  accepted = inner;
  return new WebSocket(inner.url);
}
