import { describe, expect, it } from "vitest";
import { splitClientArguments } from "./dial.ts";
import { ServerCore, type ServerCoreOptions } from "./server-core.ts";
import { WebSocket } from "./websocket.ts";

function server(options: Record<string, unknown>, runtimeKeys: string[] = []): ServerCore<string, WebSocket> {
  return new ServerCore<string, WebSocket>(
    options as ServerCoreOptions,
    (url, init) => new WebSocket(url, undefined, init),
    runtimeKeys,
  );
}

const client = (options: Record<string, unknown>) => splitClientArguments(options, undefined);

describe("options are checked (one schema for every runtime)", () => {
  it("accepts the documented options and the adapter's runtime keys", () => {
    expect(() =>
      server(
        {
          path: "/chat",
          protocols: ["chat"],
          verify: () => true,
          clientTracking: false,
          handshakeTimeout: 100,
          maxConnections: 10,
          limits: { maxMessageSize: 1024, maxBufferedAmount: 4096 },
          closeTimeout: 1000,
          heartbeat: { interval: 100, timeout: 50 },
          verifyTls: undefined,
          port: 0,
        },
        ["port", "verifyTls"],
      ),
    ).not.toThrow();
    expect(() =>
      client({ protocols: ["a"], headers: {}, limits: { maxFrameSize: 10 }, closeTimeout: 0 }),
    ).not.toThrow();
  });

  it("points users of ws at our equivalents", () => {
    expect(() => server({ verifyClient: () => false })).toThrow(
      new TypeError(
        "Cannot create WebSocketServer: unknown option verifyClient (from ws?): use verify (sync or async; return true, false or a verdict with status and headers)",
      ),
    );
    expect(() => server({ maxPayload: 8 })).toThrow(/maxPayload.*limits: \{ maxMessageSize \}/);
    expect(() => server({ handleProtocols: () => "x" })).toThrow(/handleProtocols.*use protocols/);
    expect(() => server({ skipUTF8Validation: true })).toThrow(/always validated/);
    expect(() => server({ backlog: 10 })).toThrow(TypeError);
    expect(() => client({ maxPayload: 8 })).toThrow(/Cannot create WebSocket: unknown option maxPayload/);
  });

  it("names unknown options, with the closest known name, also inside limits and heartbeat", () => {
    expect(() => server({ verfy: () => true })).toThrow(
      new TypeError("Cannot create WebSocketServer: unknown option verfy (did you mean verify?)"),
    );
    expect(() => server({ limits: { maxMesageSize: 1 } })).toThrow(
      new TypeError(
        "Cannot create WebSocketServer: option limits: unknown option maxMesageSize (did you mean maxMessageSize?)",
      ),
    );
    expect(() => client({ heartbeat: { interval: 1, timeot: 1 } })).toThrow(/unknown option timeot/);
    expect(() => client({ nonsense: 1 })).toThrow(
      new TypeError("Cannot create WebSocket: unknown option nonsense"),
    );
  });

  it("checks types and ranges", () => {
    expect(() => server({ closeTimeout: "5s" })).toThrow(
      new TypeError(
        'Cannot create WebSocketServer: option closeTimeout must be a number of milliseconds, got "5s"',
      ),
    );
    expect(() => server({ verify: "yes" })).toThrow(
      new TypeError('Cannot create WebSocketServer: option verify must be a function, got "yes"'),
    );
    expect(() => server({ limits: { maxMessageSize: -1 } })).toThrow(RangeError);
    expect(() => server({ limits: { maxBufferedAmount: 1.5 } })).toThrow(RangeError);
    expect(() => server({ limits: 5 })).toThrow(/option limits must be an object, got 5/);
    expect(() => server({ maxConnections: 0 })).toThrow(RangeError);
    expect(() => server({ binaryType: "buffer" })).toThrow(/one of "blob", "arraybuffer", "uint8array"/);
    expect(() => server({ protocols: "chat" })).toThrow(TypeError);
    expect(() => client({ handshakeTimeout: -5 })).toThrow(RangeError);
    expect(() => client({ followRedirects: "yes" })).toThrow(TypeError);
    expect(() => client({ reportError: 1 })).toThrow(TypeError);
    expect(() => server({ idleTimeout: "1s" })).toThrow(TypeError);
    expect(() => server({ idleTimeout: -1 })).toThrow(RangeError);
  });
});
