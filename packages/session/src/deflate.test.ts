import type { Extension } from "@ws/codec";
import type { DeflateEngine } from "@ws/codec/extensions";
import { describe, expect, it } from "vitest";
import { type DeflateEngineSource, deflateExtensions } from "./deflate.ts";
import { memoryTransportPair } from "./memory-transport.ts";
import { ServerCore } from "./server-core.ts";
import { Session } from "./session.ts";
import { WebSocket } from "./websocket.ts";

// The session never compresses here (negotiation only): an engine that refuses to be used. The
// engines themselves are tested in @ws/deflate.
const unused = (): never => {
  throw new Error("not used");
};
const stubEngine: DeflateEngine = { createCompressor: unused, createDecompressor: unused };
const engine: DeflateEngineSource = () => stubEngine;

function upgrade(extensions?: string) {
  return {
    request: null,
    method: "GET",
    httpVersion: "1.1",
    target: "/",
    headers: {
      host: "example.com",
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      ...(extensions === undefined ? {} : { "sec-websocket-extensions": extensions }),
    },
    secure: false,
    remoteAddress: "127.0.0.1",
  };
}

const createSocket = (url: string, init: ConstructorParameters<typeof WebSocket>[2]) =>
  new WebSocket(url, undefined, init);

describe("deflateExtensions", () => {
  it("is off for servers and on for clients by default, and offers client_max_window_bits bare", () => {
    expect(deflateExtensions(undefined, false, engine)).toEqual([]);
    expect(deflateExtensions(false, true, engine)).toEqual([]);
    const [factory] = deflateExtensions(undefined, true, engine);
    expect(factory?.offer()).toEqual([
      { name: "permessage-deflate", params: [{ name: "client_max_window_bits", value: null }] },
    ]);
  });

  it("passes the settings to the codec, which checks them", () => {
    const [factory] = deflateExtensions(
      { serverNoContextTakeover: true, serverMaxWindowBits: 10 },
      false,
      engine,
    );
    expect(factory?.offer()[0]?.params.map((p) => p.name)).toEqual([
      "server_no_context_takeover",
      "server_max_window_bits",
      "client_max_window_bits",
    ]);
    expect(() => deflateExtensions({ serverMaxWindowBits: 16 }, false, engine)).toThrow(RangeError);
    expect(() => deflateExtensions({ level: 10 }, false, engine)).toThrow(RangeError);
  });

  it("needs an engine only when compression is on", () => {
    expect(deflateExtensions(undefined, false, undefined)).toEqual([]);
    expect(() => deflateExtensions(true, false, undefined)).toThrow(TypeError);
  });

  it("takes the engine from the option before the adapter's", () => {
    const used: string[] = [];
    const counting = (label: string): DeflateEngine => ({
      createCompressor: () => {
        used.push(label);
        throw new Error("not used");
      },
      createDecompressor: unused,
    });
    let adapterCalls = 0;
    const adapter: DeflateEngineSource = () => {
      adapterCalls++;
      return counting("adapter");
    };
    const compressWith = (option: Parameters<typeof deflateExtensions>[0]): void => {
      const [factory] = deflateExtensions(option, false, adapter);
      const accepted = factory?.negotiate([{ name: "permessage-deflate", params: [] }]);
      expect(() => accepted?.extension.encodeMessage("binary", 2000, undefined)).toThrow("not used");
    };
    compressWith({ engine: counting("option") });
    expect(adapterCalls).toBe(0);
    compressWith(true);
    expect(adapterCalls).toBe(1);
    expect(used).toEqual(["option", "adapter"]);
  });
});

describe("ServerCore with perMessageDeflate", () => {
  it("accepts an offer and hands the extension and its header to the session", async () => {
    const core = new ServerCore(
      { perMessageDeflate: { serverNoContextTakeover: true } },
      createSocket,
      [],
      engine,
    );
    expect("perMessageDeflate" in core.settings).toBe(false);
    const outcome = await core.handshake(upgrade("permessage-deflate; client_max_window_bits, x-other"));
    if (outcome?.accepted !== true) throw new Error("not accepted");
    expect(outcome.response).toContain(
      "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
    );
    expect(outcome.session.extensionsHeader).toBe("permessage-deflate; server_no_context_takeover");
    expect(outcome.session.extensions?.map((e) => e.name)).toEqual(["permessage-deflate"]);
  });

  it("accepts no offer by default", async () => {
    const core = new ServerCore({}, createSocket, [], engine);
    const outcome = await core.handshake(upgrade("permessage-deflate"));
    if (outcome?.accepted !== true) throw new Error("not accepted");
    expect(outcome.response).not.toContain("Sec-WebSocket-Extensions");
    expect(outcome.session.extensions).toEqual([]);
  });

  it("refuses a malformed Sec-WebSocket-Extensions with deflate on, and does not read it with deflate off", async () => {
    // RFC 6455 §9.1: only a server with extensions has offers to check (codec server.ts).
    const malformed = `permessage-deflate${" ;".repeat(5000)}`;
    const on = new ServerCore({ perMessageDeflate: true }, createSocket, [], engine);
    const refused = await on.handshake(upgrade(malformed));
    expect(refused?.accepted).toBe(false);
    expect(refused?.status).toBe(400);
    if (refused?.accepted === false) expect(refused.code).toBe("BAD_EXTENSIONS");
    const off = new ServerCore({}, createSocket, [], engine);
    const accepted = await off.handshake(upgrade(malformed));
    if (accepted?.accepted !== true) throw new Error("not accepted");
    expect(accepted.response).not.toContain("Sec-WebSocket-Extensions");
    expect(accepted.session.extensions).toEqual([]);
  });

  it("throws at construction when asked for compression without an engine", () => {
    expect(() => new ServerCore({ perMessageDeflate: true }, createSocket)).toThrow(TypeError);
  });
});

describe("Session with an extension", () => {
  for (const how of ["close handshake", "terminate"] as const) {
    it(`closes the extension (frees zlib memory) after a ${how}`, async () => {
      let closed = 0;
      const spy: Extension = {
        name: "x-spy",
        rsvMask: 0x40,
        params: [],
        decodeMessage: () => undefined,
        encodeMessage: () => undefined,
        close: () => {
          closed++;
        },
      };
      const [clientTransport, serverTransport] = memoryTransportPair();
      const client = new Session(clientTransport, { role: "client", extensions: [spy] });
      const server = new Session(serverTransport, { role: "server" });
      clientTransport.receiver = client;
      serverTransport.receiver = server;
      client.start();
      server.start();
      if (how === "terminate") client.terminate();
      else client.close(1000);
      await client.closed;
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(closed).toBe(1);
    });
  }
});
