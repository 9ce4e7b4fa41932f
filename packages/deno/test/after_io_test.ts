/**
 * The fair turns' tick on Deno (src/after-io.ts): a loopback pair while a server listens, with no
 * timer; sockets get in between its steps; the timer without the permission to connect to
 * 127.0.0.1; and no callback lost when the last server closes during a step.
 */
import { expect } from "expect";
import { countZeroTimers } from "../../../tools/test-support/zero-timers.ts";
import { loopbackTick } from "../src/after-io.ts";
import { WebSocketServer } from "../src/mod.ts";
import { rawClient, rawFrame, startEchoServer, test } from "./helpers.ts";

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
