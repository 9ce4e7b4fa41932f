/**
 * The request a server that `WebSocketServer({ port })` creates gives to `verify` and
 * `'connection'`: a real `http.IncomingMessage`, as every `node:http` server gives, built from
 * the head the codec's `HttpHeadParser` read off the raw socket. Code written for `ws` or for
 * the `server` mode (`request.socket.remoteAddress`, `request.headers["x-forwarded-for"]`,
 * `request.url`, `instanceof IncomingMessage`) keeps working unchanged.
 *
 * Node docs relied on:
 * - `http.IncomingMessage` (`method`, `url`, `httpVersion`, `httpVersionMajor`/`Minor`,
 *   `headers`, `rawHeaders`, `socket`, `complete`), and how `message.headers` treats repeated
 *   fields: https://nodejs.org/api/http.html#class-httpincomingmessage
 * - The class's constructor, as `createServer({ IncomingMessage })` subclasses call it:
 *   https://nodejs.org/api/http.html#httpcreateserveroptions-requestlistener
 *
 * @module
 */
import { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { HttpRequestHead } from "@ws/codec/handshake";

/**
 * Fields of which `node:http` keeps the first and discards repeats (the list in the
 * `message.headers` documentation).
 */
const FIRST_ONLY = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/**
 * `message.headers` as `node:http` builds it: lower-case names; `set-cookie` always an array;
 * repeated `cookie` fields joined with "; "; the {@link FIRST_ONLY} fields' repeats
 * discarded; any other repeated field joined with ", ".
 */
function nodeHeaders(fields: HttpRequestHead["headers"]): IncomingMessage["headers"] {
  const headers: Record<string, string | string[]> = {};
  for (const [rawName, value] of fields) {
    const name = rawName.toLowerCase();
    const before = headers[name];
    if (name === "set-cookie") {
      if (before === undefined) headers[name] = [value];
      else (before as string[]).push(value);
    } else if (before === undefined) headers[name] = value;
    else if (name === "cookie") headers[name] = `${before}; ${value}`;
    else if (!FIRST_ONLY.has(name)) headers[name] = `${before}, ${value}`;
  }
  return headers;
}

/** The `http.IncomingMessage` of an upgrade request read from `socket` (see the module comment). */
export function incomingMessage(socket: Socket, head: HttpRequestHead): IncomingMessage {
  const message = new IncomingMessage(socket);
  message.method = head.method;
  message.url = head.target;
  message.httpVersion = head.httpVersion;
  const dot = head.httpVersion.indexOf(".");
  message.httpVersionMajor = Number(head.httpVersion.slice(0, dot));
  message.httpVersionMinor = Number(head.httpVersion.slice(dot + 1));
  const raw: string[] = [];
  for (const [name, value] of head.headers) raw.push(name, value);
  message.rawHeaders = raw;
  message.headers = nodeHeaders(head.headers);
  // An upgrade request has no body: what follows the head belongs to the WebSocket.
  message.complete = true;
  message.push(null);
  return message;
}
