/**
 * WebSockets over HTTP/2 on the server (RFC 8441): the HTTP/2 plumbing of `WebSocketServer`.
 * Attached to an `http2.createServer()` / `http2.createSecureServer()` (with or without
 * `allowHTTP1`), it advertises SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3), takes the
 * streams that open with an Extended CONNECT for `websocket` (§4), runs the shared handshake
 * (`verify`, subprotocols, permessage-deflate) with the codec's RFC 8441 check, answers `200`
 * (§5) or the rejection, and runs the session over the stream (`http2-transport.ts`).
 *
 * Node docs relied on:
 * - `Http2Server` `'stream'` event and `server.updateSettings()`:
 *   https://nodejs.org/api/http2.html#event-stream_1 ,
 *   https://nodejs.org/api/http2.html#serverupdatesettingssettings
 * - `enableConnectProtocol` in the settings object: https://nodejs.org/api/http2.html#settings-object
 * - The Compatibility API's `'connect'` event (a CONNECT goes there, not to `'request'`, and is
 *   answered 405 when nobody listens): https://nodejs.org/api/http2.html#event-connect_1
 * - `http2stream.respond()`: https://nodejs.org/api/http2.html#http2streamrespondheaders-options
 *
 * @module
 */

import type { IncomingMessage } from "node:http";
import type {
  Http2SecureServer,
  Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
  ServerHttp2Stream,
} from "node:http2";
import { constants } from "node:http2";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  checkExtendedConnectRequest,
  EXTENDED_CONNECT_STATUS,
  extendedConnectRejection,
  extendedConnectResponseHeaders,
  type HeaderField,
  isExtendedConnect,
} from "@ws/codec/handshake";
import { type AcceptConnection, ChunkQueue, type ServerCore } from "@ws/session";
import type { WebSocket } from "./client.ts";
import { attachStream } from "./http2-transport.ts";

/** Either kind of Node HTTP/2 server. */
export type AnyHttp2Server = Http2Server | Http2SecureServer;

/**
 * An Extended CONNECT request (RFC 8441 §4) as the `verify` hook and the `'connection'` event
 * see it: the shape of Node's `IncomingMessage` where it matters (`method`, `url`,
 * `httpVersion`, `headers`), plus the HTTP/2 stream.
 */
export interface Http2ConnectRequest {
  /** Always `"2.0"`: tells it apart from an HTTP/1.1 `IncomingMessage`. */
  readonly httpVersion: "2.0";
  /** Always `CONNECT`. */
  readonly method: "CONNECT";
  /** The `:path` (path and query). */
  readonly url: string;
  /** The request's header fields, pseudo-header fields (`:authority`, `:protocol` …) included. */
  readonly headers: IncomingHttpHeaders;
  /** The stream that carries the WebSocket. */
  readonly stream: ServerHttp2Stream;
  /**
   * The HTTP/2 connection's socket (Node's proxy of it: addresses and TLS state; reading and
   * writing belong to the HTTP/2 session), shared with the other streams of the connection.
   */
  readonly socket: Socket | TLSSocket;
}

/** What a `WebSocketServer` offers to the HTTP/2 routing below. */
export interface Http2Route {
  /** Whether this server handles requests for `target` (its path matches). */
  matches(target: string): boolean;
  /** Takes an Extended CONNECT stream. */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

/** Whether `server` is one of Node's HTTP/2 servers (they alone have `updateSettings`). */
export function isHttp2Server(server: object): server is AnyHttp2Server {
  return typeof (server as { updateSettings?: unknown }).updateSettings === "function";
}

const routes = new WeakMap<AnyHttp2Server, Set<Http2Route>>();
const listeners = new WeakMap<
  AnyHttp2Server,
  {
    stream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
    connect: (request: Http2ServerRequest, response: Http2ServerResponse) => void;
  }
>();

/**
 * Routes the Extended CONNECT streams of `server` to `route` (one listener per server for all
 * its WebSocket servers, dispatched by path), and advertises SETTINGS_ENABLE_CONNECT_PROTOCOL
 * to the connections it accepts from now on (RFC 8441 §3). Pass `settings: {
 * enableConnectProtocol: true }` to `http2.createServer()` too, so that no connection can
 * open before the setting is on.
 */
export function attachHttp2Route(server: AnyHttp2Server, route: Http2Route): void {
  let set = routes.get(server);
  if (set === undefined) {
    const servers = new Set<Http2Route>();
    set = servers;
    routes.set(server, servers);
    server.updateSettings({ enableConnectProtocol: true });
    const stream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
      // Other streams (plain requests, other protocols) are left to the server's own handlers.
      if (!isExtendedConnect(headers as Record<string, string>)) return;
      const target = headers[":path"] ?? "/";
      for (const candidate of servers) {
        if (candidate.matches(target)) {
          candidate.handleStream(stream, headers);
          return;
        }
      }
      // No WebSocket server wants this path: leave it to an application 'connect' listener,
      // or reject it (as on HTTP/1.1).
      if (server.listenerCount("connect") <= 1 && !stream.headersSent) {
        respondRejection(stream, { status: 400, body: "No WebSocket endpoint at this path" });
      }
    };
    // With the Compatibility API in use (a 'request' listener), Node answers every CONNECT 405
    // unless a 'connect' listener exists: this one lets WebSocket streams through, and answers
    // other CONNECT requests 405 as Node would when the application has no listener of its own.
    const connect = (request: Http2ServerRequest, response: Http2ServerResponse): void => {
      if (isExtendedConnect(request.headers as Record<string, string>)) return;
      if (server.listenerCount("connect") === 1) {
        response.writeHead(405);
        response.end();
      }
    };
    server.on("stream", stream);
    server.on("connect", connect);
    listeners.set(server, { stream, connect });
  }
  set.add(route);
}

/** Stops routing to `route`; the last route removes the listeners. */
export function detachHttp2Route(server: AnyHttp2Server, route: Http2Route): void {
  const set = routes.get(server);
  if (set === undefined) return;
  set.delete(route);
  const attached = listeners.get(server);
  if (set.size === 0 && attached !== undefined) {
    server.off("stream", attached.stream);
    server.off("connect", attached.connect);
    routes.delete(server);
    listeners.delete(server);
  }
}

/** Header fields as the object `respond()` takes (repeated names become arrays). */
function headerObject(status: number, fields: readonly HeaderField[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ":status": status };
  for (const [name, value] of fields) {
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else headers[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
  }
  return headers;
}

function respondRejection(
  stream: ServerHttp2Stream,
  rejection: Parameters<typeof extendedConnectRejection>[0],
): void {
  const parts = extendedConnectRejection(rejection);
  stream.respond(headerObject(parts.status, parts.headers));
  // END_STREAM after the body: the request is answered, no tunnel opens.
  stream.end(parts.body);
}

/**
 * Runs the opening handshake of an Extended CONNECT stream (RFC 8441 §4–5) through the shared
 * accept path (`ServerCore.acceptRequest`: the same `verify` hook, subprotocols, extensions,
 * `handshakeTimeout`, `maxPendingHandshakes`, `maxConnections` and shutdown as HTTP/1.1), with
 * the stream answering in HTTP/2's way: `:status 200` and the agreed fields, or the rejection's
 * status, headers and body, then END_STREAM.
 */
export function acceptStream<WS extends WebSocket>(
  core: ServerCore<IncomingMessage | Http2ConnectRequest, WS, IncomingMessage["headers"]>,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  deliver: (socket: WS, request: IncomingMessage | Http2ConnectRequest) => void,
  onError: (error: Error) => void,
): Promise<void> {
  const session = stream.session;
  const secure = (session?.socket as TLSSocket | undefined)?.encrypted === true;
  const remoteAddress = session?.socket?.remoteAddress;
  const request: Http2ConnectRequest = {
    httpVersion: "2.0",
    method: "CONNECT",
    url: headers[":path"] ?? "/",
    headers,
    stream,
    socket: session?.socket as Socket | TLSSocket,
  };
  // What the client sends before the session takes the stream (only after a rejection: it
  // waits for the 200 otherwise) is read and dropped by the accept path.
  const queue = new ChunkQueue();
  const onData = (chunk: Buffer): void =>
    queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
  const onEnd = (): void => queue.end();
  const onStreamError = (error: Error): void => queue.error(error);
  stream.on("data", onData);
  stream.on("end", onEnd);
  stream.on("close", onEnd);
  stream.on("error", onStreamError);
  const connection: AcceptConnection = {
    secure,
    remoteAddress,
    write: (bytes) => {
      stream.write(bytes);
    },
    read: () => queue.read(),
    end: () => {
      if (!stream.writableEnded) stream.end();
    },
    destroy: () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
    },
    gone: () => stream.destroyed || stream.closed,
    respond: (outcome) => {
      if (outcome.accepted) {
        const fields = extendedConnectResponseHeaders({
          protocol: outcome.protocol,
          extensionsHeader: outcome.extensionsHeader,
          headers: outcome.extraHeaders,
        });
        stream.respond(headerObject(EXTENDED_CONNECT_STATUS, fields));
        return;
      }
      const parts = extendedConnectRejection({
        status: outcome.status,
        headers: outcome.headers,
        body: outcome.body,
      });
      stream.respond(headerObject(parts.status, parts.headers));
      stream.write(parts.body);
    },
    attach: (_rest, options) => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onEnd);
      stream.off("error", onStreamError);
      return attachStream(stream, options);
    },
  };
  return core.acceptRequest(
    {
      request,
      method: headers[":method"] ?? "",
      httpVersion: "2.0",
      target: request.url,
      headers,
      secure,
      remoteAddress,
      check: checkExtendedConnectRequest,
    },
    connection,
    new Uint8Array(0),
    deliver,
    onError,
  );
}
