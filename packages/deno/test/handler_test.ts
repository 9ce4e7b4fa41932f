/**
 * `handler` mode of @ws/deno's `WebSocketServer`: HTTP routes (a fetch-style handler) and
 * WebSockets on the one `Deno.listen` port, with real sockets.
 */
import { expect } from "expect";
import { connect, WebSocketServer } from "../src/mod.ts";
import { test } from "./helpers.ts";

/** Sends `request` on a raw TCP connection; resolves with what came back until the server closed. */
async function raw(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  let text = "";
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  conn.close();
  return text;
}

test("handler: HTTP routes (fetch-style handler) and a WebSocket on one Deno.listen port", async () => {
  const errors: string[] = [];
  const text = { "content-type": "text/plain" };
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    path: "/ws",
    maxRequestBodySize: 16,
    handler: async (request) => {
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
  expect(chunked).toMatch(/\r\n\r\n7\r\nc:hello\r\n0\r\n\r\n$/);
  expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
  expect(head).not.toMatch(/transfer-encoding/i);
  expect(smuggled).toMatch(/^HTTP\/1\.1 400 /);
  expect(errors).toStrictEqual(["handler failed"]);
});

test("handler: options are checked", async () => {
  expect(() => new WebSocketServer({ port: 0, handler: "nope" as never })).toThrow(
    /handler must be a function/,
  );
  expect(() => new WebSocketServer({ noServer: true, handler: () => new Response() })).toThrow(
    /handler needs port/,
  );
  expect(
    () => new WebSocketServer({ port: 0, handler: () => new Response(), maxRequestBodySize: -1 }),
  ).toThrow(RangeError);
  expect(() => new WebSocketServer({ port: 0, maxRequestBodySize: 1 })).toThrow(/needs handler/);
});
