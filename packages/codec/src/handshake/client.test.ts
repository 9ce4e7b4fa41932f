import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { Extension, ExtensionFactory, ExtensionOffer } from "../extensions/extension.ts";
import {
  buildUpgradeRequest,
  checkUpgradeResponse,
  parseWebSocketUrl,
  upgradeRequestHeaders,
} from "./client.ts";
import { HttpHeadParser } from "./http-head.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

function outcome(error: unknown): unknown {
  return error instanceof HandshakeError ? { code: error.code, status: error.status } : error;
}

function fakeExtension(name: string, rsvMask: number, params: ExtensionOffer["params"]): Extension {
  return { name, rsvMask, params, decodeMessage: () => undefined, encodeMessage: () => undefined };
}

/** A factory offering `offers` that accepts a response unless it carries a `bad` parameter. */
function fakeFactory(
  name: string,
  rsvMask = 0x40,
  offers: readonly ExtensionOffer[] = [{ name, params: [] }],
): ExtensionFactory {
  return {
    name,
    offer: () => offers,
    accept(response) {
      if (response.params.some((param) => param.name === "bad")) {
        throw new HandshakeError(ErrorCode.BadExtensions, 101, `Cannot accept ${name}: bad parameter`);
      }
      return fakeExtension(name, rsvMask, response.params);
    },
    negotiate: () => undefined,
  };
}

function response(
  headers: Record<string, string | undefined> = {},
  status = 101,
): { status: number; headers: Record<string, string | undefined> } {
  return {
    status,
    headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-accept": ACCEPT, ...headers },
  };
}

describe("parseWebSocketUrl", () => {
  it("parseWebSocketUrl reads ws: and wss: URLs with default and explicit ports", () => {
    expect(parseWebSocketUrl("ws://example.com/chat?x=1")).toEqual({
      secure: false,
      hostname: "example.com",
      port: 80,
      host: "example.com",
      pathname: "/chat",
      search: "?x=1",
      href: "ws://example.com/chat?x=1",
    });
    expect(parseWebSocketUrl("wss://example.com:8443")).toMatchObject({
      secure: true,
      port: 8443,
      host: "example.com:8443",
      pathname: "/",
      search: "",
    });
    expect(parseWebSocketUrl("wss://example.com:443/")).toMatchObject({ port: 443, host: "example.com" });
    expect(parseWebSocketUrl("ws://example.com:80/")).toMatchObject({ port: 80, host: "example.com" });
  });

  it("parseWebSocketUrl maps http: and https: to ws: and wss:", () => {
    expect(parseWebSocketUrl("http://a.example/")).toMatchObject({
      secure: false,
      port: 80,
      href: "ws://a.example/",
    });
    expect(parseWebSocketUrl("HTTPS://a.example:8080/p")).toMatchObject({
      secure: true,
      port: 8080,
      href: "wss://a.example:8080/p",
    });
  });

  it("parseWebSocketUrl strips the brackets of an IPv6 hostname but keeps them in host", () => {
    expect(parseWebSocketUrl("ws://[::1]:9000/")).toMatchObject({
      hostname: "::1",
      host: "[::1]:9000",
      port: 9000,
    });
  });

  it("parseWebSocketUrl rejects other schemes, fragments and unparsable URLs with TypeError", () => {
    for (const url of [
      "ftp://a/",
      "file:///x",
      "ws://a/#frag",
      "ws://a/#",
      "not a url",
      "/relative",
      "ws://",
    ]) {
      expect(errorOf(() => parseWebSocketUrl(url))).toBeInstanceOf(TypeError);
    }
  });

  it("parseWebSocketUrl percent-encodes the path and query like the WHATWG URL parser", () => {
    expect(parseWebSocketUrl("ws://a/é b?q=é")).toMatchObject({
      pathname: "/%C3%A9%20b",
      search: "?q=%C3%A9",
    });
  });
});

describe("buildUpgradeRequest", () => {
  it("buildUpgradeRequest writes the RFC 6455 §1.3 sample request", () => {
    expect(
      buildUpgradeRequest({
        url: "ws://server.example.com/chat",
        key: KEY,
        origin: "http://example.com",
        protocols: ["chat", "superchat"],
      }),
    ).toBe(
      "GET /chat HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY}\r\n` +
        "Sec-WebSocket-Version: 13\r\n" +
        "Origin: http://example.com\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "\r\n",
    );
  });

  it("buildUpgradeRequest puts the port in Host only when it is not the default", () => {
    expect(buildUpgradeRequest({ url: "ws://a:8080/", key: KEY })).toContain("\r\nHost: a:8080\r\n");
    expect(buildUpgradeRequest({ url: "wss://a:443/", key: KEY })).toContain("\r\nHost: a\r\n");
    expect(buildUpgradeRequest({ url: "wss://a:80/", key: KEY })).toContain("\r\nHost: a:80\r\n");
  });

  it("buildUpgradeRequest accepts an already parsed URL", () => {
    const head = buildUpgradeRequest({ url: { host: "h:1", pathname: "/p", search: "?q" }, key: KEY });
    expect(head.startsWith("GET /p?q HTTP/1.1\r\nHost: h:1\r\n")).toBe(true);
    expect(
      buildUpgradeRequest({ url: parseWebSocketUrl("ws://h/x"), key: KEY }).startsWith("GET /x HTTP/1.1\r\n"),
    ).toBe(true);
  });

  it("buildUpgradeRequest offers each factory's offers in order", () => {
    const deflate = fakeFactory("permessage-deflate", 0x40, [
      { name: "permessage-deflate", params: [{ name: "client_max_window_bits", value: null }] },
      { name: "permessage-deflate", params: [] },
    ]);
    const head = buildUpgradeRequest({
      url: "ws://a/",
      key: KEY,
      extensions: [deflate, fakeFactory("x-b", 0x20)],
    });
    expect(head).toContain(
      "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate, x-b\r\n",
    );
  });

  it("buildUpgradeRequest appends extra headers and parses back with HttpHeadParser", () => {
    const head = buildUpgradeRequest({
      url: "ws://a/",
      key: KEY,
      headers: [
        ["Cookie", "a=1"],
        ["Authorization", "Bearer x"],
      ],
    });
    const parsed = new HttpHeadParser("request").push(Uint8Array.from(head, (c) => c.charCodeAt(0)));
    expect(parsed?.headers.slice(-2)).toEqual([
      ["Cookie", "a=1"],
      ["Authorization", "Bearer x"],
    ]);
  });

  it("buildUpgradeRequest throws TypeError when extra headers override handshake fields", () => {
    for (const headers of [
      { Host: "b" },
      { "Sec-WebSocket-Key": KEY },
      { "sec-websocket-protocol": "x" },
      { connection: "close" },
      { "Content-Length": "1" },
    ]) {
      expect(() => buildUpgradeRequest({ url: "ws://a/", key: KEY, headers })).toThrow(TypeError);
    }
    expect(() =>
      buildUpgradeRequest({ url: "ws://a/", key: KEY, origin: "http://a", headers: { Origin: "http://b" } }),
    ).toThrow(TypeError);
    expect(buildUpgradeRequest({ url: "ws://a/", key: KEY, headers: { Origin: "http://b" } })).toContain(
      "\r\nOrigin: http://b\r\n",
    );
  });

  it("buildUpgradeRequest throws TypeError for invalid or repeated subprotocols", () => {
    expect(() => buildUpgradeRequest({ url: "ws://a/", key: KEY, protocols: ["a b"] })).toThrow(TypeError);
    expect(() => buildUpgradeRequest({ url: "ws://a/", key: KEY, protocols: ["chat", "chat"] })).toThrow(
      TypeError,
    );
    expect(() => buildUpgradeRequest({ url: "ws://a/", key: KEY, protocols: [""] })).toThrow(TypeError);
  });

  it("buildUpgradeRequest throws TypeError for an invalid key, URL, or header injection", () => {
    expect(() => buildUpgradeRequest({ url: "ws://a/", key: "short" })).toThrow(TypeError);
    expect(() => buildUpgradeRequest({ url: "ws://a/#x", key: KEY })).toThrow(TypeError);
    expect(() => buildUpgradeRequest({ url: { host: "a\r\nX: 1", pathname: "/" }, key: KEY })).toThrow(
      TypeError,
    );
    expect(() => buildUpgradeRequest({ url: { host: "a", pathname: "/ HTTP/1.0" }, key: KEY })).toThrow(
      TypeError,
    );
    expect(() => buildUpgradeRequest({ url: "ws://a/", key: KEY, origin: "x\ny" })).toThrow(TypeError);
    expect(() => buildUpgradeRequest({ url: "ws://a/", key: KEY, headers: { "X-A": "\u00e9" } })).toThrow(
      TypeError,
    );
  });

  it("upgradeRequestHeaders gives the same fields as the head", () => {
    expect(upgradeRequestHeaders({ url: "ws://a:1/", key: KEY, protocols: ["p"] })).toEqual([
      ["Host", "a:1"],
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Key", KEY],
      ["Sec-WebSocket-Version", "13"],
      ["Sec-WebSocket-Protocol", "p"],
    ]);
  });
});

describe("checkUpgradeResponse", () => {
  it("checkUpgradeResponse accepts the RFC 6455 §1.3 sample response", () => {
    expect(
      checkUpgradeResponse(response({ "sec-websocket-protocol": "chat" }), {
        key: KEY,
        protocols: ["chat", "superchat"],
      }),
    ).toStrictEqual({ protocol: "chat", extensions: [], extensionsHeader: undefined });
  });

  it("checkUpgradeResponse accepts a response without a subprotocol even when some were offered", () => {
    expect(checkUpgradeResponse(response(), { key: KEY, protocols: ["chat"] }).protocol).toBeUndefined();
  });

  it("checkUpgradeResponse rejects any status but 101 with BAD_STATUS carrying that status", () => {
    for (const status of [200, 400, 426, 302]) {
      expect(outcome(errorOf(() => checkUpgradeResponse(response({}, status), { key: KEY })))).toEqual({
        code: ErrorCode.BadStatus,
        status,
      });
    }
  });

  it("checkUpgradeResponse requires Upgrade: websocket (case-insensitive)", () => {
    expect(checkUpgradeResponse(response({ upgrade: "WebSocket" }), { key: KEY }).protocol).toBeUndefined();
    for (const upgrade of [undefined, "h2c", "websocket2"]) {
      expect(outcome(errorOf(() => checkUpgradeResponse(response({ upgrade }), { key: KEY })))).toEqual({
        code: ErrorCode.BadUpgrade,
        status: 101,
      });
    }
  });

  it("checkUpgradeResponse requires Connection to hold Upgrade", () => {
    expect(
      checkUpgradeResponse(response({ connection: "keep-alive, upgrade" }), { key: KEY }).protocol,
    ).toBeUndefined();
    for (const connection of [undefined, "close"]) {
      expect(outcome(errorOf(() => checkUpgradeResponse(response({ connection }), { key: KEY })))).toEqual({
        code: ErrorCode.BadConnection,
        status: 101,
      });
    }
  });

  it("checkUpgradeResponse rejects a missing or wrong Sec-WebSocket-Accept with BAD_ACCEPT", () => {
    for (const accept of [undefined, "", ACCEPT.toLowerCase(), "dGhlIHNhbXBsZSBub25jZQ=="]) {
      expect(
        outcome(
          errorOf(() => checkUpgradeResponse(response({ "sec-websocket-accept": accept }), { key: KEY })),
        ),
      ).toEqual({
        code: ErrorCode.BadAccept,
        status: 101,
      });
    }
  });

  it("checkUpgradeResponse rejects a subprotocol that was not offered with BAD_SUBPROTOCOL", () => {
    const cases: [string, string[] | undefined][] = [
      ["chat", undefined],
      ["chat", []],
      ["other", ["chat"]],
      ["Chat", ["chat"]],
      ["chat, superchat", ["chat", "superchat"]],
      ["", ["chat"]],
    ];
    for (const [value, protocols] of cases) {
      const error = errorOf(() =>
        checkUpgradeResponse(response({ "sec-websocket-protocol": value }), { key: KEY, protocols }),
      );
      expect({ value, outcome: outcome(error) }).toEqual({
        value,
        outcome: { code: ErrorCode.BadSubprotocol, status: 101 },
      });
    }
  });

  it("checkUpgradeResponse accepts the extensions the server confirmed, in its order", () => {
    const result = checkUpgradeResponse(
      response({ "sec-websocket-extensions": "x-b, permessage-deflate; server_no_context_takeover" }),
      {
        key: KEY,
        extensions: [fakeFactory("permessage-deflate", 0x40), fakeFactory("x-b", 0x20)],
      },
    );
    expect(result.extensions.map((extension) => [extension.name, extension.params])).toEqual([
      ["x-b", []],
      ["permessage-deflate", [{ name: "server_no_context_takeover", value: null }]],
    ]);
    expect(result.extensionsHeader).toBe("x-b, permessage-deflate; server_no_context_takeover");
  });

  it("checkUpgradeResponse rejects an extension that was not offered with BAD_EXTENSIONS", () => {
    const error = errorOf(() =>
      checkUpgradeResponse(response({ "sec-websocket-extensions": "permessage-deflate" }), { key: KEY }),
    );
    expect(outcome(error)).toEqual({ code: ErrorCode.BadExtensions, status: 101 });
  });

  it("checkUpgradeResponse rejects an extension the server confirmed twice", () => {
    const error = errorOf(() =>
      checkUpgradeResponse(response({ "sec-websocket-extensions": "a, a" }), {
        key: KEY,
        extensions: [fakeFactory("a")],
      }),
    );
    expect(outcome(error)).toEqual({ code: ErrorCode.BadExtensions, status: 101 });
  });

  it("checkUpgradeResponse rejects an extension its factory refuses", () => {
    const error = errorOf(() =>
      checkUpgradeResponse(response({ "sec-websocket-extensions": "a; bad" }), {
        key: KEY,
        extensions: [fakeFactory("a")],
      }),
    );
    expect(outcome(error)).toEqual({ code: ErrorCode.BadExtensions, status: 101 });
  });

  it("checkUpgradeResponse rejects two extensions that use the same RSV bit", () => {
    const error = errorOf(() =>
      checkUpgradeResponse(response({ "sec-websocket-extensions": "a, b" }), {
        key: KEY,
        extensions: [fakeFactory("a", 0x40), fakeFactory("b", 0x40)],
      }),
    );
    expect(outcome(error)).toEqual({ code: ErrorCode.BadExtensions, status: 101 });
  });

  it("checkUpgradeResponse rejects a malformed Sec-WebSocket-Extensions with BAD_EXTENSIONS", () => {
    const error = errorOf(() =>
      checkUpgradeResponse(response({ "sec-websocket-extensions": "a;;" }), {
        key: KEY,
        extensions: [fakeFactory("a")],
      }),
    );
    expect(outcome(error)).toEqual({ code: ErrorCode.BadExtensions, status: 101 });
  });

  it("checkUpgradeResponse throws nothing but HandshakeError for arbitrary header values (fast-check)", () => {
    const names = [
      "upgrade",
      "connection",
      "sec-websocket-accept",
      "sec-websocket-protocol",
      "sec-websocket-extensions",
    ];
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...names), fc.string({ maxLength: 30 })),
        fc.integer({ min: 100, max: 599 }),
        (overrides, status) => {
          try {
            checkUpgradeResponse(response(overrides, status), {
              key: KEY,
              protocols: ["chat"],
              extensions: [fakeFactory("a")],
            });
          } catch (error) {
            expect(error).toBeInstanceOf(HandshakeError);
          }
        },
      ),
    );
  });
});
