/**
 * The option checks of the adapters that listen and dial with their runtime's own sockets
 * (`@ws/deno` on `Deno.listen`/`Deno.connect`, `@ws/bun` on `Bun.listen`/`Bun.connect`), written
 * once: the same option names, the same refusals and the same messages on both.
 *
 * @module
 */
import type { PlainRequests } from "./accept.ts";
import { plainRequests } from "./http-handler.ts";

/** The adapter's name and its runtime's, for messages: `{ adapter: "@ws/bun", runtime: "Bun" }`. */
export interface AdapterName {
  readonly adapter: string;
  readonly runtime: string;
}

/** The `WebSocketServer` option names such an adapter adds to the shared ones. */
export const LISTENER_OPTIONS: readonly string[] = [
  "port",
  "host",
  "server",
  "noServer",
  "tls",
  "reusePort",
  "handler",
  "maxRequestBodySize",
];

/**
 * Checks where a `WebSocketServer` of such an adapter gets its connections (exactly one of
 * `port` or `noServer: true`; `node:http` servers are `@ws/node`'s) and returns the plain HTTP
 * requests' handler, if any.
 *
 * @throws {TypeError} for `server`, or for neither or both of `port` and `noServer`.
 */
export function checkListenerOptions(
  options: { readonly port?: unknown; readonly noServer?: unknown; readonly handler?: unknown },
  { adapter, runtime }: AdapterName,
): PlainRequests | undefined {
  const what = "Cannot create WebSocketServer";
  if ((options as { server?: unknown }).server !== undefined) {
    throw new TypeError(
      `${what}: ${adapter} does not attach to node:http servers; use @ws/node's WebSocketServer there (it runs on ${runtime}), or give port`,
    );
  }
  if (Number(options.port !== undefined) + Number(options.noServer === true) !== 1) {
    throw new TypeError(`${what}: give exactly one of port or noServer: true`);
  }
  return plainRequests(options);
}

/**
 * Refuses the client options only `@ws/node` implements: an HTTP proxy and WebSockets over
 * HTTP/2 (RFC 8441), which `@ws/node`'s `WebSocket` offers on every runtime's `node:http2`.
 *
 * @throws {TypeError} for `http2` other than `false` or a `proxy`.
 */
export function refuseNodeOnlyClientOptions(
  options: { readonly http2?: unknown; readonly proxy?: unknown },
  { adapter, runtime }: AdapterName,
): void {
  const what = "Cannot create WebSocket";
  if ((options.http2 ?? false) !== false) {
    throw new TypeError(
      `${what}: the http2 option is not supported by ${adapter} (use @ws/node's WebSocket, which runs on ${runtime}'s node:http2)`,
    );
  }
  if (options.proxy !== undefined) {
    throw new TypeError(`${what}: the proxy option is not supported by ${adapter} (use @ws/node)`);
  }
}
