/**
 * permessage-deflate (RFC 7692): negotiation, the §7.2.3 examples, round trips, limits, order.
 */
import { HandshakeError, RemoteProtocolError } from "@ws/codec";
import {
  type CompressorOptions,
  type DecompressorOptions,
  type DeflateEngine,
  type ExtensionOffer,
  type MessageDecoder,
  type MessageEncoder,
  type PermessageDeflateExtension,
  type PermessageDeflateOptions,
  permessageDeflate,
} from "@ws/codec/extensions";
import {
  buildUpgradeRequest,
  checkUpgradeRequest,
  checkUpgradeResponse,
  computeAcceptKey,
  formatExtensions,
  parseExtensions,
} from "@ws/codec/handshake";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENGINES } from "./engines.ts";
import { concat, fromHex, hex, same, text } from "./helpers.ts";

for (const { name: engineName, engine } of ENGINES) {
  const decodePush = (d: MessageDecoder, piece: Uint8Array, last: boolean, max: number) =>
    d.push(piece, last, max);
  const encodePush = (e: MessageEncoder, piece: Uint8Array, last: boolean) => e.push(piece, last);

  /** Decodes one message given as the payloads of its frames. */
  async function decode(
    ext: PermessageDeflateExtension,
    pieces: readonly Uint8Array[],
    max = 1 << 24,
  ): Promise<Uint8Array> {
    const decoder = ext.decodeMessage(0x40) as MessageDecoder;
    const out: Uint8Array[] = [];
    for (let i = 0; i < pieces.length; i++)
      out.push(...(await decodePush(decoder, pieces[i] as Uint8Array, i === pieces.length - 1, max)));
    return concat(out);
  }

  /**
   * Encodes one message given in pieces; returns each piece's output (frame payloads). All pieces
   * are pushed at once, without waiting (as a connection may), so that several messages can be
   * encoded one after the other without awaiting in between.
   */
  function encode(ext: PermessageDeflateExtension, pieces: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const size = pieces.length === 1 ? (pieces[0] as Uint8Array).length : undefined;
    const transform = ext.encodeMessage("binary", size, undefined);
    expect(transform?.rsv).toBe(0x40);
    const encoder = transform?.encoder as MessageEncoder;
    const outputs = pieces.map((piece, i) => encodePush(encoder, piece, i === pieces.length - 1));
    return Promise.all(outputs.map(async (output) => concat(await output)));
  }

  const offer = (header: string): ExtensionOffer[] => parseExtensions(header);
  const responseHeader = (result: { response: ExtensionOffer } | undefined): string | undefined =>
    result === undefined ? undefined : formatExtensions([result.response]);

  /** A negotiated pair: the client's and the server's extension. */
  function pair(
    clientOptions: Partial<PermessageDeflateOptions> = {},
    serverOptions: Partial<PermessageDeflateOptions> = {},
  ): { client: PermessageDeflateExtension; server: PermessageDeflateExtension; header: string } {
    const client = permessageDeflate({ engine, threshold: 0, ...clientOptions });
    const server = permessageDeflate({ engine, threshold: 0, ...serverOptions });
    const result = server.negotiate(offer(formatExtensions(client.offer())));
    if (result === undefined) throw new Error("declined");
    const header = formatExtensions([result.response]);
    return { client: client.accept(offer(header)[0] as ExtensionOffer), server: result.extension, header };
  }

  describe(`permessageDeflate negotiation (RFC 7692 §5, §7.1) (${engineName})`, () => {
    it("offers client_max_window_bits without a value by default, and the configured parameters", () => {
      expect(formatExtensions(permessageDeflate({ engine }).offer())).toBe(
        "permessage-deflate; client_max_window_bits",
      );
      const all = permessageDeflate({
        engine,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 12,
      });
      expect(formatExtensions(all.offer())).toBe(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
      );
      expect(formatExtensions(permessageDeflate({ engine, clientMaxWindowBits: false }).offer())).toBe(
        "permessage-deflate",
      );
    });

    it("offers alternatives, most preferred first", () => {
      const factory = permessageDeflate({
        engine,
        offers: [{ serverMaxWindowBits: 10, serverNoContextTakeover: true }, {}],
      });
      expect(formatExtensions(factory.offer())).toBe(
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits",
      );
    });

    it("server: accepts a plain offer with an empty response", () => {
      const server = permessageDeflate({ engine });
      expect(responseHeader(server.negotiate(offer("permessage-deflate")))).toBe("permessage-deflate");
      expect(responseHeader(server.negotiate(offer("permessage-deflate; client_max_window_bits")))).toBe(
        "permessage-deflate",
      );
    });

    it("server: applies each parameter (§7.1.1.1, §7.1.1.2, §7.1.2.1, §7.1.2.2)", () => {
      const plain = permessageDeflate({ engine });
      const cases: [string, string][] = [
        ["server_no_context_takeover", "permessage-deflate; server_no_context_takeover"],
        ["client_no_context_takeover", "permessage-deflate; client_no_context_takeover"],
        ["server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10"],
        ["server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8"],
        ['server_max_window_bits="12"', "permessage-deflate; server_max_window_bits=12"],
        ["client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9"],
        ["client_max_window_bits", "permessage-deflate"],
      ];
      for (const [params, expected] of cases) {
        expect(responseHeader(plain.negotiate(offer(`permessage-deflate; ${params}`))), params).toBe(
          expected,
        );
      }
      const strict = permessageDeflate({
        engine,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 11,
        clientMaxWindowBits: 10,
      });
      const result = strict.negotiate(
        offer("permessage-deflate; server_max_window_bits=12; client_max_window_bits"),
      );
      expect(responseHeader(result)).toBe(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10",
      );
      expect(result?.extension.negotiated).toEqual({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 11,
        clientMaxWindowBits: 10,
      });
      // The smaller of the two limits.
      expect(
        responseHeader(
          strict.negotiate(offer("permessage-deflate; server_max_window_bits=9; client_max_window_bits=8")),
        ),
      ).toBe(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
      );
      // A client_max_window_bits limit needs the client's consent (§7.1.2.2): declined without it.
      expect(strict.negotiate(offer("permessage-deflate"))).toBeUndefined();
    });

    it("server: declines invalid offers and accepts the first valid one (§5)", () => {
      const server = permessageDeflate({ engine });
      const invalid = [
        "permessage-deflate; foo",
        "permessage-deflate; foo=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=15.0",
        "permessage-deflate; Server_No_Context_Takeover",
      ];
      for (const header of invalid) {
        expect(server.negotiate(offer(header)), header).toBeUndefined();
        const result = server.negotiate(offer(`${header}, permessage-deflate; server_max_window_bits=13`));
        expect(responseHeader(result), header).toBe("permessage-deflate; server_max_window_bits=13");
      }
    });

    it("client: accepts valid responses and applies them", () => {
      const client = permessageDeflate({
        engine,
        offers: [{ serverMaxWindowBits: 10, clientMaxWindowBits: 12 }],
      });
      const ext = client.accept(
        offer("permessage-deflate; server_max_window_bits=9; client_max_window_bits=11")[0]!,
      );
      expect(ext.negotiated).toEqual({
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 9,
        clientMaxWindowBits: 11,
      });
      expect(ext.params).toEqual([
        { name: "server_max_window_bits", value: "9" },
        { name: "client_max_window_bits", value: "11" },
      ]);
      // The offered client value is a promise even when the response is silent (§7.1.2.2).
      expect(client.accept(offer("permessage-deflate")[0]!).negotiated.clientMaxWindowBits).toBe(12);
      // client_no_context_takeover from the server, or our own promise (§7.1.1.2).
      const plain = permessageDeflate({ engine });
      expect(
        plain.accept(offer("permessage-deflate; client_no_context_takeover")[0]!).negotiated
          .clientNoContextTakeover,
      ).toBe(true);
      const promised = permessageDeflate({ engine, clientNoContextTakeover: true });
      expect(promised.accept(offer("permessage-deflate")[0]!).negotiated.clientNoContextTakeover).toBe(true);
      // The server may limit its own window without being asked (§7.1.2.1).
      expect(
        plain.accept(offer("permessage-deflate; server_max_window_bits=12")[0]!).negotiated
          .serverMaxWindowBits,
      ).toBe(12);
    });

    it("client: matches the response against each alternative offer", () => {
      const client = permessageDeflate({
        engine,
        offers: [{ serverMaxWindowBits: 10, clientMaxWindowBits: false }, { clientMaxWindowBits: true }],
      });
      // Valid only for the second offer (client_max_window_bits) ...
      expect(
        client.accept(offer("permessage-deflate; client_max_window_bits=10")[0]!).negotiated
          .clientMaxWindowBits,
      ).toBe(10);
      // ... and for the second (the first asked for at most 10).
      expect(
        client.accept(offer("permessage-deflate; server_max_window_bits=12")[0]!).negotiated
          .serverMaxWindowBits,
      ).toBe(12);
    });

    it("client: fails the handshake with BAD_EXTENSIONS on an invalid response (§5, §7.1)", () => {
      const client = permessageDeflate({
        engine,
        offers: [{ serverMaxWindowBits: 10, clientMaxWindowBits: false }],
      });
      const invalid = [
        "permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=11", // larger than offered
        "permessage-deflate; client_max_window_bits=10", // not offered
        "permessage-deflate; client_max_window_bits", // a response needs a value
      ];
      for (const header of invalid) {
        let error: unknown;
        try {
          client.accept(offer(header)[0]!);
        } catch (e) {
          error = e;
        }
        expect(error, header).toBeInstanceOf(HandshakeError);
        expect((error as HandshakeError).code).toBe("BAD_EXTENSIONS");
      }
      expect(() =>
        permessageDeflate({ engine }).accept(offer("permessage-deflate; client_max_window_bits")[0]!),
      ).toThrow(HandshakeError);
    });

    it("negotiates window bits 8 and compresses with 9, which the peer's 8-bit window reads (§7.1.2)", async () => {
      const seen: CompressorOptions[] = [];
      const spying: DeflateEngine = {
        createCompressor: (options) => {
          seen.push(options);
          return engine.createCompressor(options);
        },
        createDecompressor: (options: DecompressorOptions) => engine.createDecompressor(options),
      };
      const { client, server, header } = pair(
        { engine: spying, serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
        { engine: spying },
      );
      expect(header).toBe("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8");
      for (let i = 0; i < 10; i++) {
        const message = new Uint8Array(4000).map((_, j) => 97 + ((j * 7 + i) % 23) + ((j >> 6) % 3));
        expect(same(await decode(client, await encode(server, [message])), message)).toBe(true);
        expect(same(await decode(server, await encode(client, [message])), message)).toBe(true);
      }
      expect(seen.map((o) => o.windowBits)).toEqual([8, 8]); // the engine maps 8 to 9 for zlib
    });

    it("gives the extensions string through the opening handshake", () => {
      const key = "dGhlIHNhbXBsZSBub25jZQ==";
      const client = permessageDeflate({ engine, serverNoContextTakeover: true });
      const request = buildUpgradeRequest({ url: "ws://example.com/", key, extensions: [client] });
      expect(request).toContain(
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits\r\n",
      );
      const server = permessageDeflate({ engine, clientMaxWindowBits: 12 });
      const accepted = checkUpgradeRequest(
        {
          method: "GET",
          headers: {
            host: "example.com",
            upgrade: "websocket",
            connection: "Upgrade",
            "sec-websocket-key": key,
            "sec-websocket-version": "13",
            "sec-websocket-extensions":
              "permessage-deflate; server_no_context_takeover; client_max_window_bits",
          },
        },
        { extensions: [server] },
      );
      expect(accepted.extensionsHeader).toBe(
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=12",
      );
      const confirmed = checkUpgradeResponse(
        {
          status: 101,
          headers: {
            upgrade: "websocket",
            connection: "Upgrade",
            "sec-websocket-accept": computeAcceptKey(key),
            "sec-websocket-extensions": accepted.extensionsHeader,
          },
        },
        { key, extensions: [client] },
      );
      expect(confirmed.extensionsHeader).toBe(accepted.extensionsHeader);
      expect(
        formatExtensions([{ name: confirmed.extensions[0]!.name, params: confirmed.extensions[0]!.params }]),
      ).toBe(accepted.extensionsHeader);
      expect(confirmed.extensions[0]!.rsvMask).toBe(0x40);
    });

    it("rejects out-of-range options", () => {
      expect(() => permessageDeflate({} as PermessageDeflateOptions)).toThrow(TypeError);
      expect(() => permessageDeflate({ engine, serverMaxWindowBits: 7 })).toThrow(RangeError);
      expect(() => permessageDeflate({ engine, clientMaxWindowBits: 16 })).toThrow(RangeError);
      expect(() => permessageDeflate({ engine, level: 10 })).toThrow(RangeError);
      expect(() => permessageDeflate({ engine, memLevel: 0 })).toThrow(RangeError);
      expect(() => permessageDeflate({ engine, threshold: -1 })).toThrow(RangeError);
      expect(() => permessageDeflate({ engine, offers: [] })).toThrow(RangeError);
      expect(() => permessageDeflate({ engine, offers: [{ serverMaxWindowBits: 99 }] })).toThrow(RangeError);
    });
  });

  describe(`permessage-deflate messages (RFC 7692 §6, §7.2) (${engineName})`, () => {
    it('compresses "Hello" to f2 48 cd c9 c9 07 00 and decodes it whole or fragmented (§7.2.3.1)', async () => {
      const { client, server } = pair({}, { serverNoContextTakeover: true });
      expect(hex(concat(await encode(server, [text("Hello")])))).toBe("f248cdc9c90700");
      expect(await decode(client, [fromHex("f248cdc9c90700")])).toEqual(text("Hello"));
      expect(await decode(client, [fromHex("f248cd"), fromHex("c9c90700")])).toEqual(text("Hello"));
    });

    it("shares the LZ77 window between messages (§7.2.3.2)", async () => {
      const { client, server } = pair();
      expect(hex(concat(await encode(server, [text("Hello")])))).toBe("f248cdc9c90700");
      expect(hex(concat(await encode(server, [text("Hello")])))).toBe("f200110000");
      expect(await decode(client, [fromHex("f248cdc9c90700")])).toEqual(text("Hello"));
      expect(await decode(client, [fromHex("f200110000")])).toEqual(text("Hello"));
    });

    it("decodes a stored block (§7.2.3.3), a BFINAL block (§7.2.3.4) and two blocks (§7.2.3.5)", async () => {
      const { client } = pair();
      expect(await decode(client, [fromHex("0005 00fa ff48 656c 6c6f 00")])).toEqual(text("Hello"));
      expect(await decode(client, [fromHex("f348cdc9c90700")])).toEqual(text("Hello"));
      expect(await decode(client, [fromHex("f248050000 00ffff cac9c90700")])).toEqual(text("Hello"));
      expect(await decode(client, [fromHex("f248cdc9c90700")])).toEqual(text("Hello"));
    });

    it("sends an empty message as the single byte 00 and decodes it (§7.2.3.6)", async () => {
      for (const serverNoContextTakeover of [true, false]) {
        const { client, server } = pair({}, { serverNoContextTakeover });
        expect(hex(concat(await encode(server, [new Uint8Array(0)])))).toBe("00");
        await encode(server, [text("Hello")]);
        expect(hex(concat(await encode(server, [new Uint8Array(0)])))).toBe("00"); // after a flush too
        expect(await decode(client, [fromHex("00")])).toEqual(new Uint8Array(0));
      }
    });

    it("compresses only messages of at least `threshold` bytes, unless compress: false; streamed ones always", () => {
      const factory = permessageDeflate({ engine });
      const ext = factory.accept(offer("permessage-deflate")[0]!);
      expect(ext.encodeMessage("text", 1023, undefined)).toBeUndefined();
      expect(ext.encodeMessage("text", 1024, undefined)?.rsv).toBe(0x40);
      expect(ext.encodeMessage("binary", undefined, undefined)?.rsv).toBe(0x40);
      expect(ext.encodeMessage("binary", 1 << 20, { compress: false })).toBeUndefined();
      expect(ext.decodeMessage(0)).toBeUndefined();
      expect(ext.name).toBe("permessage-deflate");
      expect(ext.rsvMask).toBe(0x40);
    });

    it("round-trips random messages in random pieces both ways, every window size, with and without context takeover (fast-check)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            serverNoContextTakeover: fc.boolean(),
            clientNoContextTakeover: fc.boolean(),
            serverMaxWindowBits: fc.integer({ min: 8, max: 15 }),
            clientMaxWindowBits: fc.integer({ min: 8, max: 15 }),
          }),
          fc.array(
            fc.array(
              fc.oneof(
                fc.uint8Array({ maxLength: 200 }),
                fc
                  .tuple(fc.nat({ max: 5000 }), fc.nat({ max: 25 }))
                  .map(([size, alphabet]) => ({ size, alphabet })),
              ),
              { minLength: 1, maxLength: 3 },
            ),
            { minLength: 1, maxLength: 5 },
          ),
          async (params, described) => {
            const { client, server } = pair(params);
            const messages = described.map((pieces) =>
              pieces.map((p) =>
                p instanceof Uint8Array
                  ? p
                  : new Uint8Array(p.size).map((_, i) => 65 + ((i * i + i) % (p.alphabet + 1))),
              ),
            );
            for (const [from, to] of [
              [client, server],
              [server, client],
            ] as const) {
              // Every message is encoded before any is decoded: the engine keeps them in order.
              const encoded = await Promise.all(messages.map((pieces) => encode(from, pieces)));
              for (let m = 0; m < messages.length; m++) {
                const decoded = await decode(to, encoded[m] as Uint8Array[]);
                expect(same(decoded, concat(messages[m] as Uint8Array[]))).toBe(true);
              }
            }
            client.close();
            server.close();
          },
        ),
        { numRuns: 80 },
      );
    });

    it("keeps message order when many messages are pushed without waiting", async () => {
      const { client, server } = pair();
      const messages = Array.from({ length: 200 }, (_, i) => text(`message ${i} `.repeat(1 + (i % 50) * 40)));
      const encoders = messages.map((m) => ({ m, t: server.encodeMessage("text", m.length, undefined) }));
      const outputs = encoders.map(({ m, t }) => encodePush(t!.encoder, m, true));
      const payloads = await Promise.all(outputs.map(async (o) => concat(await o)));
      const decoded = await Promise.all(
        payloads.map((p) => decodePush(client.decodeMessage(0x40)!, p, true, 1 << 20)),
      );
      expect(decoded.map((parts) => new TextDecoder().decode(concat(parts)))).toEqual(
        messages.map((m) => new TextDecoder().decode(m)),
      );
    });

    it("fails a message that inflates past maxOutput with 1009, and corrupt data with 1007", async () => {
      const { client, server } = pair();
      const big = new Uint8Array(1 << 20);
      const payload = (await encode(server, [big]))[0] as Uint8Array;
      await expect(decode(client, [payload], 1000)).rejects.toMatchObject({
        code: "MESSAGE_TOO_BIG",
        closeCode: 1009,
      });
      const other = pair();
      await expect(decode(other.client, [fromHex("ffffffff")])).rejects.toBeInstanceOf(RemoteProtocolError);
      await expect(decode(pair().client, [fromHex("ffffffff")])).rejects.toMatchObject({
        code: "EXTENSION_FAILURE",
        closeCode: 1007,
      });
    });

    it("close() frees the engine's objects; the extension refuses to work afterwards", async () => {
      let closed = 0;
      const counting: DeflateEngine = {
        createCompressor: (options) => {
          const c = engine.createCompressor(options);
          return {
            compress: (i, e) => c.compress(i, e),
            close: () => {
              closed++;
              c.close();
            },
          };
        },
        createDecompressor: (options) => {
          const d = engine.createDecompressor(options);
          return {
            decompress: (i, e, m) => d.decompress(i, e, m),
            close: () => {
              closed++;
              d.close();
            },
          };
        },
      };
      const { client, server } = pair({ engine: counting }, { engine: counting });
      await decode(client, await encode(server, [text("Hello")]));
      client.close();
      server.close();
      client.close();
      expect(closed).toBe(2); // the server's compressor and the client's decompressor
      expect(() => server.encodeMessage("text", 2000, undefined)).toThrow(/closed/);
      expect(() => client.decodeMessage(0x40)).toThrow(/closed/);
    });
  });
}
