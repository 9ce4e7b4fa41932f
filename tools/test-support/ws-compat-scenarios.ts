/**
 * `@ws/node/ws` (the `ws`-compatible entry point) under Deno and Bun, one suite for both (as
 * `budget-scenarios.ts`): it runs on the runtime's `node:http`, `node:net` and `node:events`. A
 * WebSocket echo with `ws`'s events and callbacks, `upgrade`, close code and reason,
 * `wsClientError`, and an HTTP route on the same port.
 */
import { Buffer } from "node:buffer";
import type { Expect } from "./expect.ts";

/** The part of `ws`'s `WebSocket` (client) the scenario uses. */
export interface WsClient {
  on(
    event: "upgrade",
    listener: (response: { statusCode?: number; headers: Record<string, unknown> }) => void,
  ): unknown;
  on(event: "open", listener: () => void): unknown;
  on(event: "message", listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: "close", listener: (code: number, reason: Buffer) => void): unknown;
  send(data: string | Buffer, callback?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
}

/** The part of `ws`'s server-side `WebSocket` the scenario uses. */
export interface WsPeer {
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: "close", listener: (code: number, reason: Buffer) => void): unknown;
  send(data: Buffer, options: { binary: boolean }): void;
}

/** The part of `ws`'s `WebSocketServer` the scenario uses. */
export interface WsServer {
  on(event: "headers", listener: (headers: string[]) => void): unknown;
  on(
    event: "wsClientError",
    listener: (error: unknown, socket: { end(data: string): void }, request: { url?: string }) => void,
  ): unknown;
  on(event: "connection", listener: (ws: WsPeer, request: { url?: string }) => void): unknown;
  close(callback: () => void): void;
}

/** The part of the `@ws/node/ws` module the scenario uses. */
export interface WsModule {
  readonly default: new (url: string) => WsClient;
  readonly WebSocketServer: new (options: { server: unknown; path: string }) => WsServer;
}

/** What a runtime's test file hands the scenario. */
export interface Adapter {
  /** The runner's `expect`. */
  readonly expect: Expect;
  /** `import("@ws/node/ws")`, resolved from the runtime's package. */
  loadWs(): Promise<WsModule>;
}

/** The log in a fixed order (events of the two ends interleave differently from run to run). */
const sorted = (log: unknown[]): string[] => log.map((entry) => JSON.stringify(entry)).sort();

/** Echo, `upgrade`, close, `wsClientError`, and an HTTP route on one port. */
export async function echoUpgradeCloseClientErrorAndHttpRoute({ expect, loadWs }: Adapter): Promise<void> {
  const { createServer } = await import("node:http");
  const { connect: netConnect } = await import("node:net");
  const { default: WsWebSocket, WebSocketServer: WsServer } = await loadWs();
  const log: unknown[] = [];
  // An HTTP route on the port the WebSocket server shares.
  const http = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.end("ok");
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as { port: number }).port;
  const wss = new WsServer({ server: http, path: "/ws" });
  wss.on("headers", (headers) => headers.push("X-Extra: 1"));
  wss.on("wsClientError", (error, socket, request) => {
    log.push(["wsClientError", error instanceof Error, request.url]);
    socket.end("HTTP/1.1 418 I'm a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  wss.on("connection", (ws, request) => {
    log.push(["connection", request.url]);
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on("close", (code, reason) => log.push(["server close", code, reason.toString()]));
  });
  try {
    const route = await fetch(`http://127.0.0.1:${port}/`);
    log.push(["GET /", route.status, await route.text()]);

    const client = new WsWebSocket(`ws://127.0.0.1:${port}/ws`);
    client.on("upgrade", (response) =>
      log.push(["upgrade", response.statusCode, response.headers["x-extra"]]),
    );
    const messages: unknown[] = [];
    await new Promise<void>((resolve) => {
      client.on("open", () => {
        client.send("héllo");
        client.send(Buffer.from([1, 2, 3]), (error) => log.push(["send cb", error]));
      });
      client.on("message", (data, isBinary) => {
        messages.push([(data as Buffer).toString("hex"), isBinary]);
        if (messages.length === 2) resolve();
      });
    });
    log.push(["messages", messages]);
    const closed = new Promise<void>((resolve) =>
      client.on("close", (code, reason) => {
        log.push(["client close", code, reason.toString()]);
        resolve();
      }),
    );
    client.close(4001, "bye");
    await closed;

    // No Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5): handed to wsClientError, which answers.
    const socket = netConnect({ host: "127.0.0.1", port });
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("end", () => socket.end());
    socket.write(
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await new Promise((resolve) => socket.once("close", resolve));
    log.push(["answer", answer.split("\r\n")[0]]);
  } finally {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }

  expect(sorted(log)).toStrictEqual(
    sorted([
      ["GET /", 200, "ok"],
      ["upgrade", 101, "1"],
      ["connection", "/ws"],
      ["send cb", null],
      [
        "messages",
        [
          [Buffer.from("héllo").toString("hex"), false],
          ["010203", true],
        ],
      ],
      ["server close", 4001, "bye"],
      ["client close", 4001, "bye"],
      ["wsClientError", true, "/ws"],
      ["answer", "HTTP/1.1 418 I'm a teapot"],
    ]),
  );
}
