import { type Extension, permessageDeflate } from "@ws/codec/extensions";
import { createZlibEngine, type ZlibLike } from "@ws/deflate";
import { describe, expect, it } from "vitest";
import { memoryTransportPair } from "../memory-transport.ts";
import { ServerCore, type ServerCoreOptions } from "../server-core.ts";
import { Session } from "../session.ts";
import { WebSocket } from "../websocket.ts";
import { BrokerError, InProcessBroker } from "./broker.ts";
import { prepareMessage } from "./prepared-message.ts";

/**
 * Past what a publish wrote: a setTimeout(0), then a setImmediate, which runs after the one that
 * flushes the turn's published frames (immediates run in order), and the memory transports'
 * deliveries (microtasks) run before it.
 */
const afterImmediate = (globalThis as unknown as { setImmediate: (callback: () => void) => unknown })
  .setImmediate;
const tick = (): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, 0)).then(
    () => new Promise((resolve) => afterImmediate(resolve)),
  );
// node:zlib, which Node, Deno and Bun all have (the session itself has no runtime types).
const zlibModule: string = "node:zlib";
const engine = createZlibEngine((await import(zlibModule)) as ZlibLike);

/** V8's gc(), exposed through node:v8 and node:vm (Node; Deno's V8 flags cannot be set so). */
const forceGc: (() => void) | undefined = await (async () => {
  if ("Bun" in globalThis || "Deno" in globalThis) return undefined;
  const v8Module: string = "node:v8";
  const vmModule: string = "node:vm";
  const v8 = (await import(v8Module)) as { setFlagsFromString(flags: string): void };
  const vm = (await import(vmModule)) as { runInNewContext(code: string): unknown };
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
})();

interface Peer {
  /** The server's socket. */
  socket: WebSocket;
  /** The client session on the other end, and what it received. */
  client: Session;
  received: (string | Uint8Array)[];
  /** Every buffer the server wrote to this peer, as written (to compare identities). */
  writes: Uint8Array[];
}

function server(options: ServerCoreOptions = {}): ServerCore<string, WebSocket> {
  return new ServerCore<string, WebSocket>(
    options,
    (url, init) => new WebSocket(url, undefined, init),
    [],
    () => engine,
  );
}

/** A client connected to `core` over memory transports, with the extensions given. */
function connect(
  core: ServerCore<string, WebSocket>,
  extensions?: { server: Extension; client: Extension },
  serverLimits?: { maxBufferedAmount: number },
): Peer {
  const [clientTransport, serverTransport] = memoryTransportPair();
  const writes: Uint8Array[] = [];
  const write = serverTransport.write.bind(serverTransport);
  serverTransport.write = (chunks) => {
    writes.push(...chunks);
    return write(chunks);
  };
  const client = new Session(clientTransport, {
    role: "client",
    extensions: extensions === undefined ? [] : [extensions.client],
  });
  const session = new Session(serverTransport, {
    role: "server",
    extensions: extensions === undefined ? [] : [extensions.server],
    limits: serverLimits,
  });
  clientTransport.receiver = client;
  serverTransport.receiver = session;
  const received: (string | Uint8Array)[] = [];
  client.handler = { message: (data) => received.push(data) };
  client.start();
  let socket: WebSocket | undefined;
  core.open(session, new URL("ws://example.test/"), "request", (ws) => {
    socket = ws;
  });
  return { socket: socket as WebSocket, client, received, writes };
}

/** A negotiated permessage-deflate pair for the client offer `offer` (RFC 7692 §5). */
function deflatePair(offer: string, serverOptions = {}): { server: Extension; client: Extension } {
  const params = offer
    .split(";")
    .filter((part) => part.trim() !== "")
    .map((part) => {
      const [name, value] = part.trim().split("=");
      return { name: name as string, value: value ?? null };
    });
  const negotiated = permessageDeflate({ engine, ...serverOptions }).negotiate([
    { name: "permessage-deflate", params },
  ]);
  if (negotiated === undefined) throw new Error(`offer refused: ${offer}`);
  const client = permessageDeflate({ engine }).accept(negotiated.response);
  return { server: negotiated.extension, client };
}

describe("topics", () => {
  it("subscribes, unsubscribes and lists a socket's topics", () => {
    const core = server();
    const { socket } = connect(core);
    expect(socket.subscribe("a")).toBe(true);
    expect(socket.subscribe("a")).toBe(false);
    expect(socket.subscribe("b")).toBe(true);
    expect(socket.topics).toEqual(["a", "b"]);
    expect(socket.isSubscribed("a")).toBe(true);
    expect(core.pubsub.subscriberCount("a")).toBe(1);
    expect(socket.unsubscribe("a")).toBe(true);
    expect(socket.unsubscribe("a")).toBe(false);
    expect(socket.isSubscribed("a")).toBe(false);
    expect(socket.topics).toEqual(["b"]);
    expect(core.pubsub.subscriberCount("a")).toBe(0);
  });

  it("rejects a topic that is not a non-empty string and unknown options with a TypeError", () => {
    const core = server();
    const { socket } = connect(core);
    expect(() => socket.subscribe("")).toThrow(TypeError);
    expect(() => socket.subscribe(42 as unknown as string)).toThrow(TypeError);
    expect(() => core.pubsub.publish("a", "x", { compres: true } as never)).toThrow(/unknown option compres/);
    expect(() => core.pubsub.publish("a", "x", { binary: "yes" } as never)).toThrow(TypeError);
  });

  it("refuses topics on a client's socket", () => {
    const socket = new WebSocket("ws://example.test/", undefined, {
      session: new Session(memoryTransportPair()[0], { role: "client" }),
    });
    expect(() => socket.subscribe("a")).toThrow(/only a server's sockets/);
    expect(socket.topics).toEqual([]);
  });

  it("a closed socket leaves every topic", async () => {
    const core = server();
    const a = connect(core);
    const b = connect(core);
    a.socket.subscribe("room");
    a.socket.subscribe("other");
    b.socket.subscribe("room");
    a.client.close(1000);
    await a.socket.session?.closed;
    await tick();
    expect(core.pubsub.subscriberCount("room")).toBe(1);
    expect(core.pubsub.subscriberCount("other")).toBe(0);
    expect(core.pubsub.size).toEqual({ topics: 1, sockets: 1 });
    expect(core.pubsub.publish("room", "hi")).toBe(1);
  });

  it("holds nothing after a million subscribe/unsubscribe cycles, and the heap stays bounded", () => {
    const core = server();
    const { socket } = connect(core);
    socket.subscribe("kept");
    const cycle = (i: number): void => {
      const topic = `topic-${i % 1000}`;
      socket.subscribe(topic);
      socket.unsubscribe(topic);
    };
    for (let i = 0; i < 10_000; i++) cycle(i);
    const before = heapAfterGc();
    for (let i = 0; i < 1_000_000; i++) cycle(i);
    const after = heapAfterGc();
    expect(core.pubsub.size).toEqual({ topics: 1, sockets: 1 });
    expect(socket.topics).toEqual(["kept"]);
    // Where the runtime lets a test collect garbage, what is left after a million cycles is
    // noise (a leak of one 16-byte entry per cycle would be 16 MB).
    if (before !== undefined && after !== undefined) expect(after - before).toBeLessThan(4 * 1024 * 1024);
  }, 60_000);

  it("holds nothing of sockets that subscribed and closed: their subscriptions end with them", async () => {
    const core = server();
    const wave = async (): Promise<void> => {
      const peers = Array.from({ length: 1000 }, () => connect(core));
      peers.forEach((peer, i) => {
        peer.socket.subscribe(`room-${i % 100}`);
        peer.socket.subscribe("all");
      });
      expect(core.pubsub.publish("all", "hello")).toBe(1000);
      for (const peer of peers) peer.socket.terminate();
      await tick();
    };
    await wave();
    const before = heapAfterGc();
    for (let i = 0; i < 5; i++) await wave();
    await tick();
    const after = heapAfterGc();
    expect(core.pubsub.size).toEqual({ topics: 0, sockets: 0 });
    expect(core.clients.size).toBe(0);
    expect(core.pubsub.subscriberCount("all")).toBe(0);
    // 5,000 sockets kept alive by a topic would be several MB.
    if (before !== undefined && after !== undefined) expect(after - before).toBeLessThan(4 * 1024 * 1024);
  }, 60_000);
});

describe("publish", () => {
  it("reaches each subscriber once, in publish order, and returns how many it reached", async () => {
    const core = server();
    const a = connect(core);
    const b = connect(core);
    const c = connect(core);
    a.socket.subscribe("room");
    b.socket.subscribe("room");
    expect(core.pubsub.publish("room", "one")).toBe(2);
    expect(core.pubsub.publish("room", new Uint8Array([1, 2]))).toBe(2);
    expect(core.pubsub.publish("room", "three", { except: a.socket })).toBe(1);
    expect(core.pubsub.publish("room", "bin", { binary: true })).toBe(2);
    expect(core.pubsub.publish("nobody", "x")).toBe(0);
    await tick();
    expect(a.received).toEqual(["one", new Uint8Array([1, 2]), new TextEncoder().encode("bin")]);
    expect(b.received).toEqual(["one", new Uint8Array([1, 2]), "three", new TextEncoder().encode("bin")]);
    expect(c.received).toEqual([]);
  });

  it("broadcasts to every open socket", async () => {
    const core = server();
    const peers = [connect(core), connect(core), connect(core)];
    expect(core.pubsub.broadcast("all", { except: peers[0]?.socket })).toBe(2);
    await tick();
    expect(peers.map((peer) => peer.received)).toEqual([[], ["all"], ["all"]]);
  });

  it("writes the same frame bytes to every subscriber (framed once)", async () => {
    const core = server();
    const a = connect(core);
    const b = connect(core);
    a.socket.subscribe("t");
    b.socket.subscribe("t");
    core.pubsub.publish("t", "x".repeat(300));
    await tick();
    expect(a.writes.length).toBe(1);
    expect(a.writes[0]).toBe(b.writes[0]);
    expect(a.received).toEqual(["x".repeat(300)]);
  });

  it("sends a prepared message with sendPrepared, to sockets and in order with send()", async () => {
    const core = server();
    const a = connect(core);
    const message = prepareMessage("prepared");
    a.socket.send("before");
    a.socket.sendPrepared(message);
    a.socket.send("after");
    a.socket.sendPrepared(prepareMessage(new TextEncoder().encode("text from bytes"), { binary: false }));
    await tick();
    expect(a.received).toEqual(["before", "prepared", "after", "text from bytes"]);
    expect(() => prepareMessage(new Uint8Array([0xff]), { binary: false })).toThrow(/not valid UTF-8/);
  });

  it("with permessage-deflate, compresses once for every server_no_context_takeover peer and still reaches the others", async () => {
    const core = server({ perMessageDeflate: { threshold: 16 } });
    const shared = [
      connect(core, deflatePair("server_no_context_takeover")),
      connect(core, deflatePair("server_no_context_takeover")),
    ];
    const smallWindow = connect(core, deflatePair("server_no_context_takeover; server_max_window_bits=9"));
    const takeover = connect(core, deflatePair(""));
    const plain = connect(core);
    const all = [...shared, smallWindow, takeover, plain];
    for (const peer of all) peer.socket.subscribe("t");
    const text = "compressible ".repeat(200);
    takeover.socket.send("first, so its context holds something");
    expect(core.pubsub.publish("t", text)).toBe(5);
    // (Publishes in one turn reach a socket as one write: a turn apart, each is its own write.)
    await tick();
    expect(core.pubsub.publish("t", "short")).toBe(5); // under the threshold: one plain frame for all
    await tick();
    await tick();
    for (const peer of all) expect(peer.received.at(-2)).toBe(text);
    for (const peer of all) expect(peer.received.at(-1)).toBe("short");
    const [first, second] = shared;
    // One compressed frame (RSV1 set), shared; far smaller than the text.
    expect(first?.writes[0]).toBe(second?.writes[0]);
    expect((first?.writes[0]?.[0] ?? 0) & 0x40).toBe(0x40);
    expect(first?.writes[0]?.length).toBeLessThan(200);
    // Other window bits: its own shared frame; context takeover: its own compressor.
    expect(smallWindow.writes[0]).not.toBe(first?.writes[0]);
    expect((smallWindow.writes[0]?.[0] ?? 0) & 0x40).toBe(0x40);
    expect(takeover.writes).not.toContain(first?.writes[0]);
    // The short message went out as one plain frame for all (RSV1 clear is valid everywhere).
    expect(first?.writes.at(-1)).toBe(plain.writes.at(-1));
    // (The context-takeover peer gets it too unless its compressor is still busy with the
    // long text, as on Deno: then through its own send(), after the text.)
  });
});

describe("slow subscribers", () => {
  it("never block a publish: the one that falls behind its maxBufferedAmount is closed with 1008, the others get everything", async () => {
    const core = server();
    const fast = connect(core);
    const slow = connect(core, undefined, { maxBufferedAmount: 64 * 1024 });
    fast.socket.subscribe("feed");
    slow.socket.subscribe("feed");
    const errors: unknown[] = [];
    slow.socket.addEventListener("error", (event) =>
      errors.push((event as unknown as { error: unknown }).error),
    );
    // The slow peer stops reading: what the server sends it piles up in its send queue.
    slow.client.pause();
    const message = "m".repeat(1000);
    const counts: number[] = [];
    for (let i = 0; i < 200; i++) {
      counts.push(core.pubsub.publish("feed", message));
      await tick();
    }
    // Reached both until the slow socket's queue went past 64 KiB, then only the fast one.
    expect(counts[0]).toBe(2);
    expect(counts.at(-1)).toBe(1);
    expect(fast.received.length).toBe(200);
    slow.client.resume();
    const info = await slow.client.closed;
    expect(info.code).toBe(1008);
    await slow.socket.session?.closed;
    await tick();
    // The socket reports why with its close (WHATWG: error, then close).
    expect(errors).toHaveLength(1);
    expect((errors[0] as { code?: string }).code).toBe("BUFFER_OVERFLOW");
    expect(core.pubsub.subscriberCount("feed")).toBe(1);
  });
});

describe("failed subscribers", () => {
  it("a socket whose send throws is skipped and reported: the others get the message, the publisher no exception", async () => {
    const broker = new InProcessBroker();
    const core = server({ broker });
    const remote = server({ broker });
    const reported: unknown[] = [];
    core.reportError = (error) => reported.push(error);
    const peers = [connect(core), connect(core), connect(core)];
    for (const peer of peers) peer.socket.subscribe("t");
    // A fault injected in the middle one (a send that throws, as one on a session that could
    // no longer send did): it is second in subscription order.
    const fault = new Error("injected send failure");
    (peers[1] as Peer).socket.sendPrepared = () => {
      throw fault;
    };
    expect(core.pubsub.publish("t", "topic")).toBe(2);
    expect(core.pubsub.broadcast("all")).toBe(2);
    // The same loop delivers what another server publishes through the broker.
    remote.pubsub.publish("t", "remote");
    await tick();
    expect((peers[0] as Peer).received).toEqual(["topic", "all", "remote"]);
    expect((peers[2] as Peer).received).toEqual(["topic", "all", "remote"]);
    expect(reported).toEqual([fault, fault, fault]);
  });

  it("a paused subscriber whose compressed message fails to inflate asynchronously closes without resuming: publish skips it", async () => {
    // Inflated in the thread pool (never synchronously): the failure lands in a promise
    // reaction, outside the session's read loop.
    const asyncEngine = createZlibEngine((await import(zlibModule)) as ZlibLike, { syncInflateMaxSize: 0 });
    const core = server();
    const reported: unknown[] = [];
    core.reportError = (error) => reported.push(error);
    const first = connect(core);
    const bad = connect(core, deflatePair("", { engine: asyncEngine }));
    const last = connect(core);
    for (const peer of [first, bad, last]) peer.socket.subscribe("t");
    const session = bad.socket.session as Session;
    // A compressed text frame (FIN, RSV1 — RFC 7692 §6) whose data is not DEFLATE (BTYPE 11 is
    // reserved, RFC 1951 §3.2.3), masked with a zero key, as the client's transport delivers it.
    session.onData(Uint8Array.of(0xc1, 0x84, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff));
    // The application stops reading while the inflate is in the thread pool.
    session.pause();
    for (let i = 0; i < 500 && session.connection.failure === undefined; i++) await tick();
    expect(session.connection.failure).toBeDefined();
    // The session learnt it without the application resuming: not "open" over a connection
    // that can no longer send.
    expect(session.state).not.toBe("open");
    // A send on it is dropped as on any closing socket (WHATWG), not thrown.
    expect(bad.socket.readyState).toBe(WebSocket.CLOSING);
    expect(() => bad.socket.send("dropped")).not.toThrow();
    expect(core.pubsub.publish("t", "after")).toBe(2);
    await tick();
    expect(first.received).toEqual(["after"]);
    expect(last.received).toEqual(["after"]);
    expect(bad.received).toEqual([]);
    expect(reported).toEqual([]);
    // The peer is told why: 1007, Invalid Frame Payload Data (RFC 6455 §7.4.1).
    expect((await bad.client.closed).code).toBe(1007);
  });
});

describe("InProcessBroker", () => {
  it("joins servers of one process: a publish on one reaches the subscribers of all, once", async () => {
    const broker = new InProcessBroker();
    const one = server({ broker });
    const two = server({ broker });
    const a = connect(one);
    const b = connect(two);
    const c = connect(two);
    a.socket.subscribe("t");
    b.socket.subscribe("t");
    expect(one.pubsub.publish("t", "hello")).toBe(1);
    two.pubsub.broadcast("everyone");
    await tick();
    expect(a.received).toEqual(["hello", "everyone"]);
    expect(b.received).toEqual(["hello", "everyone"]);
    expect(c.received).toEqual(["everyone"]);
    await one.close(100);
    expect(broker.size).toBe(1);
  });

  it("a broker that cannot publish fails the publish before anything is delivered", async () => {
    const core = server({
      broker: {
        attach: () => ({
          publish() {
            throw new BrokerError("BROKER_UNAVAILABLE", "Cannot publish: the broker is down");
          },
          subscribe() {},
          unsubscribe() {},
          detach: () => Promise.resolve(),
        }),
      },
    });
    const a = connect(core);
    a.socket.subscribe("t");
    expect(() => core.pubsub.publish("t", "lost?")).toThrow(BrokerError);
    await tick();
    expect(a.received).toEqual([]);
  });
});

/** Heap bytes in use after a full collection, where the runtime lets a test force one. */
function heapAfterGc(): number | undefined {
  const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;
  if (bun !== undefined) bun.gc(true);
  else if (forceGc !== undefined) forceGc();
  else return undefined;
  const runtime = globalThis as unknown as { process: { memoryUsage(): { heapUsed: number } } };
  return runtime.process.memoryUsage().heapUsed;
}
