import { describe, expect, it } from "vitest";
import { ErrorCode, HandshakeError } from "../errors.ts";
import type { DeflateEngine } from "../extensions/deflate-engine.ts";
import { permessageDeflate } from "../extensions/permessage-deflate.ts";
import {
  checkExtendedConnectRequest,
  checkExtendedConnectResponse,
  extendedConnectRejection,
  extendedConnectRequestHeaders,
  extendedConnectResponseHeaders,
  isExtendedConnect,
} from "./extended-connect.ts";
import type { UpgradeRequest } from "./server.ts";

/** Negotiation never compresses: an engine that fails if it is ever asked to. */
const negotiationOnly: DeflateEngine = {
  createCompressor: () => {
    throw new Error("negotiation must not create a compressor");
  },
  createDecompressor: () => {
    throw new Error("negotiation must not create a decompressor");
  },
};

function request(headers: Record<string, string | undefined> = {}): UpgradeRequest {
  const all: Record<string, string | undefined> = {
    ":method": "CONNECT",
    ":protocol": "websocket",
    ":scheme": "https",
    ":path": "/chat?room=1",
    ":authority": "server.example.com",
    "sec-websocket-version": "13",
    ...headers,
  };
  return { method: all[":method"] ?? "CONNECT", httpVersion: "2.0", headers: all };
}

function errorOf(action: () => unknown): HandshakeError {
  try {
    action();
  } catch (error) {
    if (error instanceof HandshakeError) return error;
    throw error;
  }
  throw new Error("expected a HandshakeError");
}

describe("checkExtendedConnectRequest (RFC 8441 §4–5)", () => {
  it("accepts a minimal Extended CONNECT, with no key and no accept value", () => {
    const accepted = checkExtendedConnectRequest(request());
    expect(accepted).toMatchObject({ key: "", accept: "", protocol: undefined, extensionsHeader: undefined });
    expect(accepted.offeredProtocols).toEqual([]);
  });

  const rejections: [Record<string, string | undefined>, number, string][] = [
    [{ ":method": "GET" }, 405, ErrorCode.BadMethod],
    [{ ":protocol": undefined }, 400, ErrorCode.BadUpgrade],
    [{ ":protocol": "connect-udp" }, 400, ErrorCode.BadUpgrade],
    [{ ":scheme": undefined }, 400, ErrorCode.MalformedHead],
    [{ ":scheme": "ws" }, 400, ErrorCode.MalformedHead],
    [{ ":path": undefined }, 400, ErrorCode.MalformedHead],
    [{ ":path": "*" }, 400, ErrorCode.MalformedHead],
    [{ ":authority": undefined }, 400, ErrorCode.MissingHost],
    [{ "sec-websocket-version": undefined }, 400, ErrorCode.UnsupportedVersion],
    [{ "sec-websocket-version": "8" }, 400, ErrorCode.UnsupportedVersion],
    [{ "sec-websocket-protocol": "chat, chat" }, 400, ErrorCode.BadSubprotocol],
    [{ "sec-websocket-extensions": "permessage-deflate; =" }, 400, ErrorCode.BadExtensions],
  ];
  for (const [headers, status, code] of rejections) {
    it(`rejects ${JSON.stringify(headers)} with ${status} ${code}`, () => {
      // The extensions value is checked by a server that has extensions (see server.ts).
      const error = errorOf(() =>
        checkExtendedConnectRequest(request(headers), {
          extensions: [permessageDeflate({ engine: negotiationOnly })],
        }),
      );
      expect(error.status).toBe(status);
      expect(error.code).toBe(code);
    });
  }

  it("does not read sec-websocket-extensions without extensions configured", () => {
    const accepted = checkExtendedConnectRequest(
      request({ "sec-websocket-extensions": "permessage-deflate; =" }),
    );
    expect(accepted.extensions).toEqual([]);
    expect(accepted.offeredExtensions).toEqual([]);
  });

  it("answers a version mismatch with sec-websocket-version: 13 and no Upgrade (400, not 426)", () => {
    const error = errorOf(() => checkExtendedConnectRequest(request({ "sec-websocket-version": "8" })));
    expect(error.headers).toEqual({ "sec-websocket-version": "13" });
    const parts = extendedConnectRejection(error);
    expect(parts.status).toBe(400);
    expect(parts.headers).toContainEqual(["sec-websocket-version", "13"]);
    expect(parts.body).toMatch(/not supported/);
  });

  it("accepts a Host header in place of :authority (RFC 9113 §8.3.1) and ignores a key", () => {
    const accepted = checkExtendedConnectRequest(
      request({ ":authority": undefined, host: "a.example", "sec-websocket-key": "whatever" }),
    );
    expect(accepted.accept).toBe("");
  });

  it("selects the subprotocol as over HTTP/1.1", () => {
    const accepted = checkExtendedConnectRequest(request({ "sec-websocket-protocol": "chat, superchat" }), {
      protocols: ["superchat", "chat"],
    });
    expect(accepted.protocol).toBe("chat");
    expect(accepted.offeredProtocols).toEqual(["chat", "superchat"]);
  });

  it("negotiates permessage-deflate as over HTTP/1.1", () => {
    const accepted = checkExtendedConnectRequest(
      request({ "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" }),
      { extensions: [permessageDeflate({ engine: negotiationOnly })] },
    );
    expect(accepted.extensions).toHaveLength(1);
    expect(accepted.extensionsHeader).toMatch(/^permessage-deflate/);
  });

  it("routes only a CONNECT with :protocol websocket", () => {
    expect(isExtendedConnect(request().headers)).toBe(true);
    expect(isExtendedConnect(request({ ":protocol": "WebSocket" }).headers)).toBe(true);
    expect(isExtendedConnect(request({ ":protocol": undefined }).headers)).toBe(false);
    expect(isExtendedConnect(request({ ":method": "GET" }).headers)).toBe(false);
  });
});

describe("extendedConnectResponseHeaders", () => {
  it("lists the negotiated fields in lower case, then extra ones", () => {
    expect(
      extendedConnectResponseHeaders({
        protocol: "chat",
        extensionsHeader: "permessage-deflate",
        headers: { "Set-Cookie": "a=1" },
      }),
    ).toEqual([
      ["sec-websocket-protocol", "chat"],
      ["sec-websocket-extensions", "permessage-deflate"],
      ["set-cookie", "a=1"],
    ]);
  });

  for (const name of ["Connection", "upgrade", "Transfer-Encoding", ":status", "Sec-WebSocket-Accept"]) {
    it(`refuses the extra field ${name}`, () => {
      expect(() => extendedConnectResponseHeaders({ headers: { [name]: "x" } })).toThrow(TypeError);
    });
  }
});

describe("extendedConnectRejection", () => {
  it("drops connection-specific fields HTTP/2 forbids and counts the body", () => {
    const parts = extendedConnectRejection({
      status: 401,
      headers: { Upgrade: "websocket", "WWW-Authenticate": "Bearer" },
      body: "é",
    });
    expect(parts).toEqual({
      status: 401,
      headers: [
        ["content-type", "text/plain; charset=utf-8"],
        ["www-authenticate", "Bearer"],
        ["content-length", "2"],
      ],
      body: "é",
    });
  });

  it("uses the reason phrase as the default body and refuses a bad status", () => {
    expect(extendedConnectRejection({ status: 403 }).body).toBe("Forbidden");
    expect(() => extendedConnectRejection({ status: 99 })).toThrow(RangeError);
  });
});

describe("extendedConnectRequestHeaders", () => {
  it("writes the pseudo-header fields first, scheme from the URL (RFC 8441 §5)", () => {
    expect(
      extendedConnectRequestHeaders({
        url: "ws://example.com:8080/chat?x=1",
        protocols: ["chat", "superchat"],
        origin: "http://example.com",
        headers: { Cookie: "a=1" },
      }),
    ).toEqual([
      [":method", "CONNECT"],
      [":protocol", "websocket"],
      [":scheme", "http"],
      [":path", "/chat?x=1"],
      [":authority", "example.com:8080"],
      ["sec-websocket-version", "13"],
      ["origin", "http://example.com"],
      ["sec-websocket-protocol", "chat, superchat"],
      ["cookie", "a=1"],
    ]);
    expect(extendedConnectRequestHeaders({ url: "wss://example.com/" })[2]).toEqual([":scheme", "https"]);
  });

  it("offers permessage-deflate as over HTTP/1.1", () => {
    const fields = extendedConnectRequestHeaders({
      url: "wss://example.com/",
      extensions: [permessageDeflate({ engine: negotiationOnly })],
    });
    expect(fields).toContainEqual(["sec-websocket-extensions", "permessage-deflate; client_max_window_bits"]);
  });

  for (const name of ["Host", "Connection", ":path", "Sec-WebSocket-Key", "Content-Length"]) {
    it(`refuses the extra field ${name}`, () => {
      expect(() => extendedConnectRequestHeaders({ url: "ws://a/", headers: { [name]: "x" } })).toThrow(
        TypeError,
      );
    });
  }

  it("refuses duplicate subprotocols", () => {
    expect(() => extendedConnectRequestHeaders({ url: "ws://a/", protocols: ["a", "a"] })).toThrow(TypeError);
  });
});

describe("checkExtendedConnectResponse", () => {
  it("accepts 200 with the offered subprotocol; ignores pseudo-headers", () => {
    const confirmed = checkExtendedConnectResponse(
      { status: 200, headers: { ":status": "200", "sec-websocket-protocol": "chat" } },
      { protocols: ["chat"] },
    );
    expect(confirmed).toEqual({ protocol: "chat", extensions: [], extensionsHeader: undefined });
  });

  it("fails on a status other than 2xx with BAD_STATUS and that status", () => {
    const error = errorOf(() => checkExtendedConnectResponse({ status: 400, headers: {} }, {}));
    expect(error).toMatchObject({ code: ErrorCode.BadStatus, status: 400 });
  });

  it("fails on a subprotocol that was not offered, or an extension that was not", () => {
    expect(
      errorOf(() =>
        checkExtendedConnectResponse({ status: 200, headers: { "sec-websocket-protocol": "x" } }, {}),
      ).code,
    ).toBe(ErrorCode.BadSubprotocol);
    expect(
      errorOf(() =>
        checkExtendedConnectResponse(
          { status: 200, headers: { "sec-websocket-extensions": "permessage-deflate" } },
          {},
        ),
      ).code,
    ).toBe(ErrorCode.BadExtensions);
  });

  it("accepts permessage-deflate it offered", () => {
    const factory = permessageDeflate({ engine: negotiationOnly });
    const confirmed = checkExtendedConnectResponse(
      { status: 200, headers: { "sec-websocket-extensions": "permessage-deflate" } },
      { extensions: [factory] },
    );
    expect(confirmed.extensions).toHaveLength(1);
    expect(confirmed.extensionsHeader).toBe("permessage-deflate");
  });
});
