/**
 * `@ws/bun`: WebSockets for Bun on `@ws/codec` (the protocol) and `@ws/session` (the
 * runtime-neutral session, server core and WHATWG `WebSocket` class), over Bun's TCP API: a
 * {@link WebSocketServer} on `Bun.listen` (TLS too), the WHATWG {@link WebSocket} client on
 * `Bun.connect` and {@link connect}, a promise-based opener. Same API and defaults as
 * `@ws/node`; see the README for what Bun cannot do.
 *
 * @module
 */

// The process-wide zlib engine is defined once, in @ws/deflate, for the three adapters.
export { setDeflateConcurrency } from "@ws/deflate/node-zlib";
export { DEFAULT_MAX_REQUEST_BODY_SIZE, type RequestHandler } from "@ws/session";
// The shared names (errors, events, limits, `Session`, verdict types), listed once.
export * from "@ws/session/public";
export type { BunTlsOptions } from "./bun-api.ts";
export {
  type ClientOptions,
  type ConnectOptions,
  connect,
  WebSocket,
} from "./client.ts";
export {
  type UpgradeInfo,
  WebSocketServer,
  type WebSocketServerEvents,
  type WebSocketServerOptions,
} from "./server.ts";
