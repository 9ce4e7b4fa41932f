/**
 * Fault injection at the transport seam with real sockets on loopback, one suite for the three
 * runtimes (as `budget-scenarios.ts`): a raw `node:net` peer (Node, Deno and Bun all provide it,
 * with half-close and reset) that resets in the middle of a frame, half-closes (FIN) in each
 * direction and at each point of the close handshake (RFC 6455 §7.1.1, §7.1.5), stops reading
 * in the middle of a message, resets while the server is writing (EPIPE/ECONNRESET), or writes
 * a frame one byte per TCP segment.
 *
 * What must hold: the process does not crash (no uncaught error), the right close code (1006,
 * "abnormal closure" (§7.1.5), when the transport died first), a server that keeps serving fresh
 * clients, the close reply before a FIN; and, where the runner can count them
 * (`adapter.openSockets`), no socket left afterwards.
 */
import { createHash } from "node:crypto";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import type { Expect } from "./expect.ts";
import { closeCodeOf, closePayload, rawFrame } from "./raw-frames.ts";
import { type Reading, rawClient as rawPeer, readFrames, readHead } from "./raw-peer.ts";

/** The part of an adapter's socket the scenarios use. */
export interface FaultSocket extends EventTarget {
  send(data: string | Uint8Array): unknown;
  close(code?: number, reason?: string): void;
  terminate(): void;
  readonly readyState: number;
  readonly OPEN: number;
}

/** The part of an adapter's server the scenarios use. */
export interface FaultServer {
  on(event: "connection", listener: (socket: FaultSocket) => void): unknown;
  once(event: "listening", listener: () => void): unknown;
  address(): unknown;
  close(timeout?: number): Promise<void>;
}

/** What a runtime's test file hands the scenarios. */
export interface Adapter {
  /** The runner's `expect`. */
  readonly expect: Expect;
  createServer(options: Record<string, unknown>): FaultServer;
  connect(url: string): Promise<FaultSocket>;
  /** Registers a cleanup, run after the scenario. */
  defer<T>(value: T, close: (value: T) => unknown): T;
  /**
   * The number of TCP sockets `server` still holds once settled, where the runtime can count
   * them (Node: `node:http`'s getConnections); left out, the scenarios skip that check.
   */
  openSockets?(server: FaultServer): Promise<number>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Closed {
  code: number;
  wasClean: boolean;
}

function closed(ws: EventTarget): Promise<Closed> {
  return new Promise((resolve) =>
    ws.addEventListener(
      "close",
      (event) => {
        const { code, wasClean } = event as CloseEvent;
        resolve({ code, wasClean });
      },
      { once: true },
    ),
  );
}

function nextMessage(ws: EventTarget): Promise<unknown> {
  return new Promise((resolve) =>
    ws.addEventListener("message", (event) => resolve((event as MessageEvent).data), { once: true }),
  );
}

interface EchoServer {
  readonly server: FaultServer;
  readonly port: number;
  /** The next socket the server accepted. */
  accepted(): Promise<FaultSocket>;
}

/** An echo server with a short close timeout, and a way to wait for its next accepted socket. */
async function echoServer(adapter: Adapter, options: Record<string, unknown> = {}): Promise<EchoServer> {
  const server = adapter.defer(
    adapter.createServer({ port: 0, host: "127.0.0.1", closeTimeout: 300, ...options }),
    (s) => s.close(100),
  );
  const ready: FaultSocket[] = [];
  const waiting: ((ws: FaultSocket) => void)[] = [];
  server.on("connection", (ws) => {
    ws.addEventListener("message", (event) => ws.send((event as MessageEvent).data as string | Uint8Array));
    const waiter = waiting.shift();
    if (waiter === undefined) ready.push(ws);
    else waiter(ws);
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const accepted = (): Promise<FaultSocket> => {
    const ws = ready.shift();
    return ws !== undefined ? Promise.resolve(ws) : new Promise((resolve) => waiting.push(resolve));
  };
  return { server, port: (server.address() as { port: number }).port, accepted };
}

/** No socket left on `server`, where the runner can count them. */
async function noSocketLeft(adapter: Adapter, server: FaultServer): Promise<void> {
  if (adapter.openSockets !== undefined) adapter.expect(await adapter.openSockets(server)).toBe(0);
}

/** A fresh client still gets its echo. */
async function stillEchoes(adapter: Adapter, port: number): Promise<void> {
  const client = adapter.defer(await adapter.connect(`ws://127.0.0.1:${port}`), (c) => c.terminate());
  const echoed = nextMessage(client);
  client.send("still there?");
  adapter.expect(await echoed).toBe("still there?");
  const done = closed(client);
  client.close();
  await done;
}

/**
 * A raw TCP client that completes the handshake by hand. It never ends its side by itself
 * (`allowHalfOpen`): every FIN in these scenarios is one the scenario sends.
 */
async function rawClient(adapter: Adapter, port: number): Promise<Reading & { socket: Socket }> {
  const raw = await rawPeer(adapter.defer, port, { allowHalfOpen: true });
  if (!raw.head.startsWith("HTTP/1.1 101")) throw new Error(`no upgrade: ${raw.head}`);
  return raw;
}

/**
 * A raw TCP server that completes one handshake by hand, then hands its socket to `onOpen`
 * and collects the frames it gets. It never ends its side by itself either.
 */
async function rawPeerServer(
  adapter: Adapter,
  onOpen: (socket: Socket) => void,
): Promise<{ port: number; opened: Promise<Reading> }> {
  let resolveOpened!: (reading: Reading) => void;
  const opened = new Promise<Reading>((resolve) => (resolveOpened = resolve));
  const server = createNetServer({ allowHalfOpen: true }, (socket) => {
    adapter.defer(socket, (s) => s.destroy());
    socket.on("error", () => {});
    void readHead(socket).then(({ head, rest }) => {
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
      // Computed here, not by @ws/codec, so that the client is checked against an independent peer.
      const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      const reading = readFrames(socket, rest);
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      resolveOpened(reading);
      onOpen(socket);
    });
  });
  adapter.defer(server, (s) => new Promise((resolve) => s.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, opened };
}

/** The server side: a raw client misbehaves against the adapter's server. */
export const serverScenarios: Record<string, (adapter: Adapter) => Promise<void>> = {
  async "a reset in the middle of a frame: 1006, and the server goes on"(adapter) {
    const { expect } = adapter;
    const { server, port, accepted } = await echoServer(adapter);
    const raw = await rawClient(adapter, port);
    const done = closed(await accepted());
    // A header declaring 1000 bytes, then 10 of them, then an RST.
    raw.socket.write(rawFrame(0x2, new Uint8Array(1000)).subarray(0, 16));
    await sleep(20);
    raw.socket.resetAndDestroy();
    expect(await done).toStrictEqual({ code: 1006, wasClean: false });
    await stillEchoes(adapter, port);
    await noSocketLeft(adapter, server);
  },

  async "a FIN in the middle of a message, without a close frame: 1006, the server closes its side and goes on"(
    adapter,
  ) {
    const { expect } = adapter;
    const { server, port, accepted } = await echoServer(adapter);
    const raw = await rawClient(adapter, port);
    const done = closed(await accepted());
    raw.socket.end(rawFrame(0x1, new TextEncoder().encode("part"), { fin: false }));
    expect(await done).toStrictEqual({ code: 1006, wasClean: false });
    await raw.ended;
    await stillEchoes(adapter, port);
    await noSocketLeft(adapter, server);
  },

  async "a close frame and a FIN at once: the close reply still goes out, then the server's FIN"(adapter) {
    const { expect } = adapter;
    const { server, port, accepted } = await echoServer(adapter);
    const raw = await rawClient(adapter, port);
    const done = closed(await accepted());
    raw.socket.end(rawFrame(0x8, closePayload(4000, "bye")));
    expect(await done).toStrictEqual({ code: 4000, wasClean: true });
    await raw.ended;
    expect(raw.frames.map((f) => f.opcode)).toStrictEqual([0x8]);
    expect(closeCodeOf(raw.frames[0]?.payload)).toBe(4000);
    await noSocketLeft(adapter, server);
  },

  async "the server closes and the client answers with a FIN only: 1006, released at once"(adapter) {
    const { expect } = adapter;
    const { server, port, accepted } = await echoServer(adapter);
    const raw = await rawClient(adapter, port);
    const ws = await accepted();
    const done = closed(ws);
    ws.close(1000);
    await raw.waitFrames(1);
    raw.socket.end();
    expect(await done).toStrictEqual({ code: 1006, wasClean: false });
    await noSocketLeft(adapter, server);
  },

  async "a frame written one byte per TCP segment is echoed whole"(adapter) {
    const { expect } = adapter;
    const { port } = await echoServer(adapter);
    const raw = await rawClient(adapter, port);
    raw.socket.setNoDelay(true);
    const frame = rawFrame(0x1, new TextEncoder().encode("byte by byte €"));
    for (let i = 0; i < frame.length; i++) {
      raw.socket.write(frame.subarray(i, i + 1));
      await sleep(1);
    }
    const [echo] = await raw.waitFrames(1);
    expect(new TextDecoder().decode(echo?.payload)).toBe("byte by byte €");
  },

  async "a peer that stops reading mid-message: the send limit closes it, the close timeout drops it"(
    adapter,
  ) {
    const { expect } = adapter;
    const { server, port, accepted } = await echoServer(adapter, {
      limits: { maxBufferedAmount: 1024 * 1024 },
    });
    const raw = await rawClient(adapter, port);
    raw.socket.pause();
    const ws = await accepted();
    const errors: unknown[] = [];
    ws.addEventListener("error", (event) => errors.push((event as ErrorEvent).error ?? event));
    const done = closed(ws);
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 1000 && ws.readyState === ws.OPEN; i++) {
      ws.send(chunk);
      if (i % 16 === 15) await sleep(5);
    }
    expect(await done).toStrictEqual({ code: 1006, wasClean: false });
    expect(errors.length).toBeGreaterThan(0);
    await stillEchoes(adapter, port);
    await noSocketLeft(adapter, server);
  },

  async "a reset while the server writes a large message (EPIPE/ECONNRESET): 1006, no crash"(adapter) {
    const { expect } = adapter;
    const { server, port, accepted } = await echoServer(adapter);
    const raw = await rawClient(adapter, port);
    const ws = await accepted();
    const done = closed(ws);
    raw.socket.pause();
    for (let i = 0; i < 64; i++) ws.send(new Uint8Array(256 * 1024));
    await sleep(20);
    raw.socket.resetAndDestroy();
    for (let i = 0; i < 16 && ws.readyState === ws.OPEN; i++) {
      ws.send(new Uint8Array(256 * 1024));
      await sleep(5);
    }
    expect(await done).toStrictEqual({ code: 1006, wasClean: false });
    await stillEchoes(adapter, port);
    await noSocketLeft(adapter, server);
  },
};

/** The client side: the adapter's client against a raw server that misbehaves. */
export const clientScenarios: Record<string, (adapter: Adapter) => Promise<void>> = {
  async "the server's close frame and FIN at once: the client sends its close reply, then closes"(adapter) {
    const { expect } = adapter;
    const peer = await rawPeerServer(adapter, (socket) =>
      socket.end(rawFrame(0x8, closePayload(1001, "going"), { mask: false })),
    );
    const client = adapter.defer(await adapter.connect(`ws://127.0.0.1:${peer.port}`), (c) => c.terminate());
    expect(await closed(client)).toStrictEqual({ code: 1001, wasClean: true });
    const reading = await peer.opened;
    await reading.ended;
    expect(reading.frames.map((f) => f.opcode)).toStrictEqual([0x8]);
    expect(closeCodeOf(reading.frames[0]?.payload)).toBe(1001);
  },

  async "the server resets in the middle of a frame: 1006 on the client, no crash"(adapter) {
    const { expect } = adapter;
    const peer = await rawPeerServer(adapter, (socket) => {
      socket.write(rawFrame(0x2, new Uint8Array(5000), { mask: false }).subarray(0, 100));
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    const client = adapter.defer(await adapter.connect(`ws://127.0.0.1:${peer.port}`), (c) => c.terminate());
    expect(await closed(client)).toStrictEqual({ code: 1006, wasClean: false });
  },

  async "the server sends a FIN without a close frame: 1006, and the client's socket is closed"(adapter) {
    const { expect } = adapter;
    const peer = await rawPeerServer(adapter, (socket) => socket.end());
    const client = adapter.defer(await adapter.connect(`ws://127.0.0.1:${peer.port}`), (c) => c.terminate());
    expect(await closed(client)).toStrictEqual({ code: 1006, wasClean: false });
    // The raw server's socket closes only once the client has ended its side too.
    await (await peer.opened).ended;
  },
};
