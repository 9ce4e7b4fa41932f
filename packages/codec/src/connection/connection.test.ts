import { describe, expect, it } from "vitest";
import { concatBytes, drain, feed, hex, sync } from "../../test/helpers.ts";
import { FRAME_EXAMPLES } from "../../test/vectors/rfc6455.ts";
import { LocalProtocolError } from "../errors.ts";
import type { Extension } from "../extensions/extension.ts";
import { encodeFrame } from "../frame/encode.ts";
import { Connection, closeReplyFor, NEED_DATA, pongFor } from "./connection.ts";
import { ConnectionState, TRANSITIONS } from "./states.ts";

const KEY = hex("37fa213d");
const fixedRandom = (target: Uint8Array) => {
  for (let i = 0; i < target.length; i++) target[i] = KEY[i & 3] as number;
};
const utf8 = (text: string) => new TextEncoder().encode(text);
const masked = (opcode: number, payload: Uint8Array, fin = true, rsv = 0) =>
  concatBytes(encodeFrame({ opcode, payload, fin, rsv, maskingKey: KEY }));
const pair = () => ({
  client: new Connection({ role: "client" }),
  server: new Connection({ role: "server" }),
});
const pipe = (from: Uint8Array[] | Promise<Uint8Array[]>, to: Connection) => {
  for (const bytes of sync(from)) to.receive(bytes.slice());
  return drain(to);
};

describe("Connection", () => {
  it("receives the RFC 6455 §5.7 masked text message as a server", () => {
    expect(feed(new Connection({ role: "server" }), [hex(FRAME_EXAMPLES.maskedText)])).toEqual([
      { type: "text", data: "Hello" },
    ]);
  });

  it("sends the RFC 6455 §5.7 masked text message as a client with a given masking key", () => {
    const client = new Connection({ role: "client", random: fixedRandom });
    expect(concatBytes(sync(client.send({ type: "text", data: "Hello" })))).toEqual(
      hex(FRAME_EXAMPLES.maskedText),
    );
  });

  it("masks each frame with the next 4 bytes of its random source, across refills and connections", () => {
    // A counter as the random source: frame n's key must be bytes 4n..4n+3 of its stream. The
    // pool holds 8192 bytes (2048 keys), so 2050 frames cross a refill; two clients
    // interleaved check that one's key never leaks into the other's frame.
    const counting = () => {
      let next = 0;
      return (target: Uint8Array) => {
        for (let i = 0; i < target.length; i++) target[i] = next++ & 0xff;
      };
    };
    const clients = [
      new Connection({ role: "client", random: counting() }),
      new Connection({ role: "client", random: counting() }),
    ];
    const payload = utf8("masked");
    for (let n = 0; n < 2050; n++) {
      for (const client of clients) {
        const [frame] = sync(client.send({ type: "binary", data: payload }));
        const key = [4 * n, 4 * n + 1, 4 * n + 2, 4 * n + 3].map((byte) => byte & 0xff);
        expect(Array.from((frame as Uint8Array).subarray(2, 6))).toEqual(key);
        expect((frame as Uint8Array).subarray(6).map((byte, i) => byte ^ (key[i & 3] as number))).toEqual(
          payload,
        );
      }
    }
  });

  it("sends text given as UTF-8 bytes as it is: the same frame as the string", () => {
    const fromString = new Connection({ role: "client", random: fixedRandom });
    const fromBytes = new Connection({ role: "client", random: fixedRandom });
    expect(concatBytes(sync(fromBytes.send({ type: "text", data: utf8("Hello") })))).toEqual(
      concatBytes(sync(fromString.send({ type: "text", data: "Hello" }))),
    );
    expect(concatBytes(sync(fromBytes.send({ type: "text", data: utf8("€uro") })))).toEqual(
      concatBytes(sync(fromString.send({ type: "text", data: "€uro" }))),
    );
  });

  it("assembles the RFC 6455 §5.7 fragmented text message with a ping in between", () => {
    const [first, second] = FRAME_EXAMPLES.fragmentedText.map(hex);
    const events = feed(new Connection({ role: "client" }), [
      first as Uint8Array,
      hex(FRAME_EXAMPLES.unmaskedPing),
      second as Uint8Array,
    ]);
    expect(events).toEqual([
      { type: "ping", payload: utf8("Hello") },
      { type: "text", data: "Hello" },
    ]);
  });

  it("returns NEED_DATA until a frame is complete", () => {
    const conn = new Connection({ role: "client" });
    conn.receive(hex("810548656c"));
    expect(conn.nextEvent()).toBe(NEED_DATA);
    conn.receive(hex("6c6f"));
    expect(conn.nextEvent()).toEqual({ type: "text", data: "Hello" });
  });

  it("fails with 1002 on a continuation frame without a message", () => {
    const [event] = feed(new Connection({ role: "server" }), [masked(0, utf8("x"))]);
    expect(event).toMatchObject({
      type: "failed",
      error: { code: "UNEXPECTED_CONTINUATION", closeCode: 1002 },
    });
  });

  it("fails with 1002 on a new data frame inside a fragmented message", () => {
    const events = feed(new Connection({ role: "server" }), [
      masked(1, utf8("a"), false),
      masked(1, utf8("b")),
    ]);
    expect(events).toEqual([
      expect.objectContaining({
        type: "failed",
        error: expect.objectContaining({ code: "EXPECTED_CONTINUATION" }),
      }),
    ]);
  });

  it("fails with 1007 on invalid UTF-8 in the first fragment, before the message ends", () => {
    const events = feed(new Connection({ role: "server" }), [
      masked(1, hex("cebae1bdb9cf83cebcceb5f4908080"), false),
    ]);
    expect(events).toMatchObject([{ type: "failed", error: { code: "INVALID_UTF8", closeCode: 1007 } }]);
  });

  it("fails with 1007 on a text message cut inside a code point", () => {
    const events = feed(new Connection({ role: "server" }), [
      masked(1, hex("e282"), false),
      masked(0, hex("")),
    ]);
    expect(events).toMatchObject([{ type: "failed", error: { closeCode: 1007 } }]);
  });

  it("validates UTF-8 across fragment and chunk boundaries", () => {
    const euro = hex("e282ac");
    const bytes = concatBytes([masked(1, euro.subarray(0, 1), false), masked(0, euro.subarray(1), true)]);
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
    expect(feed(new Connection({ role: "server" }), chunks)).toEqual([{ type: "text", data: "€" }]);
  });

  it("fails with 1009 when a message exceeds maxMessageSize, as soon as the header says so", () => {
    const conn = new Connection({ role: "server", limits: { maxMessageSize: 10 } });
    const events = feed(conn, [
      masked(2, new Uint8Array(6), false),
      masked(0, new Uint8Array(5)).subarray(0, 8),
    ]);
    expect(events).toMatchObject([{ type: "failed", error: { code: "MESSAGE_TOO_BIG", closeCode: 1009 } }]);
  });

  it("fails with 1008 when a message has more fragments than maxFragments", () => {
    const conn = new Connection({ role: "server", limits: { maxFragments: 3 } });
    const frames = [
      masked(2, utf8("a"), false),
      masked(0, utf8("b"), false),
      masked(0, utf8("c"), false),
      masked(0, utf8("d"), false),
    ];
    expect(feed(conn, frames)).toMatchObject([
      { type: "failed", error: { code: "TOO_MANY_FRAGMENTS", closeCode: 1008 } },
    ]);
  });

  it("fails with 1002 on RSV bits on a control frame even when an extension owns them", () => {
    const extension: Extension = {
      name: "x-test",
      rsvMask: 0x40,
      params: [],
      decodeMessage: () => undefined,
      encodeMessage: () => undefined,
    };
    const conn = new Connection({ role: "server", extensions: [extension] });
    expect(feed(conn, [masked(9, new Uint8Array(), true, 0x40)])).toMatchObject([
      { type: "failed", error: { code: "RESERVED_BITS" } },
    ]);
  });

  it("reports a failure once, then only eof", () => {
    const conn = new Connection({ role: "server" });
    conn.receive(hex("8300"));
    expect(conn.nextEvent()).toMatchObject({ type: "failed" });
    // Failing: nothing more is read, only the failing close frame may still be sent (§7.1.7).
    expect([conn.state, conn.canSend, conn.canSendClose]).toEqual(["failing", false, true]);
    conn.receive(masked(1, utf8("ignored")));
    expect(conn.nextEvent()).toBe(NEED_DATA);
    conn.receiveEof();
    expect(conn.nextEvent()).toEqual({ type: "eof", clean: false });
    expect(conn.nextEvent()).toBe(NEED_DATA);
  });

  it("lets the failing endpoint send one close frame after a failure", () => {
    const conn = new Connection({ role: "server" });
    conn.receive(hex("8300"));
    const failed = conn.nextEvent();
    if (typeof failed === "symbol" || failed.type !== "failed") throw new Error("expected failed");
    expect(concatBytes(sync(conn.send({ type: "close", code: failed.error.closeCode })))).toEqual(
      hex("880203ea"),
    );
    expect([conn.state, conn.canSendClose]).toEqual(["failed", false]);
    expect(() => conn.send({ type: "close" })).toThrow(LocalProtocolError);
  });

  describe("close handshake", () => {
    it("completes when the client closes first", () => {
      const { client, server } = pair();
      expect(pipe(client.send({ type: "close", code: 1000, reason: "done" }), server)).toEqual([
        { type: "close", code: 1000, reason: "done" },
      ]);
      expect([client.state, server.state]).toEqual(["closing-local", "closing-remote"]);
      const close = server.closeReceived;
      if (close === undefined) throw new Error("no close");
      expect(pipe(server.send(closeReplyFor(close)), client)).toEqual([
        { type: "close", code: 1000, reason: "" },
      ]);
      expect([client.state, server.state]).toEqual(["closed", "closed"]);
      server.receiveEof();
      client.receiveEof();
      expect(drain(server)).toEqual([{ type: "eof", clean: true }]);
      expect(drain(client)).toEqual([{ type: "eof", clean: true }]);
    });

    it("completes when both sides close at the same time", () => {
      const { client, server } = pair();
      const fromClient = client.send({ type: "close", code: 1001 });
      const fromServer = server.send({ type: "close", code: 1000 });
      expect(pipe(fromClient, server)).toEqual([{ type: "close", code: 1001, reason: "" }]);
      expect(pipe(fromServer, client)).toEqual([{ type: "close", code: 1000, reason: "" }]);
      expect([client.state, server.state]).toEqual(["closed", "closed"]);
    });

    it("reports 1005 for an empty close and replies with an empty close", () => {
      const { client, server } = pair();
      const [event] = pipe(client.send({ type: "close" }), server);
      expect(event).toEqual({ type: "close", code: 1005, reason: "" });
      expect(sync(server.send(closeReplyFor(event as never)))[0]).toEqual(hex("8800"));
    });

    it("ignores everything received after the peer's close frame", () => {
      const { client, server } = pair();
      const bytes = [...sync(client.send({ type: "close", code: 1000 }))];
      bytes.push(masked(1, utf8("late")), hex("ff"));
      expect(pipe(bytes, server)).toEqual([{ type: "close", code: 1000, reason: "" }]);
    });

    it("forbids data after our close frame but allows it while the peer is closing", () => {
      const { client, server } = pair();
      pipe(client.send({ type: "close", code: 1000 }), server);
      expect(() => client.send({ type: "text", data: "x" })).toThrow(LocalProtocolError);
      expect(() => client.send({ type: "ping" })).toThrow(LocalProtocolError);
      expect(server.canSend).toBe(true);
      expect(pipe(server.send({ type: "text", data: "last words" }), client)).toEqual([
        { type: "text", data: "last words" },
      ]);
    });

    it("reports an unclean eof when the transport ends mid-handshake", () => {
      const { client } = pair();
      client.send({ type: "close", code: 1000 });
      client.receiveEof();
      expect(drain(client)).toEqual([{ type: "eof", clean: false }]);
      expect(client.state).toBe("failed");
    });

    it("fails with 1002 on an invalid close code from the peer", () => {
      const events = feed(new Connection({ role: "server" }), [masked(8, hex("03ed"))]);
      expect(events).toMatchObject([
        { type: "failed", error: { code: "INVALID_CLOSE_CODE", closeCode: 1002 } },
      ]);
    });
  });

  it("answers a ping with the same payload through pongFor", () => {
    const { client, server } = pair();
    const [ping] = pipe(client.send({ type: "ping", payload: utf8("rtt") }), server);
    if (ping?.type !== "ping") throw new Error("expected ping");
    expect(pipe(server.send(pongFor(ping)), client)).toEqual([{ type: "pong", payload: utf8("rtt") }]);
  });

  it("refuses pings over 125 bytes and non-string text", () => {
    const { client } = pair();
    expect(() => client.send({ type: "ping", payload: new Uint8Array(126) })).toThrow(RangeError);
    expect(() => client.send({ type: "text", data: 1 as unknown as string })).toThrow(TypeError);
  });

  it("refuses an allocate that is not a function, naming it", () => {
    for (const bad of [0, "new", {}, null]) {
      expect(() => new Connection({ role: "server", allocate: bad as unknown as () => Uint8Array })).toThrow(
        /allocate/,
      );
    }
    expect(() => new Connection({ role: "server", allocate: (size) => new Uint8Array(size) })).not.toThrow();
  });

  it("refuses a copyPayloadsUpTo that is not a non-negative integer, naming it", () => {
    for (const bad of [-1, 1.5, Number.NaN, "64" as unknown as number]) {
      expect(() => new Connection({ role: "server", copyPayloadsUpTo: bad })).toThrow(/copyPayloadsUpTo/);
    }
    expect(() => new Connection({ role: "server", copyPayloadsUpTo: 64 })).not.toThrow();
  });

  it("sends text into a caller's buffer as a server, and declines (0, nothing sent) where send() must frame it", () => {
    const server = new Connection({ role: "server" });
    const target = new Uint8Array(64).fill(0xee);
    const size = server.sendTextInto("€uro", target, 5);
    expect(target.subarray(5, 5 + size)).toEqual(
      concatBytes(sync(server.send({ type: "text", data: "€uro" }))),
    );
    expect(server.sendTextInto("x".repeat(20), target, 5)).toBe(0); // less room than textFrameRoom
    // A client masks its frames.
    expect(new Connection({ role: "client" }).sendTextInto("a", target, 0)).toBe(0);
    // Not between the pieces of another message, nor after a close frame, as send().
    server.send({ type: "binary-piece", data: new Uint8Array(1), last: false });
    expect(() => server.sendTextInto("a", target, 0)).toThrow(LocalProtocolError);
    server.send({ type: "binary-piece", data: new Uint8Array(1), last: true });
    server.send({ type: "close" });
    expect(() => server.sendTextInto("a", target, 0)).toThrow(LocalProtocolError);
  });

  it("sends binary into a caller's buffer, masked as a client, and declines (0, nothing sent) where send() must frame it", () => {
    // Two clients with the same random stream draw the same masking keys.
    const counter = () => {
      let next = 0;
      return (bytes: Uint8Array) => {
        for (let i = 0; i < bytes.length; i++) bytes[i] = next++ & 0xff;
        return bytes;
      };
    };
    const data = new Uint8Array(70000).map((_, i) => (i * 31) & 0xff);
    const viaSend = new Connection({ role: "client", random: counter() });
    const viaInto = new Connection({ role: "client", random: counter() });
    const target = new Uint8Array(70100).fill(0xee);
    for (const size of [0, 5, 126, 70000]) {
      const payload = data.subarray(0, size);
      const written = viaInto.sendBinaryInto(payload, target, 7);
      const expected = concatBytes(sync(viaSend.send({ type: "binary", data: payload })));
      expect(written).toBe(expected.length);
      // every(): toEqual is slow on arrays of 70,000 bytes.
      expect(target.subarray(7, 7 + written).every((b, i) => b === expected[i])).toBe(true);
      expect(target[7 + written]).toBe(0xee);
      // A server reads it back (the key came from this client's stream, §5.3).
      const server = new Connection({ role: "server" });
      server.receive(target.slice(7, 7 + written));
      const events = drain(server);
      expect(events.map((event) => event.type)).toEqual(["binary"]);
      const received = (events[0] as { data: Uint8Array }).data;
      expect(received.length === size && received.every((b, i) => b === payload[i])).toBe(true);
    }
    // A server's frame is not masked.
    const server = new Connection({ role: "server" });
    expect(server.sendBinaryInto(data.subarray(0, 3), target, 0)).toBe(5);
    expect([...target.subarray(0, 5)]).toEqual([0x82, 3, data[0], data[1], data[2]]);
    expect(server.sendBinaryInto(data.subarray(0, 3), target, target.length - 4)).toBe(0); // no room
    expect(() => server.sendBinaryInto("a" as unknown as Uint8Array, target, 0)).toThrow(TypeError);
    const extension: Extension = {
      name: "x-test",
      rsvMask: 0x40,
      params: [],
      decodeMessage: () => undefined,
      encodeMessage: () => undefined,
    };
    expect(new Connection({ role: "client", extensions: [extension] }).sendBinaryInto(data, target, 0)).toBe(
      0,
    );
    // Not between the pieces of another message, nor after a close frame, as send().
    server.send({ type: "binary-piece", data: new Uint8Array(1), last: false });
    expect(() => server.sendBinaryInto(data.subarray(0, 1), target, 0)).toThrow(LocalProtocolError);
    server.send({ type: "binary-piece", data: new Uint8Array(1), last: true });
    server.send({ type: "close" });
    expect(() => server.sendBinaryInto(data.subarray(0, 1), target, 0)).toThrow(LocalProtocolError);
  });

  it("sends a message in pieces and refuses another message in between", () => {
    const { client, server } = pair();
    const bytes = [...sync(client.send({ type: "text-piece", data: "Hel", last: false }))];
    expect(() => client.send({ type: "binary", data: new Uint8Array(1) })).toThrow(LocalProtocolError);
    bytes.push(...client.send({ type: "ping" }));
    bytes.push(...sync(client.send({ type: "text-piece", data: "lo", last: true })));
    expect(pipe(bytes, server)).toEqual([
      { type: "ping", payload: new Uint8Array() },
      { type: "text", data: "Hello" },
    ]);
  });

  it("delivers pieces in streaming mode with first/last flags", () => {
    const client = new Connection({ role: "client" });
    const server = new Connection({ role: "server", streamMessages: true });
    const bytes = [
      ...sync(client.send({ type: "binary-piece", data: new Uint8Array([1, 2]), last: false })),
      ...sync(client.send({ type: "binary-piece", data: new Uint8Array([3]), last: true })),
      ...sync(client.send({ type: "text", data: "whole" })),
    ];
    expect(pipe(bytes, server)).toEqual([
      { type: "binary-piece", data: new Uint8Array([1, 2]), first: true, last: false },
      { type: "binary-piece", data: new Uint8Array([3]), first: false, last: true },
      { type: "text-piece", data: "whole", first: true, last: true },
    ]);
  });

  it("applies an extension's transforms and sets its RSV bit on the first frame only", () => {
    // A toy extension that reverses payload bytes, owning RSV1.
    const reverse = (bytes: Uint8Array) => bytes.slice().reverse();
    const extension: Extension = {
      name: "x-reverse",
      rsvMask: 0x40,
      params: [],
      decodeMessage: () => {
        const parts: Uint8Array[] = [];
        return {
          push: (piece, last) => {
            parts.push(piece.slice());
            return last ? [reverse(concatBytes(parts))] : [];
          },
        };
      },
      encodeMessage: () => ({ rsv: 0x40, encoder: { push: (piece) => [reverse(piece)] } }),
    };
    const client = new Connection({ role: "client", extensions: [extension] });
    const server = new Connection({ role: "server", extensions: [extension] });
    const bytes = sync(client.send({ type: "text", data: "abc" }));
    expect((bytes[0]?.[0] ?? 0) & 0x40).toBe(0x40);
    expect(pipe(bytes, server)).toEqual([{ type: "text", data: "abc" }]);
  });
});

describe("the transition table decides what may be sent and read", () => {
  /** A server connection driven into each state through the wire. */
  const reach: Record<ConnectionState, () => Connection> = {
    open: () => new Connection({ role: "server" }),
    "closing-local": () => {
      const conn = new Connection({ role: "server" });
      conn.send({ type: "close", code: 1000 });
      return conn;
    },
    "closing-remote": () => {
      const conn = new Connection({ role: "server" });
      feed(conn, [masked(8, hex("03e8"))]);
      return conn;
    },
    failing: () => {
      const conn = new Connection({ role: "server" });
      feed(conn, [hex("8300")]); // unmasked from a client: 1002
      return conn;
    },
    closed: () => {
      const conn = new Connection({ role: "server" });
      conn.send({ type: "close", code: 1000 });
      feed(conn, [masked(8, hex("03e8"))]);
      return conn;
    },
    failed: () => {
      const conn = new Connection({ role: "server" });
      conn.receiveEof();
      drain(conn);
      return conn;
    },
  };

  for (const state of Object.values(ConnectionState)) {
    it(`${state}: canSend, canSendClose and reading follow TRANSITIONS`, () => {
      const conn = reach[state]();
      expect(conn.state).toBe(state);
      const edges = TRANSITIONS[state];
      expect(conn.canSend).toBe(edges["send-frame"] !== undefined);
      expect(conn.canSendClose).toBe(edges["send-close"] !== undefined);
      if (edges["send-frame"] === undefined)
        expect(() => conn.send({ type: "ping" })).toThrow(LocalProtocolError);
      else expect(() => conn.send({ type: "ping" })).not.toThrow();
      if (state === "failed") return; // the transport ended: receive() is a caller error there
      conn.receive(masked(9, utf8("p")));
      const read = drain(conn).some((event) => event.type === "ping");
      expect(read).toBe(edges["receive-frame"] !== undefined);
    });
  }
});
