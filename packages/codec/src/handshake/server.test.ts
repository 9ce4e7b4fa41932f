import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { Extension, ExtensionFactory, ExtensionOffer } from "../extensions/extension.ts";
import { HttpHeadParser } from "./http-head.ts";
import {
  acceptResponseHeaders,
  buildAcceptResponse,
  buildRejectResponse,
  checkUpgradeRequest,
  rejectResponseParts,
  type UpgradeRequest,
} from "./server.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function request(
  headers: Record<string, string | undefined> = {},
  method = "GET",
  httpVersion = "1.1",
): UpgradeRequest {
  return {
    method,
    httpVersion,
    headers: {
      host: "server.example.com",
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": KEY,
      "sec-websocket-version": "13",
      ...headers,
    },
  };
}

function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

function outcome(error: unknown): unknown {
  return error instanceof HandshakeError
    ? { code: error.code, status: error.status, headers: error.headers }
    : error;
}

function fakeExtension(name: string, rsvMask: number, params: ExtensionOffer["params"]): Extension {
  return { name, rsvMask, params, decodeMessage: () => undefined, encodeMessage: () => undefined };
}

/** A factory that accepts the first offer holding no `reject` parameter and answers it as is. */
function fakeFactory(name: string, rsvMask = 0x40): ExtensionFactory & { calls: ExtensionOffer[][] } {
  const calls: ExtensionOffer[][] = [];
  return {
    name,
    calls,
    offer: () => [{ name, params: [] }],
    accept: (response) => fakeExtension(name, rsvMask, response.params),
    negotiate(offers) {
      calls.push([...offers]);
      const chosen = offers.find((offer) => !offer.params.some((param) => param.name === "reject"));
      if (chosen === undefined) return undefined;
      return { response: chosen, extension: fakeExtension(name, rsvMask, chosen.params) };
    },
  };
}

describe("checkUpgradeRequest", () => {
  it("checkUpgradeRequest accepts the RFC 6455 §1.3 sample request", () => {
    const result = checkUpgradeRequest(
      request({ origin: "http://example.com", "sec-websocket-protocol": "chat, superchat" }),
    );
    expect(result).toStrictEqual({
      key: KEY,
      accept: ACCEPT,
      protocol: undefined,
      offeredProtocols: ["chat", "superchat"],
      extensions: [],
      extensionsHeader: undefined,
      offeredExtensions: [],
    });
  });

  it("checkUpgradeRequest accepts a head from HttpHeadParser", () => {
    const text =
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n" +
      `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const head = new HttpHeadParser("request").push(Uint8Array.from(text, (c) => c.charCodeAt(0)));
    expect(head).toBeInstanceOf(Object);
    expect(checkUpgradeRequest(head!).accept).toBe(ACCEPT);
  });

  it("checkUpgradeRequest accepts WHATWG-style pair lists and mixed-case names", () => {
    const result = checkUpgradeRequest({
      method: "GET",
      headers: [
        ["Host", "a"],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", KEY],
        ["Sec-WebSocket-Version", "13"],
      ],
    });
    expect(result.accept).toBe(ACCEPT);
  });

  it("checkUpgradeRequest answers 405 with Allow: GET for a POST", () => {
    expect(outcome(errorOf(() => checkUpgradeRequest(request({}, "POST"))))).toEqual({
      code: ErrorCode.BadMethod,
      status: 405,
      headers: { Allow: "GET" },
    });
  });

  it("checkUpgradeRequest treats the method case-sensitively", () => {
    expect(outcome(errorOf(() => checkUpgradeRequest(request({}, "get"))))).toMatchObject({ status: 405 });
  });

  it("checkUpgradeRequest answers 400 for HTTP/1.0", () => {
    expect(outcome(errorOf(() => checkUpgradeRequest(request({}, "GET", "1.0"))))).toEqual({
      code: ErrorCode.BadHttpVersion,
      status: 400,
      headers: {},
    });
    expect(outcome(errorOf(() => checkUpgradeRequest(request({}, "GET", "x"))))).toMatchObject({
      status: 400,
    });
    expect(checkUpgradeRequest(request({}, "GET", "2.0")).accept).toBe(ACCEPT);
  });

  it("checkUpgradeRequest answers 400 MISSING_HOST without a Host", () => {
    expect(outcome(errorOf(() => checkUpgradeRequest(request({ host: undefined }))))).toMatchObject({
      code: ErrorCode.MissingHost,
      status: 400,
    });
    expect(outcome(errorOf(() => checkUpgradeRequest(request({ host: "" }))))).toMatchObject({
      code: ErrorCode.MissingHost,
    });
  });

  it("checkUpgradeRequest answers 400 BAD_UPGRADE when Upgrade lacks websocket", () => {
    for (const upgrade of [undefined, "h2c", "websockets", ""]) {
      expect(outcome(errorOf(() => checkUpgradeRequest(request({ upgrade }))))).toEqual({
        code: ErrorCode.BadUpgrade,
        status: 400,
        headers: {},
      });
    }
    expect(checkUpgradeRequest(request({ upgrade: "h2c, WebSocket" })).accept).toBe(ACCEPT);
  });

  it("checkUpgradeRequest answers 400 BAD_CONNECTION when Connection lacks upgrade", () => {
    for (const connection of [undefined, "keep-alive", "upgraded"]) {
      expect(outcome(errorOf(() => checkUpgradeRequest(request({ connection }))))).toMatchObject({
        code: ErrorCode.BadConnection,
        status: 400,
      });
    }
    expect(checkUpgradeRequest(request({ connection: "keep-alive, UPGRADE" })).accept).toBe(ACCEPT);
  });

  it("checkUpgradeRequest answers 426 with Sec-WebSocket-Version: 13 for version 8", () => {
    expect(outcome(errorOf(() => checkUpgradeRequest(request({ "sec-websocket-version": "8" }))))).toEqual({
      code: ErrorCode.UnsupportedVersion,
      status: 426,
      headers: { "Sec-WebSocket-Version": "13", Upgrade: "websocket" },
    });
  });

  it("checkUpgradeRequest answers 426 when Sec-WebSocket-Version is missing or repeated", () => {
    for (const version of [undefined, "13, 13", " 14", "013"]) {
      expect(
        outcome(errorOf(() => checkUpgradeRequest(request({ "sec-websocket-version": version })))),
      ).toMatchObject({
        code: ErrorCode.UnsupportedVersion,
        status: 426,
      });
    }
  });

  it("checkUpgradeRequest answers 400 BAD_KEY for a missing key or one that is not 16 base64 bytes", () => {
    for (const key of [
      undefined,
      "",
      "dGhlIHNhbXBsZQ==",
      "dGhlIHNhbXBsZSBub25jZQ",
      "dGhlIHNhbXBsZSBub25jZR==",
      "!!!!!!!!!!!!!!!!!!!!!!==",
    ]) {
      expect(outcome(errorOf(() => checkUpgradeRequest(request({ "sec-websocket-key": key }))))).toEqual({
        code: ErrorCode.BadKey,
        status: 400,
        headers: {},
      });
    }
  });

  it("checkUpgradeRequest picks the first protocol the client offered that the server supports", () => {
    const offered = request({ "sec-websocket-protocol": "superchat, chat" });
    expect(checkUpgradeRequest(offered, { protocols: ["chat", "superchat"] }).protocol).toBe("superchat");
    expect(checkUpgradeRequest(offered, { protocols: ["chat"] }).protocol).toBe("chat");
    expect(checkUpgradeRequest(offered, { protocols: ["other"] }).protocol).toBeUndefined();
    expect(checkUpgradeRequest(offered).protocol).toBeUndefined();
    expect(checkUpgradeRequest(request(), { protocols: ["chat"] }).protocol).toBeUndefined();
  });

  it("checkUpgradeRequest compares subprotocols case-sensitively", () => {
    expect(
      checkUpgradeRequest(request({ "sec-websocket-protocol": "Chat" }), { protocols: ["chat"] }).protocol,
    ).toBeUndefined();
  });

  it("checkUpgradeRequest lets a function choose among the offered protocols", () => {
    const seen: (readonly string[])[] = [];
    const choose = (offered: readonly string[]): string | undefined => {
      seen.push(offered);
      return offered[offered.length - 1];
    };
    expect(
      checkUpgradeRequest(request({ "sec-websocket-protocol": "a, b" }), { protocols: choose }).protocol,
    ).toBe("b");
    expect(checkUpgradeRequest(request(), { protocols: choose }).protocol).toBeUndefined();
    expect(seen).toEqual([["a", "b"]]);
  });

  it("checkUpgradeRequest throws TypeError when the function picks a protocol not offered", () => {
    expect(() =>
      checkUpgradeRequest(request({ "sec-websocket-protocol": "a" }), { protocols: () => "b" }),
    ).toThrow(TypeError);
  });

  it("checkUpgradeRequest answers 400 BAD_SUBPROTOCOL for an invalid or repeated protocol", () => {
    for (const value of ["a b", "a, a", "a;b"]) {
      expect(
        outcome(errorOf(() => checkUpgradeRequest(request({ "sec-websocket-protocol": value })))),
      ).toMatchObject({
        code: ErrorCode.BadSubprotocol,
        status: 400,
      });
    }
  });

  it("checkUpgradeRequest gives each extension factory its offers, in the order of the factories", () => {
    const deflate = fakeFactory("permessage-deflate", 0x40);
    const other = fakeFactory("x-other", 0x20);
    const unused = fakeFactory("x-unused", 0x10);
    const result = checkUpgradeRequest(
      request({
        "sec-websocket-extensions":
          "x-other, permessage-deflate; reject, x-unknown, permessage-deflate; client_max_window_bits",
      }),
      { extensions: [deflate, other, unused] },
    );
    expect(deflate.calls).toEqual([
      [
        { name: "permessage-deflate", params: [{ name: "reject", value: null }] },
        { name: "permessage-deflate", params: [{ name: "client_max_window_bits", value: null }] },
      ],
    ]);
    expect(other.calls).toEqual([[{ name: "x-other", params: [] }]]);
    expect(unused.calls).toEqual([]);
    expect(result.extensions.map((extension) => extension.name)).toEqual(["permessage-deflate", "x-other"]);
    expect(result.extensionsHeader).toBe("permessage-deflate; client_max_window_bits, x-other");
    expect(result.offeredExtensions.length).toBe(4);
  });

  it("checkUpgradeRequest leaves extensionsHeader undefined when every factory declines", () => {
    const result = checkUpgradeRequest(
      request({ "sec-websocket-extensions": "permessage-deflate; reject" }),
      {
        extensions: [fakeFactory("permessage-deflate")],
      },
    );
    expect(result.extensions).toEqual([]);
    expect(result.extensionsHeader).toBeUndefined();
  });

  it("checkUpgradeRequest skips an extension whose RSV bits clash with one already accepted", () => {
    const result = checkUpgradeRequest(request({ "sec-websocket-extensions": "a, b" }), {
      extensions: [fakeFactory("a", 0x40), fakeFactory("b", 0x40)],
    });
    expect(result.extensionsHeader).toBe("a");
  });

  it("checkUpgradeRequest throws TypeError for two factories with the same name", () => {
    expect(() =>
      checkUpgradeRequest(request({ "sec-websocket-extensions": "a" }), {
        extensions: [fakeFactory("a"), fakeFactory("a")],
      }),
    ).toThrow(TypeError);
  });

  it("checkUpgradeRequest answers 400 BAD_EXTENSIONS for a malformed Sec-WebSocket-Extensions", () => {
    expect(
      outcome(
        errorOf(() =>
          checkUpgradeRequest(request({ "sec-websocket-extensions": 'a; b="1 2"' }), {
            extensions: [fakeFactory("x-other")],
          }),
        ),
      ),
    ).toEqual({
      code: ErrorCode.BadExtensions,
      status: 400,
      headers: {},
    });
  });

  it("checkUpgradeRequest does not read Sec-WebSocket-Extensions without extensions configured", () => {
    // RFC 6455 §9.1: a server answers only the extensions it supports; with none, no value can
    // change the answer, so a malformed one is not refused (as ws does without deflate).
    for (const value of ['a; b="1 2"', `x;${"=".repeat(12_000)}`, `permessage-deflate${" ;".repeat(5000)}`]) {
      for (const options of [{}, { extensions: [] }]) {
        const result = checkUpgradeRequest(request({ "sec-websocket-extensions": value }), options);
        expect(result.extensions).toEqual([]);
        expect(result.extensionsHeader).toBeUndefined();
        expect(result.offeredExtensions).toEqual([]);
      }
    }
    // A well-formed value is still there to read.
    const result = checkUpgradeRequest(request({ "sec-websocket-extensions": "x-a; b=1, x-c" }));
    expect(result.offeredExtensions).toEqual([
      { name: "x-a", params: [{ name: "b", value: "1" }] },
      { name: "x-c", params: [] },
    ]);
  });

  it("checkUpgradeRequest finds its extension's offers in a long list and still refuses a malformed element anywhere", () => {
    // A hostile value holds thousands of list elements: the factory gets only its own offers,
    // the full list is there when asked for, and the grammar is checked to the end.
    const deflate = fakeFactory("permessage-deflate");
    const value = `${"a, ".repeat(3000)}permessage-deflate; x=1, ${"b; c=d; e, ".repeat(500)}z`;
    const result = checkUpgradeRequest(request({ "sec-websocket-extensions": value }), {
      extensions: [deflate],
    });
    expect(deflate.calls).toEqual([[{ name: "permessage-deflate", params: [{ name: "x", value: "1" }] }]]);
    expect(result.extensionsHeader).toBe("permessage-deflate; x=1");
    expect(result.offeredExtensions.length).toBe(3502);
    expect(result.offeredExtensions[3000]).toEqual({
      name: "permessage-deflate",
      params: [{ name: "x", value: "1" }],
    });
    expect(result.offeredExtensions[3001]).toEqual({
      name: "b",
      params: [
        { name: "c", value: "d" },
        { name: "e", value: null },
      ],
    });
    for (const bad of [`${value}, q;`, `x;=, ${value}`, `${"a, ".repeat(3000)}b="1"`]) {
      for (const extensions of [[fakeFactory("x-unrelated")], [fakeFactory("permessage-deflate")]]) {
        expect(
          outcome(
            errorOf(() => checkUpgradeRequest(request({ "sec-websocket-extensions": bad }), { extensions })),
          ),
        ).toEqual({ code: ErrorCode.BadExtensions, status: 400, headers: {} });
      }
    }
  });

  it("checkUpgradeRequest quotes at most the start of a long invalid subprotocol in its error", () => {
    const error = errorOf(() =>
      checkUpgradeRequest(request({ "sec-websocket-protocol": `a${" ".repeat(12_000)}!` })),
    );
    expect(outcome(error)).toMatchObject({ code: ErrorCode.BadSubprotocol, status: 400 });
    expect((error as HandshakeError).message.length).toBeLessThan(200);
    expect((error as HandshakeError).message).toContain("(12002 characters)");
  });

  it("checkUpgradeRequest throws nothing but HandshakeError for arbitrary header values (fast-check)", () => {
    const names = [
      "host",
      "upgrade",
      "connection",
      "sec-websocket-key",
      "sec-websocket-version",
      "sec-websocket-protocol",
      "sec-websocket-extensions",
    ];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.string({ maxLength: 30 })), (overrides) => {
        try {
          checkUpgradeRequest(request(overrides), { protocols: ["chat"], extensions: [fakeFactory("a")] });
        } catch (error) {
          expect(error).toBeInstanceOf(HandshakeError);
        }
      }),
    );
  });
});

describe("buildAcceptResponse", () => {
  it("buildAcceptResponse writes the RFC 6455 §1.3 sample response", () => {
    expect(buildAcceptResponse({ accept: ACCEPT, protocol: "chat" })).toBe(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        "Sec-WebSocket-Protocol: chat\r\n" +
        "\r\n",
    );
  });

  it("buildAcceptResponse takes the result of checkUpgradeRequest directly", () => {
    const result = checkUpgradeRequest(
      request({ "sec-websocket-extensions": "a; x=1", "sec-websocket-protocol": "chat" }),
      {
        protocols: ["chat"],
        extensions: [fakeFactory("a")],
      },
    );
    const head = buildAcceptResponse(result);
    expect(head).toContain("\r\nSec-WebSocket-Protocol: chat\r\n");
    expect(head).toContain("\r\nSec-WebSocket-Extensions: a; x=1\r\n");
    const parsed = new HttpHeadParser("response").push(Uint8Array.from(head, (c) => c.charCodeAt(0)));
    expect(parsed?.status).toBe(101);
  });

  it("acceptResponseHeaders lists the fields with extra headers last", () => {
    expect(
      acceptResponseHeaders({
        accept: ACCEPT,
        extensionsHeader: "a",
        headers: { "Set-Cookie": ["a=1", "b=2"] },
      }),
    ).toEqual([
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Accept", ACCEPT],
      ["Sec-WebSocket-Extensions", "a"],
      ["Set-Cookie", "a=1"],
      ["Set-Cookie", "b=2"],
    ]);
  });

  it("acceptResponseHeaders throws TypeError when extra headers override handshake fields or inject lines", () => {
    for (const headers of [
      { Connection: "close" },
      { "sec-websocket-protocol": "x" },
      { UPGRADE: "h2c" },
      { "X-A": "1\r\nX-B: 2" },
      { "X A": "1" },
    ]) {
      expect(() => acceptResponseHeaders({ accept: ACCEPT, headers })).toThrow(TypeError);
    }
  });
});

describe("buildRejectResponse", () => {
  it("buildRejectResponse answers 426 with Sec-WebSocket-Version: 13 and Upgrade", () => {
    const error = errorOf(() => checkUpgradeRequest(request({ "sec-websocket-version": "8" })));
    expect(error).toBeInstanceOf(HandshakeError);
    const response = buildRejectResponse(error as HandshakeError);
    const [head, body] = response.split("\r\n\r\n");
    expect(head?.split("\r\n")).toEqual([
      "HTTP/1.1 426 Upgrade Required",
      "Connection: Upgrade, close",
      "Content-Type: text/plain; charset=utf-8",
      `Content-Length: ${body?.length}`,
      "Sec-WebSocket-Version: 13",
      "Upgrade: websocket",
    ]);
    expect(body).toBe((error as HandshakeError).message);
  });

  it("buildRejectResponse writes a 405 with Allow: GET", () => {
    const error = errorOf(() => checkUpgradeRequest(request({}, "PUT"))) as HandshakeError;
    const response = buildRejectResponse(error);
    expect(response.startsWith("HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n")).toBe(true);
    expect(response).toContain("\r\nAllow: GET\r\n");
  });

  it("buildRejectResponse writes a custom status, headers and body with a UTF-8 Content-Length", () => {
    expect(buildRejectResponse({ status: 403, headers: { "X-Reason": "origin" }, body: "Nope é" })).toBe(
      "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 7\r\nX-Reason: origin\r\n\r\nNope é",
    );
  });

  it("buildRejectResponse defaults the body to the reason phrase and keeps a given Content-Type", () => {
    expect(buildRejectResponse({ status: 400, headers: { "content-type": "text/html" } })).toBe(
      "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 11\r\ncontent-type: text/html\r\n\r\nBad Request",
    );
  });

  it("rejectResponseParts gives the parts for a Response object", () => {
    expect(rejectResponseParts({ status: 503, body: "busy" })).toEqual({
      status: 503,
      statusText: "Service Unavailable",
      headers: [
        ["Connection", "close"],
        ["Content-Type", "text/plain; charset=utf-8"],
        ["Content-Length", "4"],
      ],
      body: "busy",
    });
  });

  it("buildRejectResponse throws RangeError for a status outside 100–599 and TypeError for reserved headers", () => {
    expect(() => buildRejectResponse({ status: 0 })).toThrow(RangeError);
    expect(() => buildRejectResponse({ status: 600 })).toThrow(RangeError);
    expect(() => buildRejectResponse({ status: 400, headers: { "Content-Length": "1" } })).toThrow(TypeError);
    expect(() => buildRejectResponse({ status: 400, headers: { Connection: "keep-alive" } })).toThrow(
      TypeError,
    );
  });
});
