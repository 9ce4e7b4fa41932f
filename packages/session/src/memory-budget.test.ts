import { Connection } from "@ws/codec";
import { describe, expect, it } from "vitest";
import { MemoryBudget, PRESSURE_CHECK_INTERVAL, PRESSURE_STALL } from "./memory-budget.ts";
import { type MemoryTransport, memoryTransportPair } from "./memory-transport.ts";
import { Session } from "./session.ts";

const KiB = 1024;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A server session under `budget` and its client, both started; the client reads nothing when `reads` is false. */
function pair(budget: MemoryBudget, reads = true) {
  const [clientTransport, serverTransport] = memoryTransportPair();
  const client = new Session(clientTransport, { role: "client" });
  const server = new Session(serverTransport, {
    role: "server",
    budget,
    // The per-connection limit is out of the way: this is about the server-wide one.
    limits: { maxBufferedAmount: 64 * 1024 * KiB },
  });
  clientTransport.receiver = client;
  serverTransport.receiver = server;
  const errors: string[] = [];
  server.handler = { error: (error) => errors.push((error as { code?: string }).code ?? "") };
  server.start();
  client.start();
  if (!reads) client.pause();
  return { client, server, clientTransport, serverTransport, errors };
}

describe("MemoryBudget", () => {
  it("drops the connections that hold the most, biggest first, until the total is within the budget", async () => {
    const budget = new MemoryBudget(1024 * KiB);
    const slow = [pair(budget, false), pair(budget, false), pair(budget, false)];
    const chunk = new Uint8Array(100 * KiB);
    // Round robin, the first peer getting one more message: 900 + 800 + 800 KiB, nobody reads.
    slow[0]?.server.send(chunk);
    for (let round = 0; round < 8; round++) for (const peer of slow) peer.server.send(chunk);
    expect(budget.total).toBeGreaterThan(budget.limit);
    await sleep(0);
    expect(budget.total).toBeLessThanOrEqual(budget.limit);
    expect(budget.shed).toBe(2);
    const [first, second, third] = slow.map((peer) => peer.server);
    // The biggest (the first) went first; then one of the two others.
    expect(first?.state).toBe("closed");
    expect(first?.closeInfo).toMatchObject({ code: 1006, wasClean: false });
    expect(first?.closeInfo?.error).toMatchObject({ code: "MEMORY_BUDGET" });
    expect(slow[0]?.errors).toEqual(["MEMORY_BUDGET"]);
    expect([second?.state, third?.state].sort()).toEqual(["closed", "open"]);
    // What the open one holds is what the budget counts.
    const open = [second, third].find((s) => s?.state === "open") as Session;
    expect(budget.total).toBe(open.bufferedAmount);
    open.terminate();
    expect(budget.total).toBe(0);
  });

  it("over 3/4 of the budget, stops reading from peers that send, and reads again under 1/2", async () => {
    const budget = new MemoryBudget(1024 * KiB);
    const slow = pair(budget, false);
    const talker = pair(budget);
    const echoed: number[] = [];
    talker.server.handler = { message: (data) => echoed.push(data.length) };
    slow.server.send(new Uint8Array(800 * KiB)); // 78 % of the budget, not over it
    expect(budget.pressure).toBe(true);
    talker.client.send(new Uint8Array(10));
    await sleep(0);
    // The message that arrived is delivered; reading stops after it.
    expect(echoed).toEqual([10]);
    expect((talker.serverTransport as MemoryTransport).paused).toBe(true);
    talker.client.send(new Uint8Array(20));
    await sleep(0);
    expect(echoed).toEqual([10]); // waits in the (paused) transport
    expect(slow.server.state).toBe("open"); // not over the budget: nobody dropped
    slow.client.resume(); // the slow peer reads: the server's buffer empties
    await sleep(PRESSURE_CHECK_INTERVAL * 3);
    expect(budget.pressure).toBe(false);
    expect(talker.serverTransport.paused).toBe(false);
    expect(echoed).toEqual([10, 20]);
    slow.server.terminate();
    talker.server.terminate();
    budget.stop();
  });

  it("when the total stops falling under pressure, drops the biggest holder and lets the others read again", async () => {
    const budget = new MemoryBudget(1024 * KiB);
    const slow = pair(budget, false);
    const talker = pair(budget);
    const got: number[] = [];
    talker.server.handler = { message: (data) => got.push(data.length) };
    slow.server.send(new Uint8Array(800 * KiB)); // over 3/4, and its peer never reads
    talker.client.send(new Uint8Array(10));
    await sleep(PRESSURE_CHECK_INTERVAL * 2);
    expect(talker.serverTransport.paused).toBe(true);
    expect(slow.server.state).toBe("open");
    talker.client.send(new Uint8Array(20));
    await sleep(PRESSURE_STALL + PRESSURE_CHECK_INTERVAL * 4);
    expect(slow.server.closeInfo?.error).toMatchObject({ code: "MEMORY_BUDGET" });
    expect(budget.shed).toBe(1);
    expect(budget.pressure).toBe(false);
    expect(talker.serverTransport.paused).toBe(false);
    expect(got).toEqual([10, 20]);
    talker.server.terminate();
    budget.stop();
  });

  it("a session's own pause() and the budget's pause do not undo each other", async () => {
    const budget = new MemoryBudget(1024 * KiB);
    const slow = pair(budget, false);
    const talker = pair(budget);
    slow.server.send(new Uint8Array(800 * KiB));
    talker.client.send("x");
    await sleep(0);
    expect(talker.serverTransport.paused).toBe(true);
    talker.server.pause();
    talker.server.resume(); // the application resumes; the budget still holds it
    expect(talker.serverTransport.paused).toBe(true);
    talker.server.pause(); // and the other way round
    slow.client.resume();
    await sleep(PRESSURE_CHECK_INTERVAL * 3);
    expect(budget.pressure).toBe(false);
    expect(talker.serverTransport.paused).toBe(true);
    talker.server.resume();
    expect(talker.serverTransport.paused).toBe(false);
    slow.server.terminate();
    talker.server.terminate();
    budget.stop();
  });

  it("counts received bytes held for a message in progress", async () => {
    const budget = new MemoryBudget(1024 * KiB);
    const peer = pair(budget);
    // The first frame of a fragmented message, 300 KiB, and no more.
    const stream = peer.client.sendStream(
      (async function* () {
        yield new Uint8Array(300 * KiB);
        yield new Uint8Array(1); // a piece goes out once the next one is known (fin or not)
        await sleep(1000);
      })(),
    );
    void stream;
    await sleep(20);
    expect(peer.server.inboundBufferedAmount).toBeGreaterThanOrEqual(300 * KiB);
    expect(budget.total).toBe(peer.server.inboundBufferedAmount);
    peer.server.terminate();
    expect(budget.total).toBe(0);
  });

  it("refuses a message still arriving with 1009 instead of dropping its connection when it is most of what that one holds", async () => {
    const budget = new MemoryBudget(1024 * KiB);
    const peer = pair(budget);
    const clientClosed = peer.client.closed;
    // One message in 300 KiB fragments: past 3/4 of the budget (the third fragment) reading
    // from this peer stops in the middle of it, and the total stops falling.
    const stream = peer.client.sendStream(
      (async function* () {
        for (let i = 0; i < 8; i++) {
          yield new Uint8Array(300 * KiB);
          await sleep(5);
        }
      })(),
    );
    stream.catch(() => {});
    await sleep(50);
    expect(peer.serverTransport.paused).toBe(true);
    expect(peer.server.connection.heldMessageBytes).toBeGreaterThanOrEqual(768 * KiB);
    await sleep(PRESSURE_STALL + PRESSURE_CHECK_INTERVAL * 4);
    // The stall rule picked it; the message, not the connection, is what the budget cannot hold.
    expect(budget.shed).toBe(1);
    expect(peer.errors).toEqual(["MESSAGE_TOO_BIG"]);
    // The close handshake ran (reading resumed to take the reply): the peer got 1009.
    expect((await clientClosed).code).toBe(1009);
    expect(peer.server.closeInfo).toMatchObject({ code: 1006, wasClean: false });
    expect(peer.server.closeInfo?.error).toMatchObject({ code: "MESSAGE_TOO_BIG", closeCode: 1009 });
    expect(budget.total).toBe(0);
    expect(budget.pressure).toBe(false);
    budget.stop();
  });

  it("shares the room for inflation: the first step may take all that is left, concurrent ones half", () => {
    const budget = new MemoryBudget(1000);
    expect(budget.take(300)).toBe(300);
    expect(budget.take(10_000)).toBe(350); // (1000 - 300) / 2
    expect(budget.take(10_000)).toBe(175);
    budget.give(300);
    budget.give(350);
    budget.give(175);
    expect(budget.total).toBe(0);
    expect(budget.take(10_000)).toBe(1000);
  });

  describe("bytes a runtime delivers while reading is paused for the budget (Bun reads a paused socket to its end on a reset)", () => {
    /** A client's masked binary frames carrying `sizes` bytes each, as one chunk per frame. */
    function frames(...sizes: number[]): Uint8Array[] {
      const client = new Connection({ role: "client" });
      return sizes.map((size) => {
        // Without extensions the codec encodes at once (no promise).
        const parts = client.send({
          type: "binary",
          data: new Uint8Array(size).fill(size % 251),
        }) as Uint8Array[];
        const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
        let at = 0;
        for (const part of parts) {
          bytes.set(part, at);
          at += part.length;
        }
        return bytes;
      });
    }

    /** A session paused for the budget (a peer that never reads holds 80 % of it). */
    async function pausedTalker() {
      const budget = new MemoryBudget(1024 * KiB);
      const slow = pair(budget, false);
      const talker = pair(budget);
      const got: number[] = [];
      const closes: number[] = [];
      talker.server.handler = {
        message: (data) => got.push(data.length),
        close: (info) => closes.push(info.code),
      };
      slow.server.send(new Uint8Array(800 * KiB));
      talker.client.send(new Uint8Array(10));
      await sleep(0);
      expect(got).toEqual([10]);
      expect(talker.serverTransport.paused).toBe(true);
      return { budget, slow, talker, got, closes };
    }

    it("are not decoded, are counted in the budget, and are dropped when the connection resets", async () => {
      const { budget, slow, talker, got } = await pausedTalker();
      const before = budget.total;
      for (const chunk of frames(1000, 2000, 3000)) talker.server.onData(chunk);
      expect(got).toEqual([10]); // nothing decoded, nothing answered
      expect(talker.server.inboundBufferedAmount).toBeGreaterThanOrEqual(6000);
      expect(budget.total).toBeGreaterThanOrEqual(before + 6000);
      talker.server.onError(new Error("read ECONNRESET"));
      await sleep(0);
      expect(got).toEqual([10]);
      expect(talker.server.closeInfo).toMatchObject({ code: 1006 });
      expect(budget.total).toBe(before); // freed with the connection
      slow.server.terminate();
      budget.stop();
    });

    it("drop the connection once more than receiveHighWaterMark of them wait", async () => {
      const { budget, slow, talker, got } = await pausedTalker();
      const errors: string[] = [];
      talker.server.handler = { ...talker.server.handler, error: (error) => errors.push(error.message) };
      for (const chunk of frames(300 * KiB, 300 * KiB, 300 * KiB)) talker.server.onData(chunk);
      expect(talker.server.state).toBe("open"); // 900 KiB: within the default 1 MiB
      talker.server.onData(frames(300 * KiB)[0] as Uint8Array);
      // Dropped at once, inside the transport's callback (which closes the transport: a runtime
      // reading a paused socket stops there).
      expect(talker.server.state).toBe("closed");
      expect(talker.serverTransport.destroyed).toBe(true);
      expect(talker.server.closeInfo?.error).toMatchObject({ code: "MEMORY_BUDGET" });
      expect(errors[0]).toMatch(/receiveHighWaterMark \(1048576 bytes\)/);
      expect(got).toEqual([10]);
      slow.server.terminate();
      budget.stop();
    });

    it("are delivered in order when reading resumes", async () => {
      const { budget, slow, talker, got } = await pausedTalker();
      for (const chunk of frames(1000, 2000)) talker.server.onData(chunk);
      expect(got).toEqual([10]);
      talker.client.send(new Uint8Array(3000)); // waits in the paused transport, after them
      slow.client.resume(); // the pressure ends
      await sleep(PRESSURE_CHECK_INTERVAL * 3);
      expect(budget.pressure).toBe(false);
      expect(got).toEqual([10, 1000, 2000, 3000]);
      expect(talker.serverTransport.paused).toBe(false);
      slow.server.terminate();
      talker.server.terminate();
      budget.stop();
    });

    it("are delivered in order before the end when the peer ends the connection, once reading resumes", async () => {
      const { budget, slow, talker, got, closes } = await pausedTalker();
      for (const chunk of frames(1000, 2000)) talker.server.onData(chunk);
      talker.server.onEnd();
      await sleep(20);
      // Still held: the end waits behind them, as bytes not yet read would.
      expect(got).toEqual([10]);
      expect(talker.server.state).toBe("open");
      slow.client.resume(); // the pressure ends
      await sleep(PRESSURE_CHECK_INTERVAL * 3);
      expect(budget.pressure).toBe(false);
      expect(got).toEqual([10, 1000, 2000]);
      expect(closes).toEqual([1006]); // the end came without a close frame
      slow.server.terminate();
      budget.stop();
    });
  });
});
