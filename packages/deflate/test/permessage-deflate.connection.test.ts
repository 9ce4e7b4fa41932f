/**
 * permessage-deflate through Connection pairs (RFC 7692 over RFC 6455): the asynchronous path
 * (PENDING on receive, promises on send) keeps order, limits apply to the inflated size, and
 * extensions are closed when the transport ends.
 */

import { Connection, type InboundEvent, type OutboundEvent } from "@ws/codec";
import { type Extension, permessageDeflate } from "@ws/codec/extensions";
import { encodeFrame } from "@ws/codec/frame";
import {
  checkUpgradeRequest,
  checkUpgradeResponse,
  generateKey,
  upgradeRequestHeaders,
} from "@ws/codec/handshake";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENGINES } from "./engines.ts";
import { concat as concatBytes, drainAsync } from "./helpers.ts";

for (const { name: engineName, engine } of ENGINES) {
  /** Negotiates permessage-deflate through the real handshake functions; returns both sides' extensions. */
  function negotiate(clientOptions = {}, serverOptions = {}): { client: Extension[]; server: Extension[] } {
    const key = generateKey();
    const offer = permessageDeflate({ engine, ...clientOptions });
    const headers = upgradeRequestHeaders({ url: "ws://127.0.0.1/", key, extensions: [offer] });
    const accepted = checkUpgradeRequest(
      { method: "GET", headers },
      { extensions: [permessageDeflate({ engine, ...serverOptions })] },
    );
    const responseHeaders: [string, string][] = [
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Accept", accepted.accept],
    ];
    if (accepted.extensionsHeader)
      responseHeaders.push(["Sec-WebSocket-Extensions", accepted.extensionsHeader]);
    const confirmed = checkUpgradeResponse(
      { status: 101, headers: responseHeaders },
      { key, extensions: [offer] },
    );
    return { client: [...confirmed.extensions], server: [...accepted.extensions] };
  }

  async function settle(result: Uint8Array[] | Promise<Uint8Array[]>): Promise<Uint8Array[]> {
    return result;
  }

  /** Sends events from `from` and delivers them to `to`, writing results as they become available. */
  async function transfer(
    from: Connection,
    to: Connection,
    events: OutboundEvent[],
  ): Promise<InboundEvent[]> {
    const wire: Uint8Array[] = [];
    const results = events.map((event) => from.send(event));
    // Write each result as it becomes available: the connection makes this the call order.
    await Promise.all(results.map((r) => settle(r).then((bytes) => wire.push(concatBytes(bytes)))));
    for (const bytes of wire) to.receive(bytes);
    return drainAsync(to);
  }

  describe(`permessage-deflate through a Connection pair (${engineName})`, () => {
    it("round-trips messages of every size in order, mixing compressed and uncompressed", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.string({ maxLength: 3000 }).map((data): OutboundEvent => ({ type: "text", data })),
              fc.uint8Array({ maxLength: 5000 }).map((data): OutboundEvent => ({ type: "binary", data })),
              fc.constant<OutboundEvent>({ type: "binary", data: new Uint8Array(200_000).fill(7) }),
              fc
                .string({ maxLength: 2000 })
                .map((data): OutboundEvent => ({ type: "text", data, options: { compress: false } })),
            ),
            { minLength: 1, maxLength: 8 },
          ),
          fc.boolean(),
          async (events, noContextTakeover) => {
            const options = noContextTakeover
              ? { serverNoContextTakeover: true, clientNoContextTakeover: true }
              : {};
            const { client, server } = negotiate(options);
            const c = new Connection({ role: "client", extensions: client });
            const s = new Connection({ role: "server", extensions: server });
            const received = await transfer(c, s, events);
            expect(received.map((e) => ("data" in e ? e.data : e))).toEqual(
              events.map((e) => ("data" in e ? e.data : e)),
            );
            const back = await transfer(s, c, events);
            expect(back.length).toBe(events.length);
          },
        ),
        { numRuns: 12 },
      );
    });

    it("sets RSV1 on compressed messages only and compresses repetitive text", async () => {
      const { client, server } = negotiate();
      const c = new Connection({ role: "client", extensions: client });
      const big = await settle(c.send({ type: "text", data: "hello ".repeat(1000) }));
      expect(((big[0] as Uint8Array)[0] as number) & 0x40).toBe(0x40);
      expect(concatBytes(big).length).toBeLessThan(200);
      const small = await settle(c.send({ type: "text", data: "hi" }));
      expect(((small[0] as Uint8Array)[0] as number) & 0x40).toBe(0);
      expect(server.length).toBe(1);
    });

    it("refuses at once with 1009 a compressed frame whose header declares more than maxMessageSize", async () => {
      const { server } = negotiate();
      let decoded = 0;
      for (const extension of server) {
        const decodeMessage = extension.decodeMessage.bind(extension);
        extension.decodeMessage = (rsv) => {
          const decoder = decodeMessage(rsv);
          return (
            decoder && {
              push: (data, last, maxOutput) => {
                decoded += data.length;
                return decoder.push(data, last, maxOutput);
              },
            }
          );
        };
      }
      const s = new Connection({ role: "server", extensions: server, limits: { maxMessageSize: 1 << 20 } });
      // Only the header of a 64 MiB compressed frame (and its first bytes) arrives.
      const header = new Uint8Array([0xc2, 0xff, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0xf2, 0x48]);
      s.receive(header);
      const events = await drainAsync(s);
      expect(events).toMatchObject([{ type: "failed", error: { code: "MESSAGE_TOO_BIG", closeCode: 1009 } }]);
      expect(decoded).toBe(0);
    });

    it("counts a fragmented message's compressed bytes against maxMessageSize across its frames", async () => {
      const { server } = negotiate();
      const s = new Connection({ role: "server", extensions: server, limits: { maxMessageSize: 1000 } });
      const maskingKey = new Uint8Array(4);
      // Empty stored blocks (RFC 1951 §3.2.4): valid DEFLATE data that inflates to nothing.
      const empty = new Uint8Array(600).map((_, i) => [0x00, 0x00, 0x00, 0xff, 0xff][i % 5] as number);
      s.receive(concatBytes(encodeFrame({ opcode: 2, fin: false, rsv: 0x40, payload: empty, maskingKey })));
      expect(await drainAsync(s)).toEqual([]);
      s.receive(concatBytes(encodeFrame({ opcode: 0, fin: true, payload: empty, maskingKey })));
      const events = await drainAsync(s);
      expect(events.at(-1)).toMatchObject({
        type: "failed",
        error: { code: "MESSAGE_TOO_BIG", closeCode: 1009 },
      });
    });

    it("fails with 1009 when a small compressed message inflates past maxMessageSize", async () => {
      const { server } = negotiate();
      const s = new Connection({ role: "server", extensions: server, limits: { maxMessageSize: 1 << 20 } });
      const compressor = engine.createCompressor({
        windowBits: 15,
        level: 9,
        memLevel: 8,
        noContextTakeover: true,
      });
      const bomb = concatBytes(await compressor.compress(new Uint8Array(50 << 20), true));
      compressor.close();
      const payload = bomb.subarray(0, bomb.length - 4);
      expect(payload.length).toBeLessThan(64 * 1024);
      s.receive(concatBytes(encodeFrame({ opcode: 2, rsv: 0x40, payload, maskingKey: new Uint8Array(4) })));
      const events = await drainAsync(s);
      expect(events).toMatchObject([{ type: "failed", error: { code: "MESSAGE_TOO_BIG", closeCode: 1009 } }]);
    });

    it("fails with 1007 on corrupt compressed data and 1002 on RSV1 on a continuation frame", async () => {
      const { server } = negotiate();
      const s = new Connection({ role: "server", extensions: server });
      s.receive(
        concatBytes(
          encodeFrame({
            opcode: 2,
            rsv: 0x40,
            payload: new Uint8Array([0xff, 0xff, 0xff]),
            maskingKey: new Uint8Array(4),
          }),
        ),
      );
      expect(await drainAsync(s)).toMatchObject([{ type: "failed", error: { closeCode: 1007 } }]);
      const s2 = new Connection({ role: "server", extensions: negotiate().server });
      s2.receive(
        concatBytes(
          encodeFrame({ opcode: 2, fin: false, payload: new Uint8Array(1), maskingKey: new Uint8Array(4) }),
        ),
      );
      s2.receive(
        concatBytes(
          encodeFrame({ opcode: 0, rsv: 0x40, payload: new Uint8Array(1), maskingKey: new Uint8Array(4) }),
        ),
      );
      expect(await drainAsync(s2)).toMatchObject([
        { type: "failed", error: { code: "RESERVED_BITS", closeCode: 1002 } },
      ]);
    });

    it("keeps a close frame behind compressed messages, pending or not", async () => {
      const { client } = negotiate();
      const c = new Connection({ role: "client", extensions: client });
      const order: string[] = [];
      const message = c.send({ type: "binary", data: new Uint8Array(300_000).fill(1) });
      const close = c.send({ type: "close", code: 1000 });
      // A close is asynchronous exactly when it waits for a pending message (an asynchronous
      // engine); a synchronous engine has already produced the message's frames.
      expect(close instanceof Promise).toBe(message instanceof Promise);
      await Promise.all([
        settle(message).then(() => order.push("message")),
        settle(close).then(() => order.push("close")),
      ]);
      expect(order).toEqual(["message", "close"]);
    });

    it("closes the extensions when the transport ends", async () => {
      const { client } = negotiate();
      let closed = 0;
      const extension = client[0] as Extension;
      const original = extension.close?.bind(extension);
      extension.close = () => {
        closed++;
        original?.();
      };
      const c = new Connection({ role: "client", extensions: client });
      await settle(c.send({ type: "binary", data: new Uint8Array(100_000) }));
      c.receiveEof();
      c.receiveEof();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(closed).toBe(1);
    });
  });
}
