/**
 * `@ws/node`: WebSockets for Node.js on `@ws/codec` (the protocol) and `@ws/session` (the
 * runtime-neutral session and WHATWG `WebSocket` class): a {@link WebSocketServer} that
 * attaches to an `http`/`https` or `http2` server (WebSockets over HTTP/2, RFC 8441) or listens
 * on its own, the WHATWG {@link WebSocket}
 * client with Node options (TLS, proxy, redirects, timeouts, `AbortSignal`) and
 * {@link connect}, a promise-based opener.
 *
 * @module
 */

// The process-wide zlib engine is defined once, in @ws/deflate, for the three adapters.
export { setDeflateConcurrency } from "@ws/deflate/node-zlib";
// The shared names (errors, events, limits, `Session`, verdict types), listed once.
export * from "@ws/session/public";
export {
  type ClientOptions,
  type ConnectOptions,
  connect,
  type Http2Option,
  WebSocket,
} from "./client.ts";
export {
  type Http2ConnectRequest,
  type UpgradeInfo,
  type UpgradeRequest,
  WebSocketServer,
  type WebSocketServerEvents,
  type WebSocketServerOptions,
} from "./server.ts";
