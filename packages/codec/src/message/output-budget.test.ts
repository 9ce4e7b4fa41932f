import { describe, expect, it } from "vitest";
import { ErrorCode, RemoteProtocolError } from "../errors.ts";
import type { Extension, MessageDecoder } from "../extensions/extension.ts";
import { Connection, NEED_DATA, type OutputBudget, PENDING } from "../index.ts";

/**
 * A stand-in for permessage-deflate (RSV1): each frame "inflates" to `factor` bytes per input
 * byte, and, like the real decompressors, fails with 1009 rather than produce more than
 * `maxOutput`.
 */
function inflating(factor: number, seen: number[]): Extension {
  const decoder: MessageDecoder = {
    push(piece, _last, maxOutput) {
      seen.push(maxOutput);
      const size = piece.length * factor;
      if (size > maxOutput)
        throw new RemoteProtocolError(ErrorCode.MessageTooBig, 1009, `inflates past ${maxOutput}`);
      return [new Uint8Array(size)];
    },
  };
  return {
    name: "test-inflate",
    rsvMask: 0x40,
    params: [],
    decodeMessage: () => decoder,
    encodeMessage: () => undefined,
  };
}

/** A masked binary frame with RSV1 set (the peer's compressed message). */
function compressedFrame(payload: Uint8Array, fin = true): Uint8Array {
  const header = [(fin ? 0x80 : 0) | 0x40 | 0x2, 0x80 | payload.length, 0, 0, 0, 0];
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

class CountingBudget implements OutputBudget {
  left: number;
  taken = 0;
  constructor(left: number) {
    this.left = left;
  }
  take(wanted: number): number {
    const granted = Math.min(wanted, this.left);
    this.left -= granted;
    this.taken += granted;
    return granted;
  }
  give(granted: number): void {
    this.left += granted;
    this.taken -= granted;
  }
}

describe("OutputBudget", () => {
  it("gives an extension only the room the shared budget has, and fails a message past it with 1009", () => {
    const seen: number[] = [];
    const budget = new CountingBudget(1000);
    const server = new Connection({
      role: "server",
      extensions: [inflating(100, seen)],
      outputBudget: budget,
    });
    server.receive(compressedFrame(new Uint8Array(5))); // 500 bytes: fits
    const first = server.nextEvent();
    expect(first).toMatchObject({ type: "binary" });
    expect((first as { data: Uint8Array }).data.length).toBe(500);
    expect(budget.taken).toBe(0); // the room is given back once the output exists
    server.receive(compressedFrame(new Uint8Array(20))); // 2000 bytes: more than the budget
    const failed = server.nextEvent();
    expect(failed).toMatchObject({ type: "failed" });
    const error = (failed as { error: RemoteProtocolError }).error;
    expect(error.closeCode).toBe(1009);
    expect(error.message).toContain("memory the server can give it now");
    expect(seen).toEqual([1000, 1000]);
    expect(budget.taken).toBe(0);
  });

  it("counts the held bytes of a fragmented message until it is whole", () => {
    const server = new Connection({ role: "server", extensions: [inflating(10, [])] });
    server.receive(compressedFrame(new Uint8Array(10), false));
    expect(server.nextEvent()).toBe(NEED_DATA);
    // The 100 bytes, in a tail buffer with room to grow (its whole capacity is counted).
    expect(server.heldMessageBytes).toBeGreaterThanOrEqual(100);
    expect(server.heldMessageBytes).toBeLessThanOrEqual(1024);
    // A continuation frame (no RSV bits), fin.
    server.receive(new Uint8Array([0x80, 0x80 | 3, 0, 0, 0, 0, 1, 2, 3]));
    expect(server.nextEvent()).toMatchObject({ type: "binary" });
    expect(server.heldMessageBytes).toBe(0);
  });

  it("reserves what a step can output when the extension bounds it, so pending asynchronous steps share the budget", async () => {
    // An asynchronous inflater (as node:zlib on Deno) that outputs at most 10 bytes per input
    // byte: each pending step holds its reservation until it settles.
    const seen: number[] = [];
    const pending: (() => void)[] = [];
    const decoder: MessageDecoder = {
      push(piece, _last, maxOutput) {
        seen.push(maxOutput);
        return new Promise((resolve) => pending.push(() => resolve([new Uint8Array(piece.length * 10)])));
      },
      maxOutputFor: (inputLength) => inputLength * 10,
    };
    const extension: Extension = {
      name: "test-inflate",
      rsvMask: 0x40,
      params: [],
      decodeMessage: () => decoder,
      encodeMessage: () => undefined,
    };
    const budget = new CountingBudget(1000);
    // Five connections, each with a 20-byte compressed message in flight: 5 × 200 bytes fit in
    // the budget of 1000 only because each reserves its bound, not the 64 MiB message limit.
    const connections = Array.from(
      { length: 5 },
      () => new Connection({ role: "server", extensions: [extension], outputBudget: budget }),
    );
    for (const connection of connections) {
      connection.receive(compressedFrame(new Uint8Array(20)));
      connection.nextEvent();
    }
    expect(seen).toEqual([200, 200, 200, 200, 200]);
    expect(budget.taken).toBe(1000);
    for (const settle of pending) settle();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(budget.taken).toBe(0);
    for (const connection of connections) expect(connection.nextEvent()).toMatchObject({ type: "binary" });
  });

  it("without a budget, the message limit alone bounds the output", () => {
    const seen: number[] = [];
    const server = new Connection({
      role: "server",
      extensions: [inflating(100, seen)],
      limits: { maxMessageSize: 4096 },
    });
    server.receive(compressedFrame(new Uint8Array(5)));
    expect(server.nextEvent()).toMatchObject({ type: "binary" });
    expect(seen).toEqual([4096]);
  });

  it("fail() from the host drops the message in progress, and nothing more is read or reported", () => {
    const server = new Connection({ role: "server", extensions: [inflating(10, [])] });
    server.receive(compressedFrame(new Uint8Array(100), false));
    expect(server.nextEvent()).toBe(NEED_DATA);
    expect(server.inMessage).toBe(true);
    expect(server.heldMessageBytes).toBeGreaterThanOrEqual(1000);
    const error = new RemoteProtocolError(ErrorCode.MessageTooBig, 1009, "too big for the host");
    expect(server.fail(error)).toBe(true);
    expect(server.failure).toBe(error);
    expect(server.inMessage).toBe(false);
    expect(server.heldMessageBytes).toBe(0);
    // The rest of the message is not read, and the host is not told what it already knows.
    server.receive(new Uint8Array([0x80, 0x80 | 3, 0, 0, 0, 0, 1, 2, 3]));
    expect(server.nextEvent()).toBe(NEED_DATA);
    // The one frame left to send is the close frame with the failure's code.
    const close = server.send({ type: "close", code: 1009, reason: "" });
    expect(close).not.toBeInstanceOf(Promise);
    expect(server.state).toBe("failed");
    expect(server.fail(error)).toBe(false); // once only
  });

  it("fail() while an asynchronous step decodes the message: the message is not delivered", async () => {
    const pending: (() => void)[] = [];
    const decoder: MessageDecoder = {
      push: (piece) =>
        new Promise((resolve) => pending.push(() => resolve([new Uint8Array(piece.length * 10)]))),
    };
    const extension: Extension = {
      name: "test-inflate",
      rsvMask: 0x40,
      params: [],
      decodeMessage: () => decoder,
      encodeMessage: () => undefined,
    };
    const server = new Connection({ role: "server", extensions: [extension] });
    server.receive(compressedFrame(new Uint8Array(20)));
    expect(server.nextEvent()).toBe(PENDING);
    expect(server.fail(new RemoteProtocolError(ErrorCode.MessageTooBig, 1009, "too big"))).toBe(true);
    for (const settle of pending) settle();
    await server.pending;
    expect(server.nextEvent()).toBe(NEED_DATA);
    expect(server.heldMessageBytes).toBe(0);
  });

  it("fail() does nothing once frames are no longer read (the peer's close frame came)", () => {
    const server = new Connection({ role: "server" });
    server.receive(new Uint8Array([0x88, 0x80 | 2, 0, 0, 0, 0, 0x03, 0xe8]));
    expect(server.nextEvent()).toMatchObject({ type: "close", code: 1000 });
    expect(server.fail(new RemoteProtocolError(ErrorCode.MessageTooBig, 1009, "too big"))).toBe(false);
    expect(server.failure).toBe(undefined);
  });
});
