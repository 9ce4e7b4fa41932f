/**
 * Differential test against the `ws` package's own PerMessageDeflate: the two negotiate through
 * real `Sec-WebSocket-Extensions` headers (ws's formatter and parser on its side, ours on ours),
 * then bytes compressed by one are decompressed by the other, in both roles, for every
 * combination of context takeover and window sizes, with whole and fragmented messages.
 */

import {
  type ExtensionOffer,
  type MessageDecoder,
  type MessageEncoder,
  type PermessageDeflateExtension,
  type PermessageDeflateParams,
  permessageDeflate,
} from "@ws/codec/extensions";
import { formatExtensions, parseExtensions } from "@ws/codec/handshake";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENGINES } from "./engines.ts";
import { concat, same } from "./helpers.ts";

/** ws's PerMessageDeflate and extension header helpers: exported, though not in its type definitions. */
interface WsPerMessageDeflate {
  offer(): Record<string, unknown>;
  accept(configurations: Record<string, unknown[]>[]): Record<string, unknown>;
  compress(data: Uint8Array, fin: boolean, callback: (error: Error | null, result: Uint8Array) => void): void;
  decompress(
    data: Uint8Array,
    fin: boolean,
    callback: (error: Error | null, result: Uint8Array) => void,
  ): void;
  cleanup(): void;
}
interface WsOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  serverMaxWindowBits?: number | boolean;
  clientMaxWindowBits?: number | boolean;
  isServer: boolean;
  maxPayload: number;
}
type WsModule = {
  PerMessageDeflate: new (options: WsOptions) => WsPerMessageDeflate;
  extension: {
    format(extensions: Record<string, Record<string, unknown>[]>): string;
    parse(header: string): Record<string, Record<string, unknown[]>[]>;
  };
};
// Loaded by path: Bun swaps `import "ws"` for its own built-in `ws`, which has no PerMessageDeflate.
const wsModule = (await import(new URL("../node_modules/ws/index.js", import.meta.url).href)) as WsModule & {
  default?: WsModule;
};
const { PerMessageDeflate, extension } = wsModule.default ?? wsModule;

for (const { name: engineName, engine } of ENGINES) {
  const TIMEOUT = 60_000;

  const decodePush = (d: MessageDecoder, piece: Uint8Array, last: boolean) => d.push(piece, last, 1 << 26);
  const encodePush = (e: MessageEncoder, piece: Uint8Array, last: boolean) => e.push(piece, last);

  const wsCall = (
    method: "compress" | "decompress",
    pmd: WsPerMessageDeflate,
    data: Uint8Array,
    fin: boolean,
  ): Promise<Uint8Array> =>
    new Promise((resolve, reject) =>
      pmd[method](Buffer.from(data.buffer, data.byteOffset, data.byteLength), fin, (error, result) =>
        error ? reject(error) : resolve(new Uint8Array(result)),
      ),
    );

  /** One side of a connection: encodes messages into frame payloads and decodes them back. */
  interface Side {
    encode(pieces: readonly Uint8Array[]): Promise<Uint8Array[]>;
    decode(payloads: readonly Uint8Array[]): Promise<Uint8Array>;
    close(): void;
  }

  function ours(ext: PermessageDeflateExtension): Side {
    return {
      async encode(pieces) {
        const transform = ext.encodeMessage(
          "binary",
          pieces.length === 1 ? pieces[0]?.length : undefined,
          undefined,
        );
        const encoder = transform?.encoder as MessageEncoder;
        const out: Uint8Array[] = [];
        for (let i = 0; i < pieces.length; i++) {
          out.push(concat(await encodePush(encoder, pieces[i] as Uint8Array, i === pieces.length - 1)));
        }
        return out;
      },
      async decode(payloads) {
        const decoder = ext.decodeMessage(0x40) as MessageDecoder;
        const out: Uint8Array[] = [];
        for (let i = 0; i < payloads.length; i++) {
          out.push(...(await decodePush(decoder, payloads[i] as Uint8Array, i === payloads.length - 1)));
        }
        return concat(out);
      },
      close: () => ext.close(),
    };
  }

  function theirs(pmd: WsPerMessageDeflate): Side {
    return {
      async encode(pieces) {
        const out: Uint8Array[] = [];
        for (let i = 0; i < pieces.length; i++)
          out.push(await wsCall("compress", pmd, pieces[i] as Uint8Array, i === pieces.length - 1));
        return out;
      },
      async decode(payloads) {
        const out: Uint8Array[] = [];
        for (let i = 0; i < payloads.length; i++)
          out.push(await wsCall("decompress", pmd, payloads[i] as Uint8Array, i === payloads.length - 1));
        return concat(out);
      },
      close: () => pmd.cleanup(),
    };
  }

  interface Combination {
    serverNoContextTakeover: boolean;
    clientNoContextTakeover: boolean;
    serverMaxWindowBits: number | undefined;
    clientMaxWindowBits: number | undefined;
  }

  function ourParams(c: Combination): PermessageDeflateParams {
    return {
      serverNoContextTakeover: c.serverNoContextTakeover,
      clientNoContextTakeover: c.clientNoContextTakeover,
      ...(c.serverMaxWindowBits === undefined ? {} : { serverMaxWindowBits: c.serverMaxWindowBits }),
      ...(c.clientMaxWindowBits === undefined ? {} : { clientMaxWindowBits: c.clientMaxWindowBits }),
    };
  }

  function wsOptions(c: Combination, isServer: boolean): WsOptions {
    return {
      serverNoContextTakeover: c.serverNoContextTakeover,
      clientNoContextTakeover: c.clientNoContextTakeover,
      ...(c.serverMaxWindowBits === undefined ? {} : { serverMaxWindowBits: c.serverMaxWindowBits }),
      ...(c.clientMaxWindowBits === undefined ? {} : { clientMaxWindowBits: c.clientMaxWindowBits }),
      isServer,
      maxPayload: 0,
    };
  }

  /** ws client, our server: ws's offer header in, our response header out. */
  function wsClientOurServer(c: Combination): { client: Side; server: Side; header: string } {
    const wsClient = new PerMessageDeflate(wsOptions(c, false));
    const offerHeader = extension.format({ "permessage-deflate": [wsClient.offer()] });
    const result = permessageDeflate({ engine, threshold: 0, ...ourParams(c) }).negotiate(
      parseExtensions(offerHeader),
    );
    if (result === undefined) throw new Error(`our server declined ${offerHeader}`);
    const header = formatExtensions([result.response]);
    wsClient.accept(extension.parse(header)["permessage-deflate"] as Record<string, unknown[]>[]);
    return { client: theirs(wsClient), server: ours(result.extension), header };
  }

  /** Our client, ws server: our offer header in, ws's response header out. */
  function ourClientWsServer(c: Combination): { client: Side; server: Side; header: string } {
    const factory = permessageDeflate({ engine, threshold: 0, ...ourParams(c) });
    const offerHeader = formatExtensions(factory.offer());
    const wsServer = new PerMessageDeflate(wsOptions(c, true));
    const accepted = wsServer.accept(
      extension.parse(offerHeader)["permessage-deflate"] as Record<string, unknown[]>[],
    );
    const header = extension.format({ "permessage-deflate": [accepted] });
    const client = factory.accept(parseExtensions(header)[0] as ExtensionOffer);
    return { client: ours(client), server: theirs(wsServer), header };
  }

  const combinations: Combination[] = [];
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const serverMaxWindowBits of [undefined, 8, 9, 12, 15]) {
        for (const clientMaxWindowBits of [undefined, 8, 11, 15]) {
          combinations.push({
            serverNoContextTakeover,
            clientNoContextTakeover,
            serverMaxWindowBits,
            clientMaxWindowBits,
          });
        }
      }
    }
  }

  /** A fixed conversation: repeated text (the window matters), binary noise, empty and fragmented messages. */
  function conversation(): Uint8Array[][] {
    const encoder = new TextEncoder();
    const noise = new Uint8Array(3000).map((_, i) => (i * 2654435761) >>> 24);
    return [
      [encoder.encode("Hello")],
      [encoder.encode("Hello")],
      [new Uint8Array(0)],
      [encoder.encode("a fairly repetitive sentence, ".repeat(200))],
      [encoder.encode("part one, "), encoder.encode("part two, ".repeat(50)), encoder.encode("part three")],
      [noise],
      [encoder.encode("a fairly repetitive sentence, ".repeat(30)), new Uint8Array(0)],
      [new Uint8Array(70_000).map((_, i) => 97 + ((i >> 3) % 26))],
      [encoder.encode("Hello")],
    ];
  }

  async function talk(
    setup: { client: Side; server: Side; header: string },
    messages: readonly (readonly Uint8Array[])[],
  ): Promise<void> {
    for (const [from, to, name] of [
      [setup.client, setup.server, "client → server"],
      [setup.server, setup.client, "server → client"],
    ] as const) {
      for (let m = 0; m < messages.length; m++) {
        const pieces = messages[m] as Uint8Array[];
        const decoded = await to.decode(await from.encode(pieces));
        expect(same(decoded, concat(pieces)), `${setup.header}: ${name}, message ${m}`).toBe(true);
      }
    }
    setup.client.close();
    setup.server.close();
  }

  describe(`permessage-deflate interop with ws's PerMessageDeflate (${engineName})`, () => {
    it(
      "ws client ↔ our server, every parameter combination",
      async () => {
        const headers = new Set<string>();
        for (const c of combinations) {
          const setup = wsClientOurServer(c);
          headers.add(setup.header);
          await talk(setup, conversation());
        }
        expect(headers.size).toBeGreaterThan(30);
      },
      TIMEOUT,
    );

    it(
      "our client ↔ ws server, every parameter combination",
      async () => {
        const headers = new Set<string>();
        for (const c of combinations) {
          const setup = ourClientWsServer(c);
          headers.add(setup.header);
          await talk(setup, conversation());
        }
        expect(headers.size).toBeGreaterThan(30);
      },
      TIMEOUT,
    );

    it("agrees with ws on the response to the same offer", () => {
      for (const c of combinations) {
        const wsClient = new PerMessageDeflate(wsOptions(c, false));
        const offerHeader = extension.format({ "permessage-deflate": [wsClient.offer()] });
        const wsServer = new PerMessageDeflate(wsOptions(c, true));
        const theirs = wsServer.accept(
          extension.parse(offerHeader)["permessage-deflate"] as Record<string, unknown[]>[],
        );
        const our = permessageDeflate({ engine, ...ourParams(c) }).negotiate(parseExtensions(offerHeader));
        // Same parameters, as sets (the order within the header may differ).
        const wsParams = Object.entries(theirs)
          .map(([name, value]) => (value === true ? name : `${name}=${String(value)}`))
          .sort();
        const ourResponse = (our?.response.params ?? [])
          .map((p) => (p.value === null ? p.name : `${p.name}=${p.value}`))
          .sort();
        expect(ourResponse, offerHeader).toEqual(wsParams);
      }
    });

    it(
      "random conversations both ways (fast-check)",
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...combinations),
            fc.boolean(),
            fc.array(
              fc.array(
                fc.oneof(
                  fc.uint8Array({ maxLength: 500 }),
                  fc
                    .tuple(fc.nat({ max: 20_000 }), fc.nat({ max: 30 }))
                    .map(([size, alphabet]) =>
                      new Uint8Array(size).map((_, i) => 65 + ((i * 31 + (i >> 4)) % (alphabet + 1))),
                    ),
                ),
                { minLength: 1, maxLength: 3 },
              ),
              { minLength: 1, maxLength: 6 },
            ),
            async (c, wsIsClient, messages) => {
              await talk(wsIsClient ? wsClientOurServer(c) : ourClientWsServer(c), messages);
            },
          ),
          { numRuns: 60 },
        );
      },
      TIMEOUT,
    );
  });
}
