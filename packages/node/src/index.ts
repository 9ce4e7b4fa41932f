/**
 * `@ws/node`: WebSockets for Node.js on `@ws/codec` (the protocol) and `@ws/session` (the
 * runtime-neutral session and WHATWG `WebSocket` class): a {@link WebSocketServer} that
 * attaches to an `http`/`https` server or listens on its own, the WHATWG {@link WebSocket}
 * client with Node options (TLS, proxy, redirects, timeouts, `AbortSignal`) and
 * {@link connect}, a promise-based opener.
 *
 * @module
 */

// The shared names (errors, events, limits, `Session`, verdict types), listed once.
export * from "@ws/session/public";
export {
  type ClientOptions,
  type ConnectOptions,
  connect,
  WebSocket,
} from "./client.ts";
export { setDeflateConcurrency } from "./deflate.ts";
export {
  type UpgradeInfo,
  WebSocketServer,
  type WebSocketServerEvents,
  type WebSocketServerOptions,
} from "./server.ts";
