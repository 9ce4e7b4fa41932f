import { Connection, NEED_DATA } from "@ws/codec";
import { concat } from "@ws/codec/message";
import { describe, expect, it } from "vitest";
import { type MemoryTransport, memoryTransportPair } from "./memory-transport.ts";
import { WRITE_BATCH_LIMIT } from "./session/outbox.ts";
import type { SessionOptions } from "./session.ts";
import { Session } from "./session.ts";

/** Two sessions joined by in-memory transports (h11's ConnectionPair idea). */
type Settings = Omit<SessionOptions, "role">;
type NodeLikeProcess = {
  on(event: "unhandledRejection", listener: (reason: unknown) => void): void;
  off(event: "unhandledRejection", listener: (reason: unknown) => void): void;
};

/** A started client/server session pair over in-memory transports. */
function sessionPair(
  client: Settings = {},
  server: Settings = {},
  highWaterMark?: number,
): { client: Session; server: Session; clientTransport: MemoryTransport; serverTransport: MemoryTransport } {
  const [clientTransport, serverTransport] = memoryTransportPair(highWaterMark);
  const c = new Session(clientTransport, { role: "client", ...client });
  const s = new Session(serverTransport, { role: "server", ...server });
  clientTransport.receiver = c;
  serverTransport.receiver = s;
  return { client: c, server: s, clientTransport, serverTransport };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("Session", () => {
  it("echoes text, binary and empty messages between client and server", async () => {
    const { client, server } = sessionPair();
    server.handler = { message: (data) => server.send(data) };
    const got: (string | Uint8Array)[] = [];
    client.handler = { message: (data) => got.push(data) };
    server.start();
    client.start();
    client.send("hello");
    client.send(new Uint8Array([1, 2, 3]));
    client.send("");
    client.send(new Uint8Array(0));
    await tick();
    expect(got).toEqual(["hello", new Uint8Array([1, 2, 3]), "", new Uint8Array(0)]);
  });

  it("completes a client-initiated close handshake cleanly with the code and reason", async () => {
    const { client, server } = sessionPair();
    server.start();
    client.start();
    client.close(4000, "bye");
    expect(client.state).toBe("closing");
    const [c, s] = await Promise.all([client.closed, server.closed]);
    expect(c).toEqual({ code: 4000, reason: "", wasClean: true });
    expect(s).toEqual({ code: 4000, reason: "bye", wasClean: true });
  });

  it("completes a server-initiated close; the server ends the transport first (RFC 6455 §7.1.1)", async () => {
    const { client, server, serverTransport, clientTransport } = sessionPair();
    server.start();
    client.start();
    server.close(1001, "going away");
    const [c, s] = await Promise.all([client.closed, server.closed]);
    expect(c).toEqual({ code: 1001, reason: "going away", wasClean: true });
    expect(s).toEqual({ code: 1001, reason: "", wasClean: true });
    expect(serverTransport.ended).toBe(true);
    expect(clientTransport.ended).toBe(true);
  });

  it("handles a simultaneous close: both sides report the other's code, cleanly", async () => {
    const { client, server } = sessionPair();
    server.start();
    client.start();
    client.close(3001, "c");
    server.close(3002, "s");
    const [c, s] = await Promise.all([client.closed, server.closed]);
    expect(c).toMatchObject({ code: 3002, reason: "s", wasClean: true });
    expect(s).toMatchObject({ code: 3001, reason: "c", wasClean: true });
  });

  it("reports 1005 when the close frame has no code", async () => {
    const { client, server } = sessionPair();
    server.start();
    client.start();
    client.close();
    expect((await server.closed).code).toBe(1005);
    expect((await client.closed).code).toBe(1005);
  });

  it("reports 1006 when the peer vanishes", async () => {
    const { client, server } = sessionPair();
    server.start();
    client.start();
    server.terminate();
    expect(await client.closed).toEqual({ code: 1006, reason: "", wasClean: false, error: undefined });
    expect((await server.closed).code).toBe(1006);
  });

  it("destroys the transport when the close handshake times out", async () => {
    const [clientTransport, serverTransport] = memoryTransportPair();
    const client = new Session(clientTransport, { role: "client", closeTimeout: 20 });
    clientTransport.receiver = client;
    serverTransport.receiver = { onData() {}, onEnd() {}, onDrain() {}, onError() {} }; // a mute peer
    client.start();
    client.close(1000);
    expect(client.state).toBe("closing");
    expect(await client.closed).toMatchObject({ code: 1006, wasClean: false });
    expect(clientTransport.destroyed).toBe(true);
  });

  it("fails only its own connection with 1011 when the owner's handler throws (never into the transport)", async () => {
    const { client, server } = sessionPair();
    server.handler = {
      message: () => {
        throw new Error("handler bug");
      },
    };
    server.start();
    client.start();
    // The exception would surface here, in the transport's data callback, without the catch.
    expect(() => client.send("boom")).not.toThrow();
    const [c, s] = await Promise.all([client.closed, server.closed]);
    expect(c.code).toBe(1011);
    expect(s.error).toMatchObject({ code: "LISTENER_ERROR" });
    expect((s.error as Error).cause).toMatchObject({ message: "handler bug" });
  });

  it("closes with 1001 after idleTimeout without traffic; traffic postpones it", async () => {
    const { client, server } = sessionPair({}, { idleTimeout: 400 });
    server.start();
    client.start();
    // Traffic every 50 ms for longer than the timeout keeps the connection open.
    for (let i = 0; i < 12; i++) {
      client.send("still here");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(server.state).toBe("open");
    expect(await client.closed).toMatchObject({ code: 1001, reason: "Idle timeout", wasClean: true });
  });

  it("marks ping() handled: unawaited pings rejected by the close raise no unhandledRejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    // The session compiles without Node's types: reach the test runner's process by name.
    const process = (globalThis as unknown as { process: NodeLikeProcess }).process;
    process.on("unhandledRejection", onUnhandled);
    try {
      const { client, server } = sessionPair();
      server.handler = { ping: () => server.terminate() };
      server.start();
      client.start();
      void client.ping();
      await client.closed;
      void client.ping(); // after close
      await expect(client.ping()).rejects.toThrow(/closed/);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("answers pings automatically and resolves ping() with the round-trip time", async () => {
    const { client, server } = sessionPair();
    const pings: Uint8Array[] = [];
    server.handler = { ping: (payload) => pings.push(payload) };
    server.start();
    client.start();
    const rtt = await client.ping("abc");
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(new TextDecoder().decode(pings[0])).toBe("abc");
  });

  it("replies to one received chunk: the first at once when alone in the turn, else all in one write", async () => {
    const peer = new Connection({ role: "client" });
    const chunkOf = (count: number): Uint8Array => {
      const parts: Uint8Array[] = [];
      // No extensions: send() returns the frame's bytes synchronously.
      for (let i = 0; i < count; i++)
        parts.push(...(peer.send({ type: "text", data: `m${i}` }) as Uint8Array[]));
      return concat(parts);
    };
    const echoServer = (): { session: Session; writes: number[] } => {
      const writes: number[] = []; // frames per transport write
      const session = new Session(
        {
          write: (chunks) => {
            // Each echo ("m0", "m1", …) is a 4-byte frame: 2 header bytes and 2 of text.
            let bytes = 0;
            for (const chunk of chunks) bytes += chunk.length;
            writes.push(bytes / 4);
            return true;
          },
          end: () => {},
          destroy: () => {},
          pause: () => {},
          resume: () => {},
        },
        { role: "server" },
      );
      session.handler = { message: (data) => session.send(data) };
      session.start();
      return { session, writes };
    };
    const a = echoServer();
    const b = echoServer();
    await new Promise((resolve) => setTimeout(resolve, 1)); // a fresh turn of the event loop
    a.session.onData(chunkOf(3));
    expect(a.writes).toEqual([1, 2]); // alone: the first echo went out before the others
    b.session.onData(chunkOf(3));
    a.session.onData(chunkOf(2));
    expect(b.writes).toEqual([3]); // a busy turn: one write per chunk
    expect(a.writes).toEqual([1, 2, 2]);
    await new Promise((resolve) => setTimeout(resolve, 1));
    b.session.onData(chunkOf(2));
    expect(b.writes).toEqual([3, 1, 1]); // alone again
  });

  it("hands the transport small frames joined into one buffer, and large payloads as they are", () => {
    const writes: Uint8Array[][] = [];
    const session = new Session(
      {
        write: (chunks) => {
          writes.push(chunks);
          return true;
        },
        end: () => {},
        destroy: () => {},
        pause: () => {},
        resume: () => {},
      },
      { role: "server" },
    );
    session.start();
    session.send(new Uint8Array(10).fill(7)); // a 2-byte header and the payload: one buffer
    expect(writes[0]).toEqual([new Uint8Array([0x82, 10, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7])]);
    const large = new Uint8Array(WRITE_BATCH_LIMIT + 1);
    session.send(large); // its header, then the payload itself (not copied)
    expect(writes[1]).toHaveLength(2);
    expect(writes[1]?.[0]).toHaveLength(10);
    expect(writes[1]?.[1]).toBe(large);
  });

  it("joins writes into one reused buffer for a transport that copies what it writes, and every echo arrives intact", () => {
    /** A transport that copies (as Bun's socket write does): it keeps copies of the bytes only. */
    const copyingTransport = (onWrite?: () => void) => {
      const received: Uint8Array[] = [];
      const buffers: ArrayBufferLike[] = [];
      const transport = {
        copiesWrites: true,
        write: (chunks: Uint8Array[]) => {
          for (const chunk of chunks) {
            buffers.push(chunk.buffer);
            received.push(chunk.slice());
          }
          onWrite?.();
          return true;
        },
        end: () => {},
        destroy: () => {},
        pause: () => {},
        resume: () => {},
      };
      return { transport, received, buffers };
    };
    const decodeAll = (chunks: Uint8Array[]): (string | Uint8Array)[] => {
      const peer = new Connection({ role: "client" });
      for (const chunk of chunks) peer.receive(chunk);
      const messages: (string | Uint8Array)[] = [];
      for (let e = peer.nextEvent(); e !== NEED_DATA; e = peer.nextEvent()) {
        if (typeof e !== "symbol" && (e.type === "text" || e.type === "binary")) messages.push(e.data);
      }
      return messages;
    };
    // Another session writes from inside the first one's write (any runtime callback could):
    // it must not join into the buffer that write is using.
    const other = copyingTransport();
    const otherSession = new Session(other.transport, { role: "server" });
    otherSession.start();
    const nested = new Uint8Array(100).fill(9);
    let writes = 0;
    const echo = copyingTransport(() => {
      if (++writes === 2) otherSession.send(nested);
    });
    const session = new Session(echo.transport, { role: "server" });
    session.handler = { message: (data) => session.send(data) };
    session.start();
    const peer = new Connection({ role: "client" });
    // Several writes of different sizes, text and binary: a reused buffer that was not fully
    // rewritten would show in the echoes.
    const sent: (string | Uint8Array)[] = [];
    for (let round = 0; round < 4; round++) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) {
        const size = (round * 37 + i * 11) % 300;
        const message =
          i % 2 === 0
            ? "é".repeat(size % 50) + String(round * 100 + i)
            : new Uint8Array(size).fill(round * 20 + i);
        sent.push(message);
        // No extension: the frames come at once, never as a promise.
        const frames = peer.send(
          typeof message === "string" ? { type: "text", data: message } : { type: "binary", data: message },
        ) as Uint8Array[];
        parts.push(...frames);
      }
      session.onData(concat(parts));
    }
    expect(decodeAll(echo.received)).toEqual(sent);
    expect(decodeAll(other.received)).toEqual([nested]);
    // The joined writes (all but a lone session's first echo, which goes out at once) reused one buffer...
    const joined = echo.buffers.slice(1);
    expect(joined.length).toBeGreaterThan(2);
    expect(new Set(joined).size).toBe(1);
    // ...and the nested write joined into another.
    expect(other.buffers).toHaveLength(1);
    expect(other.buffers[0]).not.toBe(joined[0]);
  });

  it("encodes text echoes straight into the joined write of a copiesWrites transport, and every frame arrives in order across full buffers, large frames and a full transport", async () => {
    const received: Uint8Array[] = [];
    const kept: { view: Uint8Array; bytes: Uint8Array }[] = [];
    let calls = 0;
    let takeNothingAt = -1; // this write is not taken (the transport keeps a view until a drain)
    let writes = 0;
    const transport = {
      copiesWrites: true,
      write: (chunks: Uint8Array[]) => {
        writes++;
        for (const chunk of chunks) received.push(chunk.slice());
        if (writes !== takeNothingAt) return true;
        for (const chunk of chunks) kept.push({ view: chunk, bytes: chunk.slice() });
        return false;
      },
      end: () => {},
      destroy: () => {},
      pause: () => {},
      resume: () => {},
    };
    // Room for everything this test queues while the transport is full.
    const session = new Session(transport, { role: "server", limits: { maxBufferedAmount: 1 << 24 } });
    session.handler = {
      message: (data) => {
        calls++;
        session.send(data);
      },
    };
    session.start();
    const peer = new Connection({ role: "client" });
    const sent: (string | Uint8Array)[] = [];
    const chunkOf = (messages: (string | Uint8Array)[]): Uint8Array => {
      const parts: Uint8Array[] = [];
      for (const message of messages) {
        sent.push(message);
        parts.push(
          ...(peer.send(
            typeof message === "string" ? { type: "text", data: message } : { type: "binary", data: message },
          ) as Uint8Array[]),
        );
      }
      return concat(parts);
    };
    // Text whose worst-case room (3 bytes per code unit) crosses the buffer's end several
    // times, every UTF-8 length and the length forms, a binary frame larger than the buffer in
    // between, and text that is not valid UTF-16 (lone surrogates become U+FFFD, as with send()).
    const messages: (string | Uint8Array)[] = [];
    for (let i = 0; i < 40; i++) {
      messages.push(i % 3 === 0 ? "é€😀".repeat(i * 40) : `${"a".repeat(i * 97)}${i}`);
      if (i === 20) messages.push(new Uint8Array(WRITE_BATCH_LIMIT + 10).fill(3));
    }
    messages.push("\ud800x\udc00", "");
    // Decoded in several turns (turns.ts): wait for every echo.
    const echoed = async (count: number): Promise<void> => {
      for (let i = 0; i < 1000 && calls < count; i++) await tick();
    };
    const chunk = chunkOf(messages);
    // Counts the runtime's encode() calls (the test runners' spies differ between runtimes).
    const prototype = TextEncoder.prototype;
    const encode = prototype.encode;
    let encoded = 0;
    prototype.encode = function (this: TextEncoder, input?: string) {
      encoded++;
      return encode.call(this, input);
    } as typeof encode;
    try {
      session.onData(chunk);
      await echoed(sent.length);
    } finally {
      prototype.encode = encode;
    }
    // The text went into the joined writes: no array of its own per message.
    expect(encoded).toBe(0);
    // The same while the transport is full for a while: the echoes queue, in order.
    takeNothingAt = writes + 2;
    session.onData(chunkOf(messages));
    await echoed(sent.length);
    expect(kept.length).toBeGreaterThan(0);
    takeNothingAt = -1;
    session.onDrain();
    session.onData(chunkOf(["after", "a drain", "x".repeat(5000)]));
    await echoed(sent.length);
    for (const { view, bytes } of kept) expect(view).toEqual(bytes);
    const echo = new Connection({ role: "client" });
    for (const chunk of received) echo.receive(chunk);
    const got: (string | Uint8Array)[] = [];
    for (let e = echo.nextEvent(); e !== NEED_DATA; e = echo.nextEvent())
      if (typeof e !== "symbol" && (e.type === "text" || e.type === "binary")) got.push(e.data);
    expect(got).toEqual(sent.map((m) => (m === "\ud800x\udc00" ? "\ufffdx\ufffd" : m)));
    expect(session.bufferedAmount).toBe(0);
  });

  it("leaves a joined buffer to a copiesWrites transport whose write() returned false, and joins the next write into a new one", () => {
    const kept: { view: Uint8Array; bytes: Uint8Array }[] = [];
    const buffers: ArrayBufferLike[] = [];
    let full = true;
    const transport = {
      copiesWrites: true,
      write: (chunks: Uint8Array[]) => {
        for (const chunk of chunks) buffers.push(chunk.buffer);
        if (!full) return true;
        // The runtime took nothing: the transport keeps a view until it drains.
        for (const chunk of chunks) kept.push({ view: chunk, bytes: chunk.slice() });
        return false;
      },
      end: () => {},
      destroy: () => {},
      pause: () => {},
      resume: () => {},
    };
    const session = new Session(transport, { role: "server" });
    session.handler = { message: (data) => session.send(data) };
    session.start();
    const peer = new Connection({ role: "client" });
    const chunkOf = (count: number, fill: number): Uint8Array =>
      concat(
        Array.from(
          { length: count },
          () => peer.send({ type: "binary", data: new Uint8Array(50).fill(fill) }) as Uint8Array[],
        ).flat(),
      );
    session.onData(chunkOf(3, 1)); // the first echo goes out alone, the other two joined: kept
    expect(kept.length).toBeGreaterThan(0);
    full = false;
    session.onDrain();
    session.onData(chunkOf(3, 2));
    // The kept views still hold their bytes: the later writes did not join into their buffer.
    for (const { view, bytes } of kept) expect(view).toEqual(bytes);
    const keptBuffers = new Set(kept.map((k) => k.view.buffer));
    const later = buffers.slice(buffers.indexOf(kept[kept.length - 1]!.view.buffer) + 1);
    expect(later.length).toBeGreaterThan(0);
    for (const buffer of later) expect(keptBuffers.has(buffer)).toBe(false);
  });

  it("gathers a message larger than one received chunk into the array the transport's allocate makes", () => {
    const made: Uint8Array[] = [];
    const transport = {
      // Stale bytes, as an allocator that skips zero-filling may hand out (Node's).
      allocate: (size: number): Uint8Array => {
        const array = new Uint8Array(size).fill(0xa5);
        made.push(array);
        return array;
      },
      write: () => true,
      end: () => {},
      destroy: () => {},
      pause: () => {},
      resume: () => {},
    };
    const session = new Session(transport, { role: "server" });
    const got: (string | Uint8Array)[] = [];
    session.handler = { message: (data) => got.push(data) };
    session.start();
    const peer = new Connection({ role: "client" });
    const payload = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    const frame = concat(peer.send({ type: "binary", data: payload }) as Uint8Array[]);
    for (let offset = 0; offset < frame.length; offset += 65536)
      session.onData(frame.slice(offset, offset + 65536));
    expect(got).toEqual([payload]);
    expect(made).toHaveLength(1);
    expect(got[0]).toBe(made[0]);
  });

  it("reuses a joined buffer with a writesThrough transport only after writes that left nothing waiting", () => {
    // Node's socket: write() returns true below the high-water mark even when libuv kept the
    // buffer for later; only bufferedAmount (writableLength) says whether it did.
    const kept: { view: Uint8Array; bytes: Uint8Array }[] = [];
    const buffers: ArrayBufferLike[] = [];
    let waiting = 0;
    let keep = false;
    const transport = {
      writesThrough: true,
      write: (chunks: Uint8Array[]) => {
        for (const chunk of chunks) {
          buffers.push(chunk.buffer);
          if (keep) {
            kept.push({ view: chunk, bytes: chunk.slice() });
            waiting += chunk.length;
          }
        }
        return true;
      },
      get bufferedAmount() {
        return waiting;
      },
      end: () => {},
      destroy: () => {},
      pause: () => {},
      resume: () => {},
    };
    const session = new Session(transport, { role: "server" });
    session.handler = { message: (data) => session.send(data) };
    session.start();
    const peer = new Connection({ role: "client" });
    const chunkOf = (count: number, fill: number): Uint8Array =>
      concat(
        Array.from(
          { length: count },
          // Two echoes joined take more than the codec's slab serves (8 KiB): without the
          // reused buffer each joined write would get a new one.
          () => peer.send({ type: "binary", data: new Uint8Array(5000).fill(fill) }) as Uint8Array[],
        ).flat(),
      );
    // Written through: every write (header and payload, or several echoes, joined) goes out
    // of one shared buffer.
    session.onData(chunkOf(3, 1));
    session.onData(chunkOf(3, 2));
    expect(buffers.length).toBeGreaterThanOrEqual(2);
    expect(new Set(buffers).size).toBe(1);
    // Bytes left waiting: the buffer is the transport's now, later writes join elsewhere.
    keep = true;
    session.onData(chunkOf(3, 3));
    keep = false;
    const keptCount = buffers.length;
    session.onData(chunkOf(3, 4));
    session.onData(chunkOf(3, 5));
    for (const { view, bytes } of kept) expect(view).toEqual(bytes);
    const keptBuffers = new Set(kept.map((k) => k.view.buffer));
    const later = buffers.slice(keptCount);
    expect(later.length).toBeGreaterThan(0);
    for (const buffer of later) expect(keptBuffers.has(buffer)).toBe(false);
  });

  it("answers only the latest ping while writes are blocked, so a ping flood cannot grow memory (RFC 6455 §5.5.3)", async () => {
    // A peer that floods pings and reads nothing: every write reports a full buffer.
    const written: Uint8Array[][] = [];
    const blockedTransport = {
      write: (chunks: Uint8Array[]) => {
        written.push(chunks);
        return false;
      },
      end: () => {},
      destroy: () => {},
      pause: () => {},
      resume: () => {},
    };
    const server = new Session(blockedTransport, { role: "server" });
    server.start();
    const peer = new Connection({ role: "client" });
    for (let i = 0; i < 10_000; i++) {
      for (const bytes of peer.send({ type: "ping", payload: new Uint8Array([i >> 8, i & 0xff]) }))
        server.onData(bytes);
    }
    // The pings received in one turn are decoded over the next turns (fair turns, turns.ts).
    for (let turns = 0; server.inboundBufferedAmount > 0 && turns < 1000; turns++)
      await new Promise((resolve) => setTimeout(resolve, 0));
    expect(server.inboundBufferedAmount).toBe(0);
    expect(written.length).toBe(1);
    expect(server.bufferedAmount).toBe(0);
    server.onDrain();
    expect(written.length).toBe(2);
    for (const chunks of written) for (const chunk of chunks) peer.receive(chunk.slice());
    const pongs: number[][] = [];
    for (let e = peer.nextEvent(); e !== NEED_DATA; e = peer.nextEvent()) {
      if (typeof e !== "symbol" && e.type === "pong") pongs.push(Array.from(e.payload));
    }
    expect(pongs).toEqual([
      [0, 0],
      [9999 >> 8, 9999 & 0xff],
    ]);
  });

  it("queues, drains and ends in order on a connection whose very first write blocks (its send queue is made then)", async () => {
    let accepting = false;
    const writes: number[][] = [];
    let ended = 0;
    const transport = {
      write: (chunks: Uint8Array[]) => {
        writes.push(chunks.map((chunk) => chunk.length));
        return accepting;
      },
      end: () => {
        ended++;
      },
      destroy: () => {},
      pause: () => {},
      resume: () => {},
    };
    const server = new Session(transport, { role: "server" });
    server.start();
    expect(server.send(new Uint8Array(3))).toBe(false); // written, the transport is full
    expect(server.blocked).toBe(true);
    expect(server.send(new Uint8Array(10))).toBe(false); // queued
    expect(server.bufferedAmount).toBe(12);
    expect(server.applicationBufferedAmount).toBe(13);
    let drained = false;
    void server.drained().then(() => {
      drained = true;
    });
    server.close(1000);
    await tick();
    expect(writes).toEqual([[5]]); // the queued message and the close frame wait for the drain
    expect(ended).toBe(0);
    expect(drained).toBe(false);
    accepting = true;
    server.onDrain();
    await tick();
    expect(writes.slice(1).flat()).toEqual([12, 4]); // then the queue and the close frame
    expect(drained).toBe(true);
    expect(server.bufferedAmount).toBe(0);
    // The peer's close reply: the server ends the transport (RFC 6455 §7.1.1).
    const peer = new Connection({ role: "client" });
    for (const bytes of peer.send({ type: "close", code: 1000 }) as Uint8Array[]) server.onData(bytes);
    await tick();
    expect(ended).toBe(1);
    server.onEnd();
    expect((await server.closed).code).toBe(1000);
  });

  it("does not answer pings with autoPong off", async () => {
    const { client, server } = sessionPair({}, { autoPong: false });
    server.start();
    client.start();
    let answered = false;
    client.ping().then(
      () => (answered = true),
      () => {},
    );
    await tick();
    expect(answered).toBe(false);
    client.terminate();
  });

  it("fails the connection with 1007 on invalid UTF-8 and the peer sees the code", async () => {
    const [clientTransport, serverTransport] = memoryTransportPair();
    const server = new Session(serverTransport, { role: "server" });
    serverTransport.receiver = server;
    const received: Uint8Array[] = [];
    clientTransport.receiver = {
      onData: (chunk) => received.push(chunk),
      onEnd() {},
      onDrain() {},
      onError() {},
    };
    const errors: Error[] = [];
    server.handler = { error: (error) => errors.push(error) };
    server.start();
    // A masked text frame with the payload 0xff (invalid UTF-8).
    clientTransport.write([new Uint8Array([0x81, 0x81, 0, 0, 0, 0, 0xff])]);
    await tick();
    expect(errors[0]).toMatchObject({ code: "INVALID_UTF8", closeCode: 1007 });
    const frame = Uint8Array.from(received.flatMap((chunk) => [...chunk]));
    expect(frame[0]).toBe(0x88);
    expect((frame[2]! << 8) | frame[3]!).toBe(1007);
    expect(serverTransport.ended).toBe(true);
    clientTransport.end();
    expect(await server.closed).toMatchObject({ code: 1006, wasClean: false });
  });

  it("fails with 1009 when a message exceeds maxMessageSize", async () => {
    const { client, server } = sessionPair({}, { limits: { maxMessageSize: 10 } });
    server.start();
    client.start();
    client.send(new Uint8Array(11));
    expect(await client.closed).toMatchObject({ code: 1009 });
    expect(await server.closed).toMatchObject({ code: 1006, wasClean: false });
  });

  it("keeps bufferedAmount exact and signals drain", async () => {
    const { client, server, clientTransport } = sessionPair({}, {}, 100);
    server.start();
    client.start();
    expect(client.send(new Uint8Array(50))).toBe(true); // 52 bytes in flight
    expect(client.bufferedAmount).toBe(50 + 6);
    expect(client.send(new Uint8Array(60))).toBe(false); // transport over its mark
    expect(client.send(new Uint8Array(10))).toBe(false); // queued by the session
    expect(client.bufferedAmount).toBe(56 + 66 + 16);
    expect(clientTransport.written).toBe(56 + 66);
    await client.drained();
    await tick();
    expect(client.bufferedAmount).toBe(0);
    client.terminate();
  });

  it("closes with 1008 when a send would exceed maxBufferedAmount", async () => {
    const { client, server } = sessionPair({ limits: { maxBufferedAmount: 100 } });
    server.start();
    const errors: Error[] = [];
    client.handler = { error: (e) => errors.push(e) };
    client.start();
    // One message always fits while nothing is buffered; the next one over the limit does not.
    client.send(new Uint8Array(200));
    expect(client.bufferedAmount).toBeGreaterThan(0);
    expect(client.send(new Uint8Array(1))).toBe(false);
    expect(errors[0]).toMatchObject({ code: "BUFFER_OVERFLOW" });
    expect(await server.closed).toMatchObject({ code: 1008 });
  });

  it("pauses the transport while the async iterator is behind, then resumes", async () => {
    // A high-water mark of one message: the inbox holds one before reading stops.
    const { client, server, serverTransport } = sessionPair({}, { receiveHighWaterMark: 100 }, 1 << 30);
    const iterator = server.messages();
    server.start();
    client.start();
    for (let i = 0; i < 20; i++) client.send(new Uint8Array(100));
    await tick();
    expect(serverTransport.paused).toBe(true);
    expect(server.inboundBufferedAmount).toBe(100); // the other 19 wait in the transport
    let count = 0;
    for await (const message of iterator) {
      expect((message as Uint8Array).length).toBe(100);
      if (++count === 20) break;
    }
    expect(count).toBe(20);
    expect(serverTransport.paused).toBe(false);
    client.terminate();
  });

  it("bounds memory with receiveHighWaterMark: reading stops while nobody consumes", async () => {
    const { client, server, serverTransport } = sessionPair({}, { receiveHighWaterMark: 1000 }, 1 << 30);
    const iterator = server.messages();
    server.start();
    client.start();
    for (let i = 0; i < 100; i++) client.send(new Uint8Array(100));
    await tick();
    // The inbox stopped at the mark (10 messages); the rest waits in the (paused) transport.
    expect(serverTransport.paused).toBe(true);
    expect(server.inboundBufferedAmount).toBe(1000);
    let count = 0;
    for await (const _ of iterator) if (++count === 100) break;
    expect(count).toBe(100);
    client.terminate();
  });

  it("sends and receives a large message as a stream of pieces", async () => {
    const { client, server } = sessionPair({}, { streamMessages: true });
    const pieces = server.pieces();
    server.start();
    client.start();
    const parts = [new Uint8Array(1000).fill(1), new Uint8Array(1000).fill(2), new Uint8Array(10).fill(3)];
    const sent = client.sendStream(parts);
    client.send("after"); // waits for the streamed message (RFC 6455 §5.4)
    await sent;
    const got: { length: number; first: boolean; last: boolean; binary: boolean }[] = [];
    for await (const piece of pieces) {
      got.push({ length: piece.data.length, first: piece.first, last: piece.last, binary: piece.binary });
      if (!piece.binary && piece.last) break;
    }
    expect(got).toEqual([
      { length: 1000, first: true, last: false, binary: true },
      { length: 1000, first: false, last: false, binary: true },
      { length: 10, first: false, last: true, binary: true },
      { length: 5, first: true, last: true, binary: false },
    ]);
    client.terminate();
  });

  it("offers a readable/writable pair with backpressure", async () => {
    const { client, server } = sessionPair();
    const { readable, writable } = server.stream();
    server.start();
    client.handler = { message: (data) => client.send(data) }; // echo
    client.start();
    const writer = writable.getWriter();
    const reader = readable.getReader();
    await writer.write("one");
    await writer.write(new Uint8Array([2]));
    expect((await reader.read()).value).toBe("one");
    expect((await reader.read()).value).toEqual(new Uint8Array([2]));
    await writer.close();
    expect((await reader.read()).done).toBe(true);
  });

  it("heartbeat: a silent peer is closed as 1006", async () => {
    const [clientTransport, serverTransport] = memoryTransportPair();
    const server = new Session(serverTransport, { role: "server", heartbeat: { interval: 10, timeout: 20 } });
    serverTransport.receiver = server;
    clientTransport.receiver = { onData() {}, onEnd() {}, onDrain() {}, onError() {} };
    server.start();
    expect(await server.closed).toMatchObject({ code: 1006, wasClean: false });
    expect(serverTransport.destroyed).toBe(true);
  });

  it("heartbeat: a live peer stays open", async () => {
    const { client, server } = sessionPair({}, { heartbeat: { interval: 5, timeout: 100 } });
    server.start();
    client.start();
    // Several heartbeat rounds; the client answers every ping.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(server.state).toBe("open");
    client.terminate();
  });

  it("throws a LocalProtocolError when sending after close", () => {
    const { client } = sessionPair();
    client.start();
    client.close();
    expect(() => client.send("x")).toThrow(/closing/);
    client.terminate();
    expect(() => client.send("x")).toThrow(/closed/);
  });
});
