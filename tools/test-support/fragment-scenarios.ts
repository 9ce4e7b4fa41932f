/**
 * Messages in tiny fragments on real sockets (issue 12, "tiny fragments"), one suite for the
 * three runtimes (as `budget-scenarios.ts`): a raw `node:net` peer sends a message as 100,000
 * one-byte frames (RFC 6455 §5.4), which a server with default options must deliver whole, and
 * invalid UTF-8 in a late fragment, which must fail the connection with 1007 before the message
 * ends (§8.1).
 */
import { type Socket, connect as tcpConnect } from "node:net";
import type { Adapter, ScenarioSocket } from "./budget-scenarios.ts";
import { countZeroTimers } from "./zero-timers.ts";

export type { Adapter, ScenarioServer, ScenarioSocket } from "./budget-scenarios.ts";

/** What a runtime's fragment suite adds to the common adapter. */
export interface FragmentAdapter extends Adapter {
  /**
   * The fair turns' tick is a zero-delay timer on this runtime (the session's default), not the
   * cheaper tick its transport gives (`Transport.afterIo`: `setImmediate` on Node and Bun).
   */
  readonly turnsTickIsTimer: boolean;
}

const KEY = [0x37, 0xfa, 0x21, 0x3d];
const OP_TEXT = 1;
const OP_BINARY = 2;

/** A masked client frame with a payload under 126 bytes. */
function frame(opcode: number, payload: Uint8Array, fin: boolean): Uint8Array {
  const out = new Uint8Array(6 + payload.length);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = 0x80 | payload.length;
  out.set(KEY, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = (payload[i] as number) ^ (KEY[i & 3] as number);
  return out;
}

/** The frames of a message with one payload byte each, in one buffer. */
function oneByteFragments(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const out = new Uint8Array(7 * payload.length);
  for (let i = 0; i < payload.length; i++) {
    const last = i === payload.length - 1;
    out.set(frame(i === 0 ? opcode : 0, payload.subarray(i, i + 1), last && fin), 7 * i);
  }
  return out;
}

/** A server frame as read by {@link RawPeer}. */
interface ServerFrame {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** A hand-made client on a raw TCP connection: sends any bytes, reads the server's frames. */
class RawPeer {
  readonly #socket: Socket;
  #buffer = new Uint8Array(0);
  #handshakeDone = false;
  readonly frames: ServerFrame[] = [];
  ended = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("close", () => {
      this.ended = true;
    });
    socket.on("error", () => {});
  }

  static async open(port: number): Promise<RawPeer> {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const peer = new RawPeer(socket);
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await until(() => peer.#handshakeDone, "the 101 response");
    return peer;
  }

  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
    if (!this.#handshakeDone) {
      const text = new TextDecoder("latin1").decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end === -1) return;
      if (!text.startsWith("HTTP/1.1 101")) throw new Error(`no 101: ${text.slice(0, 40)}`);
      this.#handshakeDone = true;
      this.#buffer = this.#buffer.subarray(end + 4);
    }
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      let length = (b[1] as number) & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = ((b[2] as number) << 8) | (b[3] as number);
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = new DataView(b.buffer, b.byteOffset + 2, 8).getUint32(4);
        at = 10;
      }
      if (b.length < at + length) return;
      this.frames.push({ opcode: (b[0] as number) & 0x0f, payload: b.slice(at, at + length) });
      this.#buffer = b.subarray(at + length);
    }
  }
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, tries = 3000): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await tick(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** An echo server with default options; returns its port. */
async function echoServer(adapter: Adapter): Promise<number> {
  const server = adapter.defer(adapter.createServer({ port: 0, host: "127.0.0.1" }), (s) => s.close(500));
  server.on("connection", (socket: ScenarioSocket) => {
    socket.binaryType = "uint8array";
    socket.addEventListener("error", () => {});
    socket.addEventListener("message", (event) => {
      socket.send((event as MessageEvent).data as string | Uint8Array);
    });
  });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  return (server.address() as { port: number }).port;
}

const CLOSE_INVALID_PAYLOAD = 1007;

/**
 * The scenarios, by name, for a runtime whose fair turns' tick is (`turnsTickIsTimer`) or is not
 * a zero-delay timer.
 */
export function fragmentScenarios(
  turnsTickIsTimer: boolean,
): Record<string, (adapter: Adapter) => Promise<void>> {
  return Object.fromEntries(
    Object.entries(scenarios).map(([name, run]) => [
      name,
      (adapter: Adapter) => run({ ...adapter, turnsTickIsTimer }),
    ]),
  );
}

/** The scenarios, by name. */
const scenarios: Record<string, (adapter: FragmentAdapter) => Promise<void>> = {
  "delivers messages in 100,000 one-byte fragments with the default limits": async (adapter) => {
    const port = await echoServer(adapter);
    const peer = adapter.defer(await RawPeer.open(port), (p) => p.destroy());
    const { expect } = adapter;
    // Text with 2-, 3- and 4-byte sequences, every one split across frames.
    const text = "aé€𝄞".repeat(10_000);
    const utf8 = new TextEncoder().encode(text);
    expect(utf8.length).toBe(100_000);
    const binary = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    peer.write(oneByteFragments(OP_TEXT, utf8));
    peer.write(oneByteFragments(OP_BINARY, binary));
    await until(() => peer.frames.length >= 2 || peer.ended, "two echoes");
    const [first, second] = peer.frames;
    expect(first?.opcode).toBe(OP_TEXT);
    expect(new TextDecoder().decode(first?.payload)).toBe(text);
    expect(second?.opcode).toBe(OP_BINARY);
    expect(second?.payload).toStrictEqual(binary);
  },

  "fails with 1007 on invalid UTF-8 in a late fragment, before the message ends": async (adapter) => {
    const port = await echoServer(adapter);
    const peer = adapter.defer(await RawPeer.open(port), (p) => p.destroy());
    peer.write(oneByteFragments(OP_TEXT, new Uint8Array(80_000).fill(0x61), false));
    peer.write(frame(0, new Uint8Array([0xff]), false));
    // No frame with FIN is ever sent: the close can only come from the fragment that is invalid.
    await until(() => peer.frames.some((f) => f.opcode === 8) || peer.ended, "a close frame");
    const close = peer.frames.find((f) => f.opcode === 8);
    adapter.expect(close !== undefined).toBe(true); // the server sent a close frame
    const payload = close?.payload ?? new Uint8Array(2);
    adapter.expect(((payload[0] as number) << 8) | (payload[1] as number)).toBe(CLOSE_INVALID_PAYLOAD);
  },

  "floods wait for their turns with the runtime's tick while a fresh client gets its echo": async (
    adapter,
  ) => {
    const port = await echoServer(adapter);
    const { expect } = adapter;
    const floods = [
      adapter.defer(await RawPeer.open(port), (p) => p.destroy()),
      adapter.defer(await RawPeer.open(port), (p) => p.destroy()),
    ];
    const binary = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 13) & 0xff);
    const message = oneByteFragments(OP_BINARY, binary);
    // Zero-delay timers set meanwhile: the run queue's ticks, where the runtime's are timers
    // (the waits below use 10 ms timers).
    const zeroTimers = await countZeroTimers(async () => {
      for (const flood of floods) for (let i = 0; i < 2; i++) flood.write(message);
      // A fresh client's handshake and echo go through while the floods are decoded in turns.
      const fresh = adapter.defer(await RawPeer.open(port), (p) => p.destroy());
      fresh.write(frame(OP_TEXT, new TextEncoder().encode("fresh"), true));
      await until(() => fresh.frames.length > 0 || fresh.ended, "the fresh client's echo");
      expect(new TextDecoder().decode(fresh.frames[0]?.payload)).toBe("fresh");
      await until(() => floods.every((f) => f.frames.length >= 2 || f.ended), "the floods' echoes");
    });
    for (const flood of floods) {
      expect(flood.frames.length).toBe(2);
      expect(flood.frames[1]?.payload).toStrictEqual(binary);
    }
    expect(zeroTimers > 0).toBe(adapter.turnsTickIsTimer);
  },
};
