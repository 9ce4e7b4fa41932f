/**
 * The fair turns' tick on Deno (src/after-io.ts): a loopback pair while a server listens, with no
 * timer; sockets get in between its steps; the timer without the permission to connect to
 * 127.0.0.1; and no callback lost when the last server closes during a step.
 */
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import { expect } from "expect";
import { countZeroTimers } from "../../../tools/test-support/zero-timers.ts";
import { loopbackTick } from "../src/after-io.ts";
import { WebSocketServer } from "../src/mod.ts";
import { type Defer, type RawClient, rawClient, rawFrame, startEchoServer, test } from "./helpers.ts";

const OP_BINARY = 2;

/** One tick. */
function step(): Promise<void> {
  return new Promise((resolve) => loopbackTick.afterIo(resolve));
}

/** Steps until one comes without a timer (the pair is open); fails after `limit` steps. */
async function untilPairOpen(limit = 200): Promise<void> {
  for (let i = 0; i < limit; i++) if ((await countZeroTimers(step)) === 0) return;
  throw new Error("the loopback pair did not open");
}

/** `count` binary messages of `size` bytes in one write; resolves when all echoes are back, intact. */
async function flood(port: number, count: number, size: number): Promise<void> {
  const client = await rawClient(port);
  try {
    await client.head();
    const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
    const frame = rawFrame(OP_BINARY, payload);
    const all = new Uint8Array(frame.length * count);
    for (let i = 0; i < count; i++) all.set(frame, i * frame.length);
    for (let offset = 0; offset < all.length; ) offset += await client.conn.write(all.subarray(offset));
    const frames = await client.waitFrames(count);
    expect(frames.length).toBe(count);
    for (const frame of frames) expect(frame.payload).toStrictEqual(payload);
  } finally {
    client.conn.close();
  }
}

test("a server's floods wait for their turns on the loopback pair, with no timer", async (defer) => {
  const { port } = defer(await startEchoServer(), (s) => s.close());
  // The first ticks are timers while the pair opens.
  await flood(port, 8, 256 * 1024);
  await untilPairOpen();
  // 16 × 256 KiB is 64 slices of received bytes: the sessions wait for many ticks.
  const zeroTimers = await countZeroTimers(() => flood(port, 16, 256 * 1024));
  expect(zeroTimers).toBe(0);
});

test("sockets are read between two steps of the loopback pair", async (defer) => {
  defer(await startEchoServer(), (s) => s.close());
  await untilPairOpen();
  // A plain TCP connection of the test's own: one byte is written while a chain of busy steps
  // runs; its read must complete within a step or two (Deno's immediates hold it back for
  // dozens).
  const listener = defer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), (l) => l.close());
  const accepted = listener.accept();
  const writer = defer(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }), (c) =>
    c.close(),
  );
  const reader = defer(await accepted, (c) => c.close());
  let steps = 0;
  let readAtStep = -1;
  const read = reader.read(new Uint8Array(1)).then(() => {
    readAtStep = steps;
  });
  await writer.write(new Uint8Array([1]));
  const wroteAtStep = steps;
  while (readAtStep === -1 && steps < 200) {
    await step();
    steps++;
    // Each step keeps the loop busy for a while, as a flood's turn does.
    const until = performance.now() + 1;
    while (performance.now() < until);
  }
  await read;
  expect(readAtStep - wroteAtStep).toBeLessThanOrEqual(2);
});

test("the last server's close during a step still calls back (by the timer)", async () => {
  const server = await startEchoServer();
  await untilPairOpen();
  let called = false;
  loopbackTick.afterIo(() => {
    called = true;
  });
  await server.close();
  for (let i = 0; i < 100 && !called; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(called).toBe(true);
});

Deno.test({
  name: "without the permission to connect to 127.0.0.1, the tick is the timer",
  permissions: { net: ["localhost"] },
  async fn() {
    const server = new WebSocketServer({ host: "localhost", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    try {
      let zeroTimers = 0;
      for (let i = 0; i < 20; i++) zeroTimers += await countZeroTimers(step);
      expect(zeroTimers).toBe(20);
    } finally {
      await server.close();
    }
  },
});

/** A raw client of `port` that offers permessage-deflate (RFC 7692), after the 101. */
async function deflateClient(port: number): Promise<RawClient> {
  const client = await rawClient(
    port,
    "/",
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
  );
  expect(await client.head()).toContain("permessage-deflate");
  return client;
}

/**
 * A compressed binary frame of 16 MiB of zeros (about 16 KiB on the wire, RFC 7692 §7.2.1:
 * without the 00 00 ff ff tail): large enough to be inflated in turns of the event loop.
 */
function inflatingFrame(): Uint8Array {
  const compressed = deflateRawSync(new Uint8Array(16 * 1024 * 1024), {
    finishFlush: zlibConstants.Z_SYNC_FLUSH,
  });
  return rawFrame(OP_BINARY, compressed.subarray(0, compressed.length - 4), { rsv: 0x40 });
}

/** A listening server with permessage-deflate that counts the messages it receives. */
async function countingServer(defer: Defer): Promise<{
  port: number;
  received: () => number;
  serverSide: () => {
    pause(): void;
    resume(): void;
    readonly connection: { readonly bufferedAmount: number };
  };
}> {
  let received = 0;
  let session: ReturnType<Awaited<ReturnType<typeof countingServer>>["serverSide"]> | undefined;
  const server = defer(new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true }), (s) =>
    s.close(),
  );
  server.on("connection", (ws) => {
    session = ws.session;
    ws.addEventListener("message", () => {
      received++;
    });
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    received: () => received,
    serverSide: () => session as NonNullable<typeof session>,
  };
}

/** Waits (with 5 ms timers) until `received()` reaches `total`. */
async function until(received: () => number, total: number): Promise<void> {
  for (let i = 0; i < 2000 && received() < total; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(received()).toBe(total);
}

test("a message inflated in turns waits for the loopback pair, with no timer", async (defer) => {
  const server = await countingServer(defer);
  await untilPairOpen();
  const client = defer(await deflateClient(server.port), (c) => c.conn.close());
  const frame = inflatingFrame();
  const zeroTimers = await countZeroTimers(async () => {
    await client.conn.write(frame);
    await until(server.received, 1);
  });
  expect(zeroTimers).toBe(0);
});

test("while a message inflates, the megabytes queued behind it are read in bursts, other sockets in between", async (defer) => {
  const server = await countingServer(defer);
  await untilPairOpen();
  const client = defer(await deflateClient(server.port), (c) => c.conn.close());
  // 4 MiB of plain messages follow the inflating one, which the session decodes nothing else
  // behind while it inflates.
  const inflating = inflatingFrame();
  const plain = rawFrame(OP_BINARY, new Uint8Array(64 * 1024));
  const count = 64;
  const all = new Uint8Array(inflating.length + plain.length * count);
  all.set(inflating);
  for (let i = 0; i < count; i++) all.set(plain, inflating.length + i * plain.length);
  const send = async (): Promise<void> => {
    for (let offset = 0; offset < all.length; ) offset += await client.conn.write(all.subarray(offset));
  };
  // A first round lets the connection's receive window grow; in the second, the kernel queues
  // the bytes while the server does not read.
  await send();
  await until(server.received, count + 1);
  const side = server.serverSide();
  side.pause();
  const sent = send();
  await new Promise((resolve) => setTimeout(resolve, 100));
  // A TCP connection of the test's own, echoing one byte back and forth: each round needs Deno
  // to poll its sockets; each round notes how many bytes the server read since the last one
  // (received and not decoded yet: nothing is decoded while the first message inflates).
  const listener = defer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), (l) => l.close());
  const accepted = listener.accept();
  const writer = defer(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }), (c) =>
    c.close(),
  );
  const reader = defer(await accepted, (c) => c.close());
  let largest = 0;
  let reading = true;
  const pingPong = (async () => {
    const byte = new Uint8Array(1);
    let last = side.connection.bufferedAmount;
    while (reading) {
      await writer.write(byte);
      await reader.read(byte);
      const now = side.connection.bufferedAmount;
      largest = Math.max(largest, now - last);
      last = now;
    }
  })();
  side.resume();
  await until(server.received, 2 * (count + 1));
  reading = false;
  await pingPong;
  await sent;
  // Read at once, the megabytes queued behind the inflating message would arrive between two
  // rounds.
  expect(largest).toBeLessThanOrEqual(1024 * 1024);
});
