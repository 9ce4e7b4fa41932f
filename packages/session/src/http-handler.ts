/**
 * Plain HTTP requests on a WebSocket server's own listener (Deno and Bun read the bytes
 * themselves): a request that is not a WebSocket upgrade for this server goes to a fetch-style
 * handler, `(request: Request) => Response | Promise<Response>`, the function a `Deno.serve` or
 * `Bun.serve({ fetch })` program already has. HTTP routes and WebSockets then share one port.
 *
 * Bounded and simple, on purpose (a full HTTP server is the runtime's job):
 *
 * | step | rule |
 * | --- | --- |
 * | body | `Content-Length` or `Transfer-Encoding: chunked` (RFC 9112 §6.3, §7.1), at most `maxBodySize` bytes (413 beyond); both fields → 400, another transfer coding → 501 |
 * | time | the head and the body must arrive within `handshakeTimeout`, as an upgrade's head must; the handler then has no deadline |
 * | response | the `Response`'s status and headers; its body streamed with `Transfer-Encoding: chunked` (any length, server-sent events too), none for `HEAD`, 204 and 304 |
 * | connection | one request per connection: `Connection: close` (RFC 9112 §9.6), then closed as after a rejection |
 * | failure | a handler that throws or does not return a `Response`: 500, and the error goes to the server's `'error'` listeners |
 *
 * @module
 */
import { type HttpRequestHead, reasonPhrase } from "@ws/codec/handshake";
import type { AcceptConnection, Admission, PlainRequests } from "./accept.ts";
import { decodeChunked } from "./dial.ts";

/** A fetch-style request handler (see the module comment). */
export type RequestHandler = (request: Request) => Response | Promise<Response>;

/** Default of the largest request body a handler is given: 1 MiB. */
export const DEFAULT_MAX_REQUEST_BODY_SIZE: number = 1024 * 1024;

/** Room for chunked framing (sizes, CRLFs) beyond the body limit. */
const CHUNKED_FRAMING = 64 * 1024;

const encoder = new TextEncoder();

/** An answer given without calling the handler. */
class HttpFailure extends Error {
  readonly status: number;
  constructor(status: number) {
    super(reasonPhrase(status));
    this.status = status;
  }
}

/**
 * The `handler` and `maxRequestBodySize` options of a raw-socket server (Deno, Bun), checked:
 * a mistyped one throws naming it.
 *
 * @throws {TypeError} `handler` not a function, or given without `port`; `maxRequestBodySize` without `handler`.
 * @throws {RangeError} `maxRequestBodySize` not a whole number of bytes.
 */
export function plainRequests(options: {
  readonly handler?: unknown;
  readonly maxRequestBodySize?: unknown;
  readonly port?: unknown;
}): PlainRequests | undefined {
  const { handler, maxRequestBodySize: size } = options;
  const what = "Cannot create WebSocketServer";
  if (handler === undefined) {
    if (size !== undefined) throw new TypeError(`${what}: maxRequestBodySize needs handler`);
    return undefined;
  }
  if (typeof handler !== "function") {
    throw new TypeError(`${what}: handler must be a function (request: Request) => Response`);
  }
  if (options.port === undefined) throw new TypeError(`${what}: handler needs port`);
  if (size !== undefined && (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)) {
    throw new RangeError(`${what}: maxRequestBodySize must be a whole number of bytes`);
  }
  return {
    handler: handler as RequestHandler,
    maxBodySize: (size as number | undefined) ?? DEFAULT_MAX_REQUEST_BODY_SIZE,
  };
}

/** Whether `head` goes to the handler: it is not a WebSocket upgrade this server takes. */
export function isPlainRequest(head: HttpRequestHead, matches: (target: string) => boolean): boolean {
  return head.headerMap.get("upgrade") === undefined || !matches(head.target);
}

/** Reads the request body that follows `head` (`rest` holds bytes already read after it). */
async function readBody(
  connection: AcceptConnection,
  head: HttpRequestHead,
  rest: Uint8Array,
  maxBodySize: number,
): Promise<Uint8Array | undefined> {
  const coding = head.headerMap.get("transfer-encoding");
  const length = head.headerMap.get("content-length");
  // Both framings at once is how requests are smuggled past a proxy (RFC 9112 §6.3 item 3).
  if (coding !== undefined && length !== undefined) throw new HttpFailure(400);
  if (coding !== undefined && coding.trim().toLowerCase() !== "chunked") {
    throw new HttpFailure(501);
  }
  if (coding === undefined && length === undefined) return undefined;
  let size = Number.POSITIVE_INFINITY;
  if (length !== undefined) {
    if (!/^\d+$/.test(length.trim())) throw new HttpFailure(400);
    size = Number(length.trim());
    if (size > maxBodySize) throw new HttpFailure(413);
  }
  const chunked = coding !== undefined;
  let raw = rest;
  const received = (): boolean => (chunked ? decodeChunked(raw).complete : raw.length >= size);
  while (!received()) {
    if (chunked && raw.length > maxBodySize + CHUNKED_FRAMING) {
      throw new HttpFailure(413);
    }
    const chunk = await connection.read();
    if (chunk === null) throw new HttpFailure(400);
    const joined = new Uint8Array(raw.length + chunk.length);
    joined.set(raw);
    joined.set(chunk, raw.length);
    raw = joined;
  }
  const body = chunked ? decodeChunked(raw).body : raw.subarray(0, size);
  if (body.length > maxBodySize) throw new HttpFailure(413);
  return body;
}

/** The `Request` a handler gets for `head` and `body`. */
function toRequest(head: HttpRequestHead, body: Uint8Array | undefined, secure: boolean): Request {
  const host = head.headerMap.get("host") ?? "localhost";
  const url = new URL(head.target, `${secure ? "https" : "http"}://${host}`);
  const headers = new Headers();
  for (const [name, value] of head.headers) headers.append(name, value);
  const method = head.method.toUpperCase();
  const withBody = body !== undefined && method !== "GET" && method !== "HEAD";
  // A copy that owns its ArrayBuffer (what BodyInit takes).
  return new Request(url, { method: head.method, headers, ...(withBody ? { body: body.slice() } : {}) });
}

/** Writes `response` (status, headers, body in chunks) for a request made with `method`. */
async function writeResponse(
  connection: AcceptConnection,
  response: Response,
  method: string,
): Promise<void> {
  const status = response.status;
  const bodiless = method.toUpperCase() === "HEAD" || status === 204 || status === 304;
  const lines = [`HTTP/1.1 ${status} ${response.statusText || reasonPhrase(status)}`];
  response.headers.forEach((value, name) => {
    // Framing and the connection are this module's (see the module comment).
    if (name === "content-length" || name === "transfer-encoding" || name === "connection") return;
    lines.push(`${name}: ${value}`);
  });
  if (!bodiless) lines.push("Transfer-Encoding: chunked");
  lines.push("Connection: close", "", "");
  await connection.write(encoder.encode(lines.join("\r\n")));
  if (bodiless) {
    await response.body?.cancel();
    return;
  }
  if (response.body !== null) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.length === 0) continue;
      await connection.write(encoder.encode(`${value.length.toString(16)}\r\n`));
      await connection.write(value);
      await connection.write(encoder.encode("\r\n"));
    }
  }
  await connection.write(encoder.encode("0\r\n\r\n"));
}

/**
 * Serves one plain HTTP request on `connection` with `handler` (see the module comment), then
 * closes the connection with `close` (the server's after-rejection close).
 */
export async function serveRequest(
  connection: AcceptConnection,
  head: HttpRequestHead,
  rest: Uint8Array,
  handler: RequestHandler,
  maxBodySize: number,
  admission: Admission,
  onError: ((error: Error) => void) | undefined,
  close: (response: string | undefined) => Promise<void>,
): Promise<void> {
  let body: Uint8Array | undefined;
  try {
    body = await readBody(connection, head, rest, maxBodySize);
  } catch (error) {
    admission.done();
    if (admission.timedOut || !(error instanceof HttpFailure)) return connection.destroy();
    const answer = `HTTP/1.1 ${error.status} ${reasonPhrase(error.status)}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
    return close(answer);
  }
  if (admission.timedOut) return connection.destroy();
  // The request has arrived: from here on the handler takes its time.
  admission.done();
  let response: Response;
  try {
    response = await handler(toRequest(head, body, connection.secure));
    if (!(response instanceof Response)) {
      throw new TypeError(`The request handler returned ${typeof response}, not a Response`);
    }
  } catch (error) {
    onError?.(error instanceof Error ? error : new Error(String(error)));
    response = new Response("Internal Server Error", {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  try {
    await writeResponse(connection, response, head.method);
  } catch {
    // The client went away, or the response's body stream failed: the connection is done.
    return connection.destroy();
  }
  return close(undefined);
}
