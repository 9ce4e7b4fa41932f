/**
 * Errors the session and the adapters report, shared by every runtime.
 *
 * Protocol failures of the peer arrive as the codec's `RemoteProtocolError` (with `closeCode`
 * and a stable `code`); handshake checks fail with the codec's `HandshakeError`.
 *
 * @module
 */

/** One HTTP header field: `[name, value]`. */
export type HeaderPair = readonly [name: string, value: string];

/**
 * The server answered the opening handshake with something other than `101 Switching
 * Protocols` (RFC 6455 §4.1, "the client MUST validate the server's response", step 1): the
 * status, headers and (a bounded prefix of) the body are kept for the application.
 */
export class HandshakeRejectedError extends Error {
  /** Stable code. */
  readonly code: "HANDSHAKE_REJECTED" = "HANDSHAKE_REJECTED";
  /** The response status, e.g. 401. */
  readonly status: number;
  /** The reason phrase. */
  readonly statusText: string;
  /** The response's header fields in order. */
  readonly headers: readonly HeaderPair[];
  /** The response body as UTF-8 text (at most `maxBodySize` bytes of it). */
  readonly body: string;

  constructor(status: number, statusText: string, headers: readonly HeaderPair[], body: string) {
    super(`Cannot open WebSocket connection: the server answered ${status} ${statusText}`.trimEnd());
    this.name = "HandshakeRejectedError";
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    this.body = body;
  }

  /** The first value of header `name` (case-insensitive), or `undefined`. */
  header(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.headers.find(([field]) => field.toLowerCase() === lower)?.[1];
  }
}

/** Why a connection was closed abnormally by the session itself (not by the peer). */
export type SessionErrorCode =
  | "BUFFER_OVERFLOW"
  | "TRANSPORT_ERROR"
  | "HANDSHAKE_TIMEOUT"
  | "TOO_MANY_REDIRECTS"
  | "CONNECTION_FAILED"
  | "LISTENER_ERROR"
  | "MEMORY_BUDGET";

/** An error raised by the session or an adapter, with a stable {@link SessionErrorCode}. */
export class WebSocketError extends Error {
  /** Stable code. */
  readonly code: SessionErrorCode;
  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WebSocketError";
    this.code = code;
  }
}
