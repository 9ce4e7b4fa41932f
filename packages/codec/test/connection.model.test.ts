/**
 * Model-based test of a client/server Connection pair over an in-memory link (h11's
 * ConnectionPair, wsproto's two Connections). The real system is two connections, two byte
 * queues and the usual adapter policy (answer pings, answer close frames). The model is what
 * each side has sent and whether it has closed.
 *
 * Invariants: messages arrive complete and in order; nothing arrives after a close event;
 * sending in a forbidden state throws LocalProtocolError; after delivering everything, the close
 * handshake has completed on both sides.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Connection, closeReplyFor, type InboundEvent, LocalProtocolError, pongFor } from "../src/index.ts";
import { drain, sync } from "./helpers.ts";

type Side = "client" | "server";

class LinkedPair {
  readonly conn: Record<Side, Connection> = {
    client: new Connection({ role: "client" }),
    server: new Connection({ role: "server" }),
  };
  /** Bytes in flight towards each side. */
  readonly inbox: Record<Side, Uint8Array[]> = { client: [], server: [] };
  readonly received: Record<Side, InboundEvent[]> = { client: [], server: [] };

  send(from: Side, event: Parameters<Connection["send"]>[0]): void {
    const to: Side = from === "client" ? "server" : "client";
    this.inbox[to].push(...sync(this.conn[from].send(event)));
  }

  /** Delivers up to `count` chunks to `side` and runs its policy on the events. */
  deliver(side: Side, count: number): void {
    const conn = this.conn[side];
    for (let i = 0; i < count && this.inbox[side].length > 0; i++) {
      conn.receive((this.inbox[side].shift() as Uint8Array).slice());
      for (const e of drain(conn)) {
        this.received[side].push(e);
        if (e.type === "ping" && conn.canSend) this.send(side, pongFor(e));
        if (e.type === "close" && conn.canSendClose) this.send(side, closeReplyFor(e));
      }
    }
  }
}

interface Model {
  sent: Record<Side, string[]>;
  closed: Record<Side, boolean>;
}

const other = (side: Side): Side => (side === "client" ? "server" : "client");

class SendText implements fc.Command<Model, LinkedPair> {
  readonly side: Side;
  readonly text: string;
  constructor(side: Side, text: string) {
    this.side = side;
    this.text = text;
  }
  check(): boolean {
    return true;
  }
  run(model: Model, real: LinkedPair): void {
    if (real.conn[this.side].canSend) {
      real.send(this.side, { type: "text", data: this.text });
      model.sent[this.side].push(this.text);
    } else {
      expect(() => real.send(this.side, { type: "text", data: this.text })).toThrow(LocalProtocolError);
    }
  }
  toString(): string {
    return `${this.side}.text(${JSON.stringify(this.text)})`;
  }
}

class SendPing implements fc.Command<Model, LinkedPair> {
  readonly side: Side;
  constructor(side: Side) {
    this.side = side;
  }
  check(): boolean {
    return true;
  }
  run(_model: Model, real: LinkedPair): void {
    if (real.conn[this.side].canSend) real.send(this.side, { type: "ping", payload: new Uint8Array([1, 2]) });
    else expect(() => real.send(this.side, { type: "ping" })).toThrow(LocalProtocolError);
  }
  toString(): string {
    return `${this.side}.ping()`;
  }
}

class Close implements fc.Command<Model, LinkedPair> {
  readonly side: Side;
  constructor(side: Side) {
    this.side = side;
  }
  check(): boolean {
    return true;
  }
  run(model: Model, real: LinkedPair): void {
    if (real.conn[this.side].canSendClose) {
      real.send(this.side, { type: "close", code: 1000, reason: this.side });
      model.closed[this.side] = true;
    } else {
      expect(() => real.send(this.side, { type: "close" })).toThrow(LocalProtocolError);
    }
  }
  toString(): string {
    return `${this.side}.close()`;
  }
}

class Deliver implements fc.Command<Model, LinkedPair> {
  readonly side: Side;
  readonly count: number;
  constructor(side: Side, count: number) {
    this.side = side;
    this.count = count;
  }
  check(): boolean {
    return true;
  }
  run(_model: Model, real: LinkedPair): void {
    real.deliver(this.side, this.count);
  }
  toString(): string {
    return `deliver(${this.side}, ${this.count})`;
  }
}

const side = fc.constantFrom<Side>("client", "server");
const commands = [
  fc.tuple(side, fc.string({ maxLength: 20 })).map(([s, t]) => new SendText(s, t)),
  side.map((s) => new SendPing(s)),
  side.map((s) => new Close(s)),
  fc.tuple(side, fc.integer({ min: 1, max: 4 })).map(([s, n]) => new Deliver(s, n)),
];

describe("Connection pair model", () => {
  it("delivers messages in order, nothing after close, and completes the close handshake", () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 40 }), (cmds) => {
        const model: Model = { sent: { client: [], server: [] }, closed: { client: false, server: false } };
        const real = new LinkedPair();
        fc.modelRun(() => ({ model, real }), cmds);
        // Finish: one side closes if neither did, then deliver everything both ways.
        if (real.conn.client.canSendClose && real.conn.server.canSendClose)
          real.send("client", { type: "close", code: 1000 });
        for (let round = 0; round < 10; round++) {
          real.deliver("server", Infinity);
          real.deliver("client", Infinity);
        }
        for (const s of ["client", "server"] as const) {
          const events = real.received[s];
          const closeAt = events.findIndex((e) => e.type === "close");
          expect(closeAt).toBeGreaterThanOrEqual(0);
          expect(events.slice(closeAt + 1)).toEqual([]);
          const texts = events.filter((e) => e.type === "text").map((e) => (e as { data: string }).data);
          expect(texts).toEqual(model.sent[other(s)]);
          expect(real.conn[s].state).toBe("closed");
        }
      }),
      { numRuns: 300 },
    );
  });
});
