/**
 * Differential tests of `@ws/node/ws` against the real `ws` package: each program runs once
 * with `ws` and once with our entry point (both ends), and the observable sequences of events
 * and their arguments (types and values) must be equal.
 */
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect as netConnect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import * as realWs from "ws";
import * as ours from "../src/ws/index.ts";
import {
  cleanup,
  closePayload,
  parseFrames,
  type RawFrame,
  rawClient,
  rawFrame,
  rawServer,
} from "./helpers.ts";

type Impl = typeof ours;
const IMPLS: [string, Impl][] = [
  ["ws", realWs as unknown as Impl],
  ["@ws/node/ws", ours],
];

const servers: { close(cb?: () => void): void }[] = [];
afterEach(async () => {
  await cleanup();
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A value's type and content, comparable across implementations. */
function describeValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { Buffer: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { ArrayBuffer: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(describeValue);
  return value;
}

async function listen(
  impl: Impl,
  options: ours.WsServerOptions = {},
): Promise<{ wss: ours.WebSocketServer; url: string }> {
  const wss = await new Promise<ours.WebSocketServer>((resolve) => {
    const server: ours.WebSocketServer = new impl.WebSocketServer(
      { port: 0, host: "127.0.0.1", ...options },
      () => resolve(server),
    );
  });
  servers.push(wss);
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

/**
 * Runs `program` on both implementations and expects the same log, and a log that is not empty:
 * two empty logs would compare equal and prove nothing.
 */
async function same(program: (impl: Impl, log: unknown[]) => Promise<void>): Promise<unknown[]> {
  const logs: unknown[][] = [];
  for (const [, impl] of IMPLS) {
    const log: unknown[] = [];
    await program(impl, log);
    logs.push(log);
  }
  expect(logs[0]?.length).toBeGreaterThan(0);
  expect(logs[1]).toEqual(logs[0]);
  return logs[0] as unknown[];
}

function closed(ws: ours.WebSocket, log: unknown[], who: string): Promise<void> {
  return new Promise((resolve) =>
    ws.on("close", (code, reason) => {
      log.push([`${who} close`, code, describeValue(reason)]);
      resolve();
    }),
  );
}

describe("@ws/node/ws against ws", () => {
  it("echoes text and binary with isBinary, Buffer data and send callbacks", async () => {
    const log = await same(async (impl, log) => {
      const { url, wss } = await listen(impl);
      wss.on("connection", (ws, request) => {
        log.push(["connection", typeof request.headers]);
        ws.on("message", (data, isBinary) => {
          log.push(["server message", describeValue(data), isBinary]);
          ws.send(data, { binary: isBinary }, (error) => log.push(["server send cb", error]));
        });
      });
      const client = new impl.WebSocket(url);
      let received = 0;
      await new Promise<void>((resolve) => {
        client.on("open", () => {
          log.push(["open", client.readyState, client.protocol]);
          client.send("héllo");
          client.send(Buffer.from([1, 2, 3]));
          client.send(new Uint8Array([4]).buffer, (error) => log.push(["client send cb", error]));
        });
        client.on("message", (data, isBinary) => {
          log.push(["client message", describeValue(data), isBinary]);
          if (++received === 3) resolve();
        });
      });
      client.close();
      await closed(client, log, "client");
    });
    expect(log).toContainEqual(["client message", { Buffer: Buffer.from("héllo").toString("hex") }, false]);
  });

  it("echoes close code and reason (code, reason Buffer) on both ends", async () => {
    await same(async (impl, log) => {
      const { url, wss } = await listen(impl);
      const serverClosed = new Promise<void>((resolve) =>
        wss.on("connection", (ws) => {
          void closed(ws, log, "server").then(resolve);
        }),
      );
      const client = new impl.WebSocket(url);
      client.on("open", () => client.close(4001, "bye"));
      await closed(client, log, "client");
      await serverClosed;
      log.sort();
    });
  });

  it("reports ping and pong with payloads", async () => {
    await same(async (impl, log) => {
      const { url, wss } = await listen(impl);
      wss.on("connection", (ws) => {
        ws.on("ping", (data) => log.push(["server ping", describeValue(data)]));
        ws.on("pong", (data) => log.push(["server pong", describeValue(data)]));
        ws.ping(Buffer.from("from server"));
      });
      const client = new impl.WebSocket(url);
      await new Promise<void>((resolve) => {
        client.on("ping", (data) => {
          log.push(["client ping", describeValue(data)]);
          client.ping("from client", undefined, (error) => log.push(["ping cb", error]));
        });
        client.on("pong", (data) => {
          log.push(["client pong", describeValue(data)]);
          resolve();
        });
      });
      client.close();
      await closed(client, log, "client");
    });
  });

  it("rejects in verifyClient (sync: 401, callback form: the given status) and tells unexpected-response", async () => {
    await same(async (impl, log) => {
      for (const verifyClient of [
        () => false,
        (_info: ours.VerifyClientInfo, cb: ours.VerifyClientCallback) =>
          setTimeout(() => cb(false, 403, "No"), 1),
      ]) {
        const { url } = await listen(impl, { verifyClient });
        const client = new impl.WebSocket(url);
        await new Promise<void>((resolve) =>
          client.on("unexpected-response", (_request, response) => {
            log.push(["unexpected-response", response.statusCode]);
            resolve();
          }),
        );
        // ws reports terminating a handshake in progress as an error.
        client.on("error", () => {});
        client.terminate();
      }
      const { url } = await listen(impl, {
        verifyClient: (info) => typeof info.req.headers === "object" && info.secure === false,
      });
      const client = new impl.WebSocket(url);
      await new Promise<void>((resolve) => client.on("open", resolve));
      log.push(["accepted", client.readyState]);
      client.close();
      await closed(client, log, "client");
    });
  });

  it("without an unexpected-response listener, reports the status as an error, then close 1006", async () => {
    await same(async (impl, log) => {
      const { url } = await listen(impl, { verifyClient: () => false });
      const client = new impl.WebSocket(url);
      client.on("error", (error) => log.push(["error", error.message]));
      await closed(client, log, "client");
    });
  });

  it("selects the subprotocol: the first offered by default, else handleProtocols' choice", async () => {
    await same(async (impl, log) => {
      for (const handleProtocols of [undefined, (set: Set<string>) => [...set].at(-1) as string]) {
        const { url } = await listen(impl, handleProtocols === undefined ? {} : { handleProtocols });
        const client = new impl.WebSocket(url, ["a", "b"]);
        await new Promise<void>((resolve) => client.on("open", resolve));
        log.push(["protocol", client.protocol]);
        client.close();
        await closed(client, log, "client");
      }
    });
  });

  it("closes with 1009 when a message exceeds maxPayload", async () => {
    await same(async (impl, log) => {
      const { url, wss } = await listen(impl, { maxPayload: 10 });
      const serverClosed = new Promise<void>((resolve) =>
        wss.on("connection", (ws) => {
          ws.on("error", (error) => log.push(["server error", error instanceof Error]));
          ws.on("close", (code) => {
            log.push(["server close", code]);
            resolve();
          });
        }),
      );
      const client = new impl.WebSocket(url);
      client.on("open", () => client.send("x".repeat(11)));
      await new Promise<void>((resolve) =>
        client.on("close", (code) => {
          log.push(["client close", code]);
          resolve();
        }),
      );
      await serverClosed;
      log.sort();
    });
  });

  it("delivers binaryType fragments and arraybuffer", async () => {
    await same(async (impl, log) => {
      const { url, wss } = await listen(impl);
      wss.on("connection", (ws) => {
        ws.send(Buffer.from("ab"));
        ws.send(Buffer.from("cd"));
      });
      const client = new impl.WebSocket(url);
      client.binaryType = "fragments";
      await new Promise<void>((resolve) =>
        client.on("message", (data, isBinary) => {
          log.push([client.binaryType, describeValue(data), isBinary]);
          if (client.binaryType === "arraybuffer") resolve();
          else client.binaryType = "arraybuffer";
        }),
      );
      client.close();
      await closed(client, log, "client");
    });
  });

  it("calls wss.close(cb), emits close, and has the ready-state constants", async () => {
    await same(async (impl, log) => {
      const { wss } = await listen(impl);
      servers.pop();
      log.push([
        "constants",
        impl.WebSocket.CONNECTING,
        impl.WebSocket.OPEN,
        impl.WebSocket.CLOSING,
        impl.WebSocket.CLOSED,
      ]);
      wss.on("close", () => log.push(["close event"]));
      await new Promise<void>((resolve) =>
        wss.close((error) => {
          log.push(["close cb", error]);
          resolve();
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
    });
  });
});

/** A frame as bytes that both implementations must produce alike (payload unmasked). */
function frameOf(frame: RawFrame): unknown {
  return {
    fin: frame.fin,
    rsv: frame.rsv,
    opcode: frame.opcode,
    payload: Buffer.from(frame.payload).toString("hex"),
  };
}

describe("@ws/node/ws against ws, on the wire", () => {
  it("a server sends the same frames to a raw client: echoes, pong, close echo with reason", async () => {
    await same(async (impl, log) => {
      const { wss } = await listen(impl);
      wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
      const client = await rawClient((wss.address() as AddressInfo).port);
      log.push(["101", client.head.split("\r\n")[0]]);
      client.socket.write(rawFrame(0x1, Buffer.from("hi")));
      client.socket.write(rawFrame(0x2, Buffer.from([1, 2])));
      client.socket.write(rawFrame(0x9, Buffer.from("p")));
      client.socket.write(rawFrame(0x8, closePayload(4000, "bye")));
      const frames = await client.waitFrames(4);
      log.push(...frames.map(frameOf));
      await client.ended;
    });
  });

  it("a client sends the same frames (unmasked) to a raw server", async () => {
    await same(async (impl, log) => {
      let received = Buffer.alloc(0);
      let wake: () => void = () => {};
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const { port } = await rawServer((socket) =>
        socket.on("data", (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          if (parseFramesCount(received) >= 4) wake();
        }),
      );
      const client = new impl.WebSocket(`ws://127.0.0.1:${port}`);
      client.on("open", () => {
        client.send("hi");
        client.send(Buffer.from([1]));
        client.ping("p");
        client.close(1000, "done");
      });
      await arrived;
      const { frames } = parseFramesOf(received);
      log.push(...frames.map((frame) => [frameOf(frame), "masked"]));
      client.terminate();
    });
  });
});

describe("@ws/node/ws server events", () => {
  it("emits headers (extra lines are sent), connection with the request, and tracks clients", async () => {
    await same(async (impl, log) => {
      const { wss } = await listen(impl);
      wss.on("headers", (headers, request) => {
        log.push(["headers", headers[0], typeof request.url]);
        headers.push("X-Extra: 1");
      });
      const connected = new Promise<void>((resolve) =>
        wss.on("connection", (_ws, request) => {
          log.push(["connection", request.url, wss.clients.size]);
          resolve();
        }),
      );
      const client = await rawClient((wss.address() as AddressInfo).port, "/room");
      log.push(["extra header", /\r\nX-Extra: 1/i.test(client.head)]);
      await connected;
      client.socket.write(rawFrame(0x8, closePayload(1000)));
      await client.ended;
      await new Promise((resolve) => setTimeout(resolve, 20));
      log.push(["clients after close", wss.clients.size]);
    });
  });

  it("noServer: handleUpgrade calls back with the socket; send after close calls back with an error", async () => {
    const { createServer } = await import("node:http");
    await same(async (impl, log) => {
      const wss = new impl.WebSocketServer({ noServer: true });
      const http = createServer();
      http.on("upgrade", (request, socket, head) =>
        wss.handleUpgrade(request, socket, head, (ws) => {
          log.push(["upgraded", ws.readyState]);
          ws.on("close", () =>
            ws.send("late", (error) => {
              log.push(["late send cb", error?.message]);
              wake();
            }),
          );
        }),
      );
      let wake: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
      const client = new impl.WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
      client.on("open", () => client.close());
      await done;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });
  });

  it("createWebSocketStream pipes messages both ways", async () => {
    await same(async (impl, log) => {
      const { wss } = await listen(impl);
      wss.on("connection", (ws) => {
        const stream = impl.createWebSocketStream(ws);
        stream.pipe(stream); // echo
        stream.on("error", () => {});
      });
      const client = new impl.WebSocket(url(wss));
      const duplex = impl.createWebSocketStream(client);
      duplex.write("abc");
      const chunk = await new Promise<Buffer>((resolve) => duplex.once("data", resolve));
      log.push(["echoed", chunk.toString()]);
      duplex.on("error", () => {});
      client.close();
      await closed(client, log, "client");
    });
  });
});

function url(wss: ours.WebSocketServer): string {
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

function parseFramesOf(buffer: Buffer): { frames: RawFrame[] } {
  return parseFrames(buffer);
}

function parseFramesCount(buffer: Buffer): number {
  return parseFrames(buffer).frames.length;
}

describe("@ws/node/ws handshake events", () => {
  it("emits upgrade with the 101 response (status, the server's extra fields) before open", async () => {
    await same(async (impl, log) => {
      const { url, wss } = await listen(impl);
      wss.on("headers", (headers) => headers.push("X-Extra: 1"));
      const client = new impl.WebSocket(url);
      client.on("upgrade", (response) =>
        log.push(["upgrade", response.statusCode, response.headers["x-extra"], client.readyState]),
      );
      await new Promise<void>((resolve) => client.on("open", resolve));
      log.push(["open"]);
      client.close();
      await closed(client, log, "client");
    });
  });

  it("emits redirect with the URL before following it (followRedirects)", async () => {
    await same(async (impl, log) => {
      const { url, wss } = await listen(impl, { path: "/new" });
      wss.on("connection", (_ws, request) => log.push(["connection", request.url]));
      // Another server answers every upgrade with a redirect to the WebSocket server.
      const redirector = createHttpServer();
      redirector.on("upgrade", (_request, socket) => {
        socket.end(`HTTP/1.1 302 Found\r\nLocation: ${url}/new?x=1\r\nContent-Length: 0\r\n\r\n`);
      });
      servers.push(redirector);
      await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.1", resolve));
      const from = `ws://127.0.0.1:${(redirector.address() as AddressInfo).port}/old`;
      const client = new impl.WebSocket(from, { followRedirects: true });
      // The second argument is ws's ClientRequest, null here (no node:http request is made).
      client.on("redirect", (to) => log.push(["redirect", to.replace(url, "URL"), client.readyState]));
      await new Promise<void>((resolve) => client.on("open", resolve));
      log.push(["open"]);
      client.close();
      await closed(client, log, "client");
    });
  });

  it("hands a request that fails the handshake checks to wsClientError, which answers it", async () => {
    await same(async (impl, log) => {
      const { url, wss } = await listen(impl);
      wss.on("wsClientError", (error, socket, request) => {
        log.push(["wsClientError", error instanceof Error, typeof socket.write, request.url]);
        socket.end("HTTP/1.1 418 I'm a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      });
      wss.on("connection", (_ws, request) => log.push(["connection", request.url]));
      const port = Number(new URL(url).port);
      // No Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5).
      const answer = await rawRequest(
        port,
        "GET /bad HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      log.push(["answer", answer.split("\r\n")[0]]);
      // A valid request is not handed to the listener.
      const client = new impl.WebSocket(`${url}/good`);
      await new Promise<void>((resolve) => client.on("open", resolve));
      client.close();
      await closed(client, log, "client");
    });
  });

  it("without a wsClientError listener, answers a request without a key with 400 itself", async () => {
    await same(async (impl, log) => {
      const { url } = await listen(impl);
      const answer = await rawRequest(
        Number(new URL(url).port),
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      log.push(["answer", answer.split(" ")[1]]);
    });
  });
});

/** Sends `request` on a raw TCP connection and resolves with what the server answered until it closed. */
async function rawRequest(port: number, request: string): Promise<string> {
  const socket = netConnect({ host: "127.0.0.1", port });
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  socket.on("end", () => socket.end());
  socket.write(request);
  await new Promise((resolve) => socket.once("close", resolve));
  return text;
}

describe("@ws/node/ws options", () => {
  it("refuses options it does not support, naming them", () => {
    expect(() => new ours.WebSocketServer({ noServer: true, skipUTF8Validation: true } as never)).toThrow(
      /skipUTF8Validation/,
    );
    expect(() => new ours.WebSocketServer({ noServer: true, backlogg: 1 } as never)).toThrow(/backlogg/);
    expect(() => new ours.WebSocket("ws://127.0.0.1:1", { agent: {} } as never)).toThrow(TypeError);
  });
});
