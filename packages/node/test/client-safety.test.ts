/**
 * Issue 12: the client against raw `node:net` servers that misbehave. A non-101 answer fails
 * promptly (the body read is bounded in size and time; chunked bodies are decoded), and the
 * close reply is sent even when the server's FIN follows its close frame at once.
 */
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HandshakeRejectedError, WebSocket } from "../src/index.ts";
import { cleanup, closeCodeOf, closePayload, defer, parseFrames, rawFrame, rawServer } from "./helpers.ts";

afterEach(cleanup);

/** A raw server that answers every request head with `response` and keeps the connection open. */
async function answering(response: string): Promise<number> {
  const server = createNetServer((socket) => {
    defer(socket, (s) => s.destroy());
    socket.on("error", () => {});
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      if (head.includes("\r\n\r\n")) return;
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) socket.write(response); // never ends the connection
    });
  });
  defer(server, (s) => new Promise((resolve) => s.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function failure(url: string): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const ws = new WebSocket(url, undefined, { handshakeTimeout: 20_000 });
  const error = await ws.opened.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  return { error, ms: performance.now() - started };
}

describe("non-101 responses", () => {
  it("fails on 200 OK without a body end (no length, connection kept open), well before the handshake timeout", async () => {
    const port = await answering("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nnot a websocket");
    const { error, ms } = await failure(`ws://127.0.0.1:${port}/`);
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    const rejected = error as HandshakeRejectedError;
    expect(rejected.status).toBe(200);
    expect(rejected.header("content-type")).toBe("text/plain");
    expect(rejected.body).toBe("not a websocket");
    // Bounded by the body-read time limit (1 s), not by the 20 s handshake timeout.
    expect(ms).toBeLessThan(10_000);
  });

  it("decodes a chunked body and fails as soon as its last chunk arrived", async () => {
    const port = await answering(
      "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\nX-Why: origin\r\n\r\n" +
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    const { error } = await failure(`ws://127.0.0.1:${port}/`);
    const rejected = error as HandshakeRejectedError;
    expect(rejected).toBeInstanceOf(HandshakeRejectedError);
    expect(rejected.status).toBe(403);
    expect(rejected.header("x-why")).toBe("origin");
    expect(rejected.body).toBe("hello world");
  });

  it("reads a Content-Length body and no more", async () => {
    const port = await answering("HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\n\r\ntoken and more");
    const { error } = await failure(`ws://127.0.0.1:${port}/`);
    expect((error as HandshakeRejectedError).body).toBe("token");
  });

  it("bounds the body it keeps to 64 KiB", async () => {
    const port = await answering(`HTTP/1.1 500 Oops\r\n\r\n${"x".repeat(200_000)}`);
    const { error } = await failure(`ws://127.0.0.1:${port}/`);
    expect((error as HandshakeRejectedError).body.length).toBe(64 * 1024);
  });
});

describe("close reply", () => {
  it("answers the server's close frame even when its FIN follows at once (same write)", async () => {
    let received: Buffer = Buffer.alloc(0);
    let serverSocket: Socket | undefined;
    const peer = await rawServer((socket) => {
      serverSocket = socket;
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
      });
    });
    const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/`);
    await ws.opened;
    const socket = serverSocket as Socket;
    const ended = new Promise((resolve) => socket.once("end", resolve));
    // The close frame and the FIN together: the client must still send its close reply.
    socket.end(rawFrame(0x8, closePayload(1001, "bye"), { mask: false }));
    const closed = await new Promise<CloseEvent>((resolve) =>
      ws.addEventListener("close", (event) => resolve(event as CloseEvent)),
    );
    await ended;
    const frames = parseFrames(received).frames;
    expect(frames.map((frame) => frame.opcode)).toEqual([0x8]);
    expect(closeCodeOf(frames[0]?.payload)).toBe(1001);
    expect(closed.code).toBe(1001);
  });
});
