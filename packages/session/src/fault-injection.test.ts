/**
 * Fault injection at the transport seam: a {@link Session} over a transport that misbehaves the
 * way real sockets do — writes delivered in arbitrary pieces and refused for a while
 * (backpressure), a write that fails with EPIPE or ECONNRESET, a FIN in either direction at any
 * point of the close handshake, and a peer that stops reading in the middle of a message.
 *
 * What must hold: nothing throws out of the session into the runtime, `closed` settles with the
 * right code (the peer's, or 1006 when the transport died first) and the right `wasClean`, and
 * the transport is always released (ended or destroyed) — no socket is leaked.
 */
import { Connection, type InboundEvent, NEED_DATA } from "@ws/codec";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CloseInfo, Session, type SessionOptions } from "./session.ts";
import type { Transport } from "./transport.ts";

const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Whatever receives what one end writes: a session, or a raw codec peer. */
interface Receiver {
  onData(chunk: Uint8Array): void;
  onEnd(): void;
  onDrain(): void;
  onError(error: unknown): void;
}

/**
 * One end of a duplex with injectable faults. What it writes reaches the other end's receiver
 * on later microtasks, split at `cuts`; `end()` is a FIN (delivered after the bytes before it),
 * `destroy()` an RST (the other end's pending bytes are lost and it sees the end).
 */
class FaultyEnd implements Transport {
  receiver: Receiver | undefined;
  other!: FaultyEnd;
  /** Every byte this end wrote, in order (what went on the wire). */
  readonly wire: Uint8Array[] = [];
  /** Calls in order, for assertions on the order of writes, FIN and RST. */
  readonly calls: string[] = [];
  ended = false;
  destroyed = false;
  paused = false;
  /** Cut points (mod length) at which each write is split for delivery. */
  cuts: readonly number[] = [];
  /** write() returns false on these write indexes; a drain follows a macrotask later. */
  refuse: ReadonlySet<number> = new Set();
  /** The peer never reads: write() returns false once this many bytes are buffered, and never drains. */
  stalledAfter: number | undefined;
  /** The next write fails: the runtime reports this error (EPIPE, ECONNRESET) and the socket closes. */
  failNextWrite: Error | undefined;
  #writes = 0;
  #buffered = 0;
  #deliveries: Promise<void> = Promise.resolve();

  get bufferedAmount(): number {
    return this.#buffered;
  }

  write(chunks: Uint8Array[]): boolean {
    this.calls.push("write");
    if (this.ended || this.destroyed)
      throw new Error("write after end or destroy: the session must not do that");
    const error = this.failNextWrite;
    if (error !== undefined) {
      this.failNextWrite = undefined;
      // As Node does: 'error' then 'close' on a later turn; nothing reaches the peer, whose
      // side of the connection is reset too.
      setTimeout(() => {
        this.destroyed = true;
        this.receiver?.onError(error);
        this.receiver?.onEnd();
        if (!this.other.destroyed) {
          this.other.destroyed = true;
          this.other.receiver?.onError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
        }
      }, 0);
      return true;
    }
    const index = this.#writes++;
    for (const chunk of chunks) {
      const copy = chunk.slice();
      this.wire.push(copy);
      this.#buffered += copy.length;
      if (this.stalledAfter !== undefined) continue;
      this.#deliver(copy);
    }
    if (this.stalledAfter !== undefined) return this.#buffered < this.stalledAfter;
    if (this.refuse.has(index)) {
      setTimeout(() => this.receiver?.onDrain(), 1);
      return false;
    }
    return true;
  }

  /** Delivers `bytes` to the other end in pieces, one macrotask each, in write order. */
  #deliver(bytes: Uint8Array): void {
    const points = [...new Set(this.cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const pieces: Uint8Array[] = [];
    let start = 0;
    for (const point of [...points, bytes.length]) {
      if (point > start) pieces.push(bytes.subarray(start, point));
      start = Math.max(start, point);
    }
    for (const piece of pieces) {
      // Each piece on a later microtask: after write() returned, in order, and quick.
      this.#deliveries = this.#deliveries.then(async () => {
        await Promise.resolve();
        this.#buffered -= piece.length;
        if (!this.destroyed && !this.other.destroyed) this.other.receiver?.onData(piece);
      });
    }
  }

  end(): void {
    this.calls.push("end");
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.#deliveries = this.#deliveries.then(async () => {
      await macrotask();
      if (!this.other.destroyed) this.other.receiver?.onEnd();
    });
  }

  destroy(): void {
    this.calls.push("destroy");
    if (this.destroyed) return;
    this.destroyed = true;
    setTimeout(() => {
      this.receiver?.onEnd();
      if (!this.other.destroyed)
        this.other.receiver?.onError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
    }, 0);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }
}

function sameMessage(a: string | Uint8Array | undefined, b: string | Uint8Array | undefined): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function faultyPair(): [FaultyEnd, FaultyEnd] {
  const a = new FaultyEnd();
  const b = new FaultyEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}

type Settings = Omit<SessionOptions, "role">;

function sessions(client: Settings = {}, server: Settings = {}) {
  const [clientEnd, serverEnd] = faultyPair();
  const c = new Session(clientEnd, { role: "client", closeTimeout: 200, ...client });
  const s = new Session(serverEnd, { role: "server", closeTimeout: 200, ...server });
  clientEnd.receiver = c;
  serverEnd.receiver = s;
  return { client: c, server: s, clientEnd, serverEnd };
}

/** A session facing a raw codec peer that the test drives by hand. */
function facingRawPeer(role: "client" | "server", settings: Settings = {}) {
  const [mine, theirs] = faultyPair();
  const session = new Session(mine, { role, closeTimeout: 200, ...settings });
  mine.receiver = session;
  const peer = new Connection({ role: role === "client" ? "server" : "client" });
  const received: InboundEvent[] = [];
  let peerEnded = false;
  theirs.receiver = {
    onData: (chunk) => {
      peer.receive(chunk);
      for (let e = peer.nextEvent(); e !== NEED_DATA; e = peer.nextEvent()) {
        if (typeof e === "object") received.push(e);
      }
    },
    onEnd: () => {
      peerEnded = true;
    },
    onDrain: () => {},
    onError: () => {},
  };
  const send = (bytes: Uint8Array[] | Promise<Uint8Array[]>) => {
    if (bytes instanceof Promise) throw new Error("no extensions here");
    theirs.write(bytes);
  };
  return { session, mine, theirs, peer, received, send, peerEnded: () => peerEnded };
}

/** The transport was released: ended (FIN after the close handshake) or destroyed. */
function released(end: FaultyEnd): boolean {
  return end.ended || end.destroyed;
}

async function settle(session: Session): Promise<CloseInfo> {
  return session.closed;
}

describe("fault injection: partial writes and backpressure", () => {
  it("messages arrive whole and in order however the writes are split and refused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.uint8Array({ maxLength: 3000 }),
            fc.integer({ min: 60_000, max: 140_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.nat({ max: 200_000 }), { maxLength: 6 }),
        fc.array(fc.nat({ max: 20 }), { maxLength: 6 }),
        async (messages, cuts, refuse) => {
          const { client, server, clientEnd, serverEnd } = sessions();
          clientEnd.cuts = cuts;
          clientEnd.refuse = new Set(refuse);
          serverEnd.cuts = cuts;
          serverEnd.refuse = new Set(refuse);
          const got: (string | Uint8Array)[] = [];
          server.handler = { message: (data) => got.push(typeof data === "string" ? data : data.slice()) };
          server.start();
          client.start();
          for (const message of messages) {
            if (!client.send(message)) await client.drained();
          }
          client.close(1000, "done");
          const [c, s] = await Promise.all([settle(client), settle(server)]);
          // Compared by hand: toEqual walks large byte arrays element by element, slowly.
          expect(got.length).toBe(messages.length);
          for (let i = 0; i < messages.length; i++) expect(sameMessage(got[i], messages[i])).toBe(true);
          expect(c).toMatchObject({ code: 1000, wasClean: true });
          expect(s).toMatchObject({ code: 1000, reason: "done", wasClean: true });
          expect(client.bufferedAmount).toBe(0);
          expect(released(clientEnd) && released(serverEnd)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);
});

describe("fault injection: a write fails (EPIPE, ECONNRESET)", () => {
  for (const code of ["EPIPE", "ECONNRESET"]) {
    for (const when of ["open", "closing"] as const) {
      it(`${code} on a write while ${when}: closed with 1006, the error kept, the socket released`, async () => {
        const { client, server, serverEnd } = sessions();
        server.start();
        client.start();
        await macrotask();
        const error = Object.assign(new Error(`write ${code}`), { code });
        serverEnd.failNextWrite = error;
        if (when === "open") server.send(new Uint8Array(100_000));
        else server.close(1001, "bye");
        const info = await settle(server);
        expect(info).toMatchObject({ code: 1006, wasClean: false });
        expect(info.error).toBe(error);
        expect(released(serverEnd)).toBe(true);
        // The other side lost its peer without a close frame: 1006 too, within its close timeout.
        expect(await settle(client)).toMatchObject({ code: 1006, wasClean: false });
        // A closed session refuses politely: sends throw the documented error, nothing escapes.
        expect(() => server.send("late")).toThrow();
      });
    }
  }

  it("an ECONNRESET from the runtime while a large message is queued frees the queue", async () => {
    const { client, server, serverEnd } = sessions();
    server.start();
    client.start();
    serverEnd.stalledAfter = 1000;
    for (let i = 0; i < 10; i++) server.send(new Uint8Array(64 * 1024));
    expect(server.bufferedAmount).toBeGreaterThan(500_000);
    server.onError(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
    expect(await settle(server)).toMatchObject({ code: 1006, wasClean: false });
    expect(serverEnd.destroyed).toBe(true);
    expect(server.bufferedAmount).toBeLessThanOrEqual(serverEnd.bufferedAmount);
  });
});

describe("fault injection: half-close (FIN) in each direction", () => {
  for (const role of ["client", "server"] as const) {
    it(`${role}: the peer's FIN without a close frame is 1006, and our side is ended too`, async () => {
      const { session, mine, theirs } = facingRawPeer(role);
      session.start();
      theirs.end();
      expect(await settle(session)).toMatchObject({ code: 1006, wasClean: false });
      expect(released(mine)).toBe(true);
    });

    it(`${role}: the peer's close frame then FIN at once: our close reply goes out before our FIN`, async () => {
      const { session, mine, peer, send, received } = facingRawPeer(role);
      session.start();
      send(peer.send({ type: "close", code: 4001, reason: "then FIN" }));
      theirsEnd(mine);
      const info = await settle(session);
      expect(info).toMatchObject({ code: 4001, reason: "then FIN", wasClean: true });
      const wroteClose = mine.calls.indexOf("write");
      expect(wroteClose).toBeGreaterThanOrEqual(0);
      expect(mine.calls.indexOf("end")).toBeGreaterThan(wroteClose);
      await macrotask();
      await macrotask();
      expect(received).toContainEqual({ type: "close", code: 4001, reason: "" });
    });

    it(`${role}: the peer's close frame and FIN arrive before start(): the reply still goes out`, async () => {
      // A client's session is started after the handshake (the open event): what the server sent
      // right after its 101 is already there, FIN included.
      const { session, mine, peer, send, received } = facingRawPeer(role);
      send(peer.send({ type: "close", code: 1001, reason: "early" }));
      theirsEnd(mine);
      for (let i = 0; i < 5; i++) await macrotask();
      session.start();
      expect(await settle(session)).toMatchObject({ code: 1001, reason: "early", wasClean: true });
      expect(mine.calls.indexOf("end")).toBeGreaterThan(mine.calls.indexOf("write"));
      await macrotask();
      expect(received).toContainEqual({ type: "close", code: 1001, reason: "" });
    });

    it(`${role}: we close, the peer answers with FIN only: 1006, not clean, released`, async () => {
      const { session, mine, theirs } = facingRawPeer(role);
      session.start();
      session.close(1000);
      await macrotask();
      theirs.end();
      expect(await settle(session)).toMatchObject({ code: 1006, wasClean: false });
      expect(released(mine)).toBe(true);
    });

    it(`${role}: we close, the peer answers and ends: clean, and we end our side`, async () => {
      const { session, mine, theirs, peer, send, received } = facingRawPeer(role);
      session.start();
      session.close(1000, "bye");
      for (let i = 0; i < 5 && received.length === 0; i++) await macrotask();
      expect(received).toContainEqual({ type: "close", code: 1000, reason: "bye" });
      send(peer.send({ type: "close", code: 1000 }));
      theirs.end();
      expect(await settle(session)).toMatchObject({ code: 1000, wasClean: true });
      expect(released(mine)).toBe(true);
    });
  }
});

/** The peer of `mine` sends its FIN (after the bytes it already wrote). */
function theirsEnd(mine: FaultyEnd): void {
  mine.other.end();
}

describe("fault injection: a peer that stops reading mid-message", () => {
  it("the send buffer limit closes the connection; the close timeout then releases the socket", async () => {
    const limit = 256 * 1024;
    const { session, mine } = facingRawPeer("server", { limits: { maxBufferedAmount: limit } });
    const errors: Error[] = [];
    session.handler = { error: (error) => errors.push(error) };
    session.start();
    mine.stalledAfter = 16 * 1024;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      if (session.state !== "open") break;
      if (!session.send(new Uint8Array(20 * 1024))) refused++;
      expect(session.bufferedAmount).toBeLessThanOrEqual(limit);
    }
    expect(refused).toBeGreaterThan(0);
    const info = await settle(session);
    expect(info).toMatchObject({ code: 1006, wasClean: false });
    expect(errors.map((e) => (e as { code?: string }).code)).toContain("BUFFER_OVERFLOW");
    expect(mine.destroyed).toBe(true);
  });

  it("a peer that stops reading in the middle of a fragmented message: close() is bounded by the close timeout", async () => {
    const { session, mine } = facingRawPeer("client");
    session.start();
    mine.stalledAfter = 1;
    const pieces = session.send(new Uint8Array(50_000));
    expect(pieces).toBe(false);
    session.close(1000);
    const info = await settle(session);
    expect(info).toMatchObject({ code: 1006, wasClean: false });
    expect(mine.destroyed).toBe(true);
  });
});
