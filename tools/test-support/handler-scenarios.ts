/**
 * `handler` mode of the Deno and Bun adapters' `WebSocketServer`, one suite for both (as
 * `budget-scenarios.ts`): HTTP routes (a fetch-style handler) and WebSockets on the one listening
 * port, with real sockets; the checks of the options; and the other documented way to share a
 * port there, `node:http` with `@ws/node`'s `WebSocketServer`. Raw HTTP requests go out on a
 * `node:net` connection (Deno and Bun both provide it).
 */
import { connect as netConnect } from "node:net";
import type { Expect } from "./expect.ts";

/** The part of an adapter's server-side socket the scenarios use. */
export interface HandlerPeer {
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  send(data: string): unknown;
}

/** The part of an adapter's server the scenarios use. */
export interface HandlerServer {
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "connection", listener: (ws: HandlerPeer) => void): unknown;
  once(event: "listening", listener: () => void): unknown;
  address(): { readonly port: number } | null;
  close(timeout?: number): Promise<void>;
}

/** The part of an adapter's client socket the scenarios use. */
export interface HandlerClient extends AsyncIterable<unknown> {
  send(data: string): unknown;
  close(): void;
}

/** What a runtime's test file hands the scenarios. */
export interface Adapter {
  /** The runner's `expect`. */
  readonly expect: Expect;
  createServer(options: Record<string, unknown>): HandlerServer;
  connect(url: string): Promise<HandlerClient>;
}

/** Sends `request` on a raw TCP connection; resolves with what came back until the server closed. */
async function raw(port: number, request: string): Promise<string> {
  const socket = netConnect({ host: "127.0.0.1", port });
  let text = "";
  socket.on("data", (chunk: Uint8Array) => {
    text += new TextDecoder("latin1").decode(chunk);
  });
  socket.on("error", () => {});
  socket.on("end", () => socket.end());
  socket.write(request);
  await new Promise((resolve) => socket.once("close", resolve));
  return text;
}

/** HTTP routes (fetch-style handler) and a WebSocket on one listening port. */
export async function routesAndWebSocket({ expect, createServer, connect }: Adapter): Promise<void> {
  const errors: string[] = [];
  const text = { "content-type": "text/plain" };
  const wss = createServer({
    port: 0,
    host: "127.0.0.1",
    path: "/ws",
    maxRequestBodySize: 16,
    handler: async (request: Request) => {
      const url = new URL(request.url);
      if (url.pathname === "/health")
        return new Response("ok", { headers: { "content-type": "text/plain" } });
      if (url.pathname === "/echo" && request.method === "POST") {
        return new Response(`${request.headers.get("x-name")}:${await request.text()}`, { headers: text });
      }
      if (url.pathname === "/stream") {
        const parts = ["one,", "two"];
        return new Response(
          new ReadableStream({
            pull(controller) {
              const part = parts.shift();
              if (part === undefined) controller.close();
              else controller.enqueue(new TextEncoder().encode(part));
            },
          }),
        );
      }
      if (url.pathname === "/broken") throw new Error("handler failed");
      return new Response("not found", { status: 404, headers: text });
    },
  });
  wss.on("error", (error) => errors.push(error.message));
  wss.on("connection", (ws) => {
    ws.onmessage = (event) => ws.send(`ws:${String(event.data)}`);
  });
  await new Promise((resolve) => wss.once("listening", () => resolve(undefined)));
  const port = wss.address()!.port;
  const base = `http://127.0.0.1:${port}`;
  const got = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${base}${path}`, init);
    return [response.status, response.headers.get("content-type"), await response.text()];
  };
  const results = [
    await got("/health"),
    await got("/echo", { method: "POST", body: "hello", headers: { "x-name": "me" } }),
    await got("/stream"),
    await got("/nothing"),
    await got("/broken"),
    await got("/echo", { method: "POST", body: "a body longer than sixteen bytes" }),
  ];
  // The WebSocket on /ws of the same port, between HTTP requests.
  const ws = await connect(`ws://127.0.0.1:${port}/ws`);
  ws.send("x");
  const echoed = (await ws[Symbol.asyncIterator]().next()).value;
  ws.close();
  // A chunked request body (RFC 9112 §7.1), and HEAD (no body), on raw connections.
  const chunked = await raw(
    port,
    "POST /echo HTTP/1.1\r\nHost: a\r\nX-Name: c\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
  );
  const head = await raw(port, "HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n");
  const smuggled = await raw(
    port,
    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  );
  await wss.close(100);

  expect(results).toStrictEqual([
    [200, "text/plain", "ok"],
    [200, "text/plain", "me:hello"],
    [200, null, "one,two"],
    [404, "text/plain", "not found"],
    [500, "text/plain; charset=utf-8", "Internal Server Error"],
    [413, null, ""],
  ]);
  expect(echoed).toBe("ws:x");
  expect(chunked).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(chunked).toMatch(/\r\nconnection: close\r\n/i);
  expect(chunked.endsWith("\r\n\r\n7\r\nc:hello\r\n0\r\n\r\n")).toBe(true);
  expect(chunked).toMatch(/\r\n\r\n7\r\nc:hello\r\n0\r\n\r\n$/);
  expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
  expect(head).not.toMatch(/transfer-encoding/i);
  expect(smuggled).toMatch(/^HTTP\/1\.1 400 /);
  expect(errors).toStrictEqual(["handler failed"]);
}

/** The `handler` options are checked. */
export function optionsAreChecked({ expect, createServer }: Adapter): void {
  expect(() => createServer({ port: 0, handler: "nope" })).toThrow(/handler must be a function/);
  expect(() => createServer({ noServer: true, handler: () => new Response() })).toThrow(/handler needs port/);
  expect(() => createServer({ port: 0, handler: () => new Response(), maxRequestBodySize: -1 })).toThrow(
    RangeError,
  );
  expect(() => createServer({ port: 0, maxRequestBodySize: 1 })).toThrow(/needs handler/);
}

/** The part of `@ws/node`'s `WebSocketServer` class the `node:http` scenario uses. */
export type NodeServerClass = new (options: {
  server: import("node:http").Server;
  path: string;
}) => {
  on(event: "connection", listener: (ws: HandlerPeer) => void): unknown;
  close(timeout?: number): Promise<void>;
};

/**
 * One port for HTTP routes and WebSockets the documented way on Deno and Bun too: `node:http`
 * with `@ws/node`'s `WebSocketServer` (given, as the runtime resolves it). A GET route and a 404,
 * our client and the runtime's own `WebSocket` on the same port while HTTP requests go on, and
 * an upgrade to a path no WebSocket server serves refused with 400.
 */
export async function nodeHttpAndWebSocket(
  { expect, connect }: Adapter,
  NodeServer: NodeServerClass,
): Promise<void> {
  const { createServer } = await import("node:http");
  // An HTTP route and a 404 for the rest, as a user's node:http handler would have.
  const http = createServer((request, response) => {
    if (request.method === "GET" && request.url === "/health") {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("ok");
      return;
    }
    response.writeHead(404, { "content-type": "text/plain" });
    response.end("not found");
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const wss = new NodeServer({ server: http, path: "/ws" });
  wss.on("connection", (ws) => {
    ws.onmessage = (event) => ws.send(`node:${String(event.data)}`);
  });
  const port = (http.address() as { port: number }).port;
  const closers: (() => unknown)[] = [];
  try {
    const ok = await fetch(`http://127.0.0.1:${port}/health`);
    expect([ok.status, ok.headers.get("content-type"), await ok.text()]).toStrictEqual([
      200,
      "text/plain",
      "ok",
    ]);
    const missing = await fetch(`http://127.0.0.1:${port}/nothing`);
    expect([missing.status, await missing.text()]).toStrictEqual([404, "not found"]);

    // Our client and the runtime's own WebSocket on the same port, while HTTP requests go on.
    const ws = await connect(`ws://127.0.0.1:${port}/ws`);
    closers.push(() => ws.close());
    ws.send("x");
    expect((await ws[Symbol.asyncIterator]().next()).value).toBe("node:x");
    const native = new globalThis.WebSocket(`ws://127.0.0.1:${port}/ws`);
    closers.push(() => native.close());
    const echoed = new Promise<unknown>((resolve) => {
      native.onmessage = (event) => resolve(event.data);
    });
    await new Promise((resolve) => {
      native.onopen = resolve;
    });
    native.send("y");
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe("ok");
    expect(await echoed).toBe("node:y");
    // An upgrade to a path no WebSocket server serves is refused (400), the HTTP server goes on.
    const refused = await connect(`ws://127.0.0.1:${port}/other`).catch((error: unknown) => error);
    const { name, status } = refused as { name?: unknown; status?: unknown };
    expect([name, status]).toStrictEqual(["HandshakeRejectedError", 400]);
  } finally {
    for (const close of closers) close();
    await wss.close(100);
    await new Promise((resolve) => http.close(resolve));
  }
}
