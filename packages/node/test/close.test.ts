import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient, WebSocketServer as WsServer } from "ws";
import {
  type CloseEvent,
  connect,
  WebSocket,
  WebSocketServer,
  type WebSocketServerOptions,
} from "../src/index.ts";
import {
  cleanup,
  closeCodeOf,
  closePayload,
  defer,
  nextEvent,
  rawClient,
  rawFrame,
  rawServer,
} from "./helpers.ts";

afterEach(cleanup);

interface Closed {
  code: number;
  reason: string;
  wasClean: boolean;
}

function closed(ws: WebSocket): Promise<Closed> {
  return nextEvent<CloseEvent>(ws, "close").then(({ code, reason, wasClean }) => ({
    code,
    reason,
    wasClean,
  }));
}

/** Our server and our client, connected. */
async function pair(
  serverOptions: WebSocketServerOptions = {},
  clientOptions = {},
): Promise<{
  server: WebSocketServer;
  serverSide: WebSocket;
  client: WebSocket;
  port: number;
}> {
  const server = defer(new WebSocketServer({ port: 0, host: "127.0.0.1", ...serverOptions }), (s) =>
    s.close(100),
  );
  await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
  const port = (server.address() as AddressInfo).port;
  const accepted = new Promise<WebSocket>((resolve) =>
    server.once("connection", (ws) => resolve(ws as WebSocket)),
  );
  const client = defer(await connect(`ws://127.0.0.1:${port}`, clientOptions), (c) => c.terminate());
  return { server, serverSide: await accepted, client, port };
}

async function wsServer(
  options: ConstructorParameters<typeof WsServer>[0] = {},
): Promise<{ server: WsServer; url: string }> {
  const server = new WsServer({ host: "127.0.0.1", port: 0, ...options });
  defer(server, (s) => {
    for (const c of s.clients) c.terminate();
    return new Promise((resolve) => s.close(resolve));
  });
  await new Promise((resolve) => server.once("listening", () => resolve(undefined)));
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

// The orderings every adapter shares (client first, server first, both at once, no code,
// terminate()) are basics-scenarios.ts's, run by basics.test.ts; these are Node's own.
describe("close handshake orderings", () => {
  it("peer vanishes: 1006, not clean", async () => {
    const { serverSide, client } = await pair();
    const c = closed(client);
    serverSide.terminate();
    expect(await c).toEqual({ code: 1006, reason: "", wasClean: false });
  });

  it("close timeout: a peer that never answers the close frame has its socket destroyed (1006)", async () => {
    const peer = await rawServer();
    const ws = defer(await connect(`ws://127.0.0.1:${peer.port}`, { closeTimeout: 100 }), (c) =>
      c.terminate(),
    );
    const c = closed(ws);
    ws.close(1000);
    expect(await c).toEqual({ code: 1006, reason: "", wasClean: false });
  });

  it("the server closes the TCP connection first after the handshake (RFC 6455 §7.1.1)", async () => {
    const { server } = await pair();
    const raw = await rawClient((server.address() as AddressInfo).port);
    // 'end' is the server's FIN; a reset or our own close would close the socket without it.
    let serverFin = false;
    raw.socket.once("end", () => {
      serverFin = true;
    });
    raw.socket.write(rawFrame(0x8, closePayload(1000, "bye")));
    const frames = await raw.waitFrames(1);
    expect(frames[0]?.opcode).toBe(0x8);
    await raw.ended;
    expect(serverFin).toBe(true);
  });
});

describe("WHATWG close() argument checks", () => {
  it("throws InvalidAccessError for codes other than 1000 and 3000–4999", async () => {
    const { client } = await pair();
    for (const code of [999, 1001, 1005, 2999, 5000]) {
      expect(() => client.close(code)).toThrow(expect.objectContaining({ name: "InvalidAccessError" }));
    }
    expect(client.readyState).toBe(WebSocket.OPEN);
  });

  it("throws SyntaxError for a reason over 123 UTF-8 bytes", async () => {
    const { client } = await pair();
    expect(() => client.close(1000, "é".repeat(62))).toThrow(
      expect.objectContaining({ name: "SyntaxError" }),
    );
    expect(() => client.close(1000, "x".repeat(123))).not.toThrow();
  });

  it("rejects invalid URLs and subprotocols with SyntaxError", () => {
    expect(() => new WebSocket("ftp://example.com")).toThrow(
      expect.objectContaining({ name: "SyntaxError" }),
    );
    expect(() => new WebSocket("ws://example.com/#frag")).toThrow(
      expect.objectContaining({ name: "SyntaxError" }),
    );
    expect(() => new WebSocket("ws://example.com", ["a", "a"])).toThrow(
      expect.objectContaining({ name: "SyntaxError" }),
    );
    expect(() => new WebSocket("ws://example.com", "not a token")).toThrow(
      expect.objectContaining({ name: "SyntaxError" }),
    );
  });

  it("discards sends after close() and counts them in bufferedAmount (WHATWG)", async () => {
    const { client } = await pair();
    client.close();
    client.send("abc");
    expect(client.bufferedAmount).toBeGreaterThanOrEqual(3);
  });
});

describe("failures and limits: the peer sees the right close code", () => {
  it("message too big: 1009 seen by a ws client", async () => {
    const { port } = await pair({ limits: { maxMessageSize: 1000 } });
    const client = defer(new WsClient(`ws://127.0.0.1:${port}`), (c) => c.terminate());
    await new Promise((resolve) => client.once("open", resolve));
    const code = new Promise<number>((resolve) => client.once("close", (c) => resolve(c)));
    client.send(Buffer.alloc(1001));
    expect(await code).toBe(1009);
  });

  it("frame too big: 1009", async () => {
    const { port } = await pair({ limits: { maxFrameSize: 100 } });
    const raw = await rawClient(port);
    raw.socket.write(rawFrame(0x2, new Uint8Array(101)));
    const [frame] = await raw.waitFrames(1);
    expect(frame?.opcode).toBe(0x8);
    expect(closeCodeOf(frame?.payload)).toBe(1009);
  });

  it("too many fragments: 1008", async () => {
    const { port } = await pair({ limits: { maxFragments: 3 } });
    const raw = await rawClient(port);
    raw.socket.write(rawFrame(0x2, new Uint8Array(1), { fin: false }));
    for (let i = 0; i < 3; i++) raw.socket.write(rawFrame(0x0, new Uint8Array(1), { fin: false }));
    const [frame] = await raw.waitFrames(1);
    expect(closeCodeOf(frame?.payload)).toBe(1008);
  });

  it("invalid UTF-8 from a ws server: our client fails with 1007, reports error then close 1006", async () => {
    const { server, url } = await wsServer();
    const serverClose = new Promise<number>((resolve) =>
      server.once("connection", (socket) => {
        socket.on("close", (code) => resolve(code));
        socket.send(Buffer.from([0xff, 0xfe]), { binary: false }); // ws sends it unchecked
      }),
    );
    const ws = new WebSocket(url);
    defer(ws, (c) => c.terminate());
    const log: string[] = [];
    ws.onerror = (event) =>
      log.push(`error:${String((event as unknown as { error: { code: string } }).error.code)}`);
    const c = closed(ws);
    expect(await c).toEqual({ code: 1006, reason: "", wasClean: false });
    expect(log).toEqual(["error:INVALID_UTF8"]);
    expect(await serverClose).toBe(1007);
  });

  it("protocol errors: an unknown opcode, RSV bits, an unmasked client frame → 1002", async () => {
    const { port } = await pair();
    for (const frame of [
      rawFrame(0x3, new Uint8Array(1)),
      rawFrame(0x1, new Uint8Array(1), { rsv: 0x40 }),
      rawFrame(0x1, new Uint8Array([0x61]), { mask: false }),
    ]) {
      const raw = await rawClient(port);
      raw.socket.write(frame);
      const [close] = await raw.waitFrames(1);
      expect(close?.opcode).toBe(0x8);
      expect(closeCodeOf(close?.payload)).toBe(1002);
      await raw.ended;
    }
  });

  it("send buffer full (maxBufferedAmount): error, then the peer sees 1008", async () => {
    const { serverSide, client } = await pair({ limits: { maxBufferedAmount: 1024 } });
    const [c, s] = [closed(client), closed(serverSide)];
    const errors: unknown[] = [];
    serverSide.onerror = (event) => errors.push((event as unknown as { error: unknown }).error);
    // One message always fits while nothing is buffered: the limit bounds a peer that does not
    // read. The client stops reading; once the kernel's buffers are full, sends stay buffered
    // and the next one goes over the limit.
    client.session?.pause();
    for (let i = 0; i < 20_000 && serverSide.readyState === WebSocket.OPEN; i++) {
      serverSide.send(new Uint8Array(4096));
    }
    expect(serverSide.readyState).toBe(WebSocket.CLOSING);
    client.session?.resume();
    expect(await c).toMatchObject({ code: 1008, wasClean: true });
    expect(await s).toMatchObject({ code: 1008, wasClean: true });
    expect(errors).toEqual([expect.objectContaining({ code: "BUFFER_OVERFLOW" })]);
  });
});
