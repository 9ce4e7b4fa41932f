import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCode, HandshakeError, LocalProtocolError } from "../errors.ts";
import { HttpHeadParser, type HttpRequestHead, type HttpResponseHead } from "./http-head.ts";

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

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

// RFC 6455 §1.3 sample handshake request.
const REQUEST =
  "GET /chat HTTP/1.1\r\n" +
  "Host: server.example.com\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Origin: http://example.com\r\n" +
  "Sec-WebSocket-Protocol: chat, superchat\r\n" +
  "Sec-WebSocket-Version: 13\r\n" +
  "\r\n";

const RESPONSE =
  "HTTP/1.1 101 Switching Protocols\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
  "Sec-WebSocket-Protocol: chat\r\n" +
  "\r\n";

function parseRequest(text: string): unknown {
  return new HttpHeadParser("request").push(latin1(text));
}

describe("HttpHeadParser", () => {
  it("HttpHeadParser parses the RFC 6455 §1.3 request head", () => {
    const parser = new HttpHeadParser("request");
    const head = parser.push(latin1(REQUEST));
    expect(head).toMatchObject({ kind: "request", method: "GET", target: "/chat", httpVersion: "1.1" });
    expect(head?.headers[0]).toEqual(["Host", "server.example.com"]);
    expect(head?.headers.length).toBe(7);
    expect(head?.headerMap.get("sec-websocket-protocol")).toBe("chat, superchat");
    expect(parser.head).toBe(head);
    expect(parser.rest.length).toBe(0);
  });

  it("HttpHeadParser parses the RFC 6455 §1.3 response head", () => {
    const head = new HttpHeadParser("response").push(latin1(RESPONSE));
    expect(head).toMatchObject({
      kind: "response",
      httpVersion: "1.1",
      status: 101,
      statusText: "Switching Protocols",
    });
    expect(head?.headerMap.get("sec-websocket-accept")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  it("HttpHeadParser returns undefined until the empty line arrives", () => {
    const parser = new HttpHeadParser("request");
    expect(parser.push(latin1("GET / HTTP/1.1\r\nHost: a\r\n"))).toBeUndefined();
    expect(parser.push(new Uint8Array(0))).toBeUndefined();
    expect(parser.push(latin1("\r"))).toBeUndefined();
    expect(parser.push(latin1("\n"))).toMatchObject({ method: "GET", target: "/" });
  });

  it("HttpHeadParser keeps the bytes after the head in rest", () => {
    const parser = new HttpHeadParser("response");
    const frames = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    const bytes = new Uint8Array([...latin1(RESPONSE), ...frames]);
    expect(parser.push(bytes.subarray(0, 20))).toBeUndefined();
    expect(parser.push(bytes.subarray(20))).toMatchObject({ status: 101 });
    expect(parser.rest).toEqual(new Uint8Array(frames));
  });

  it("HttpHeadParser gives the same head and rest for any chunking (fast-check)", () => {
    const bytes = new Uint8Array([...latin1(REQUEST), 1, 2, 3]);
    const whole = new HttpHeadParser("request");
    const expected = whole.push(bytes);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 20 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const parser = new HttpHeadParser("request");
          let head: HttpRequestHead | undefined;
          let rest: number[] = [];
          for (let i = 0; i + 1 < points.length; i++) {
            const piece = bytes.subarray(points[i], points[i + 1]);
            if (head === undefined) {
              head = parser.push(piece);
              if (head !== undefined) rest = [...parser.rest];
            } else rest.push(...piece);
          }
          expect(head).toEqual(expected);
          expect(rest).toEqual([1, 2, 3]);
        },
      ),
    );
  });

  it("HttpHeadParser parses a head pushed one byte at a time", () => {
    const bytes = latin1(RESPONSE);
    const parser = new HttpHeadParser("response");
    let head: HttpResponseHead | undefined;
    for (let i = 0; i < bytes.length; i++) {
      head = parser.push(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) expect(head).toBeUndefined();
    }
    expect(head).toEqual(new HttpHeadParser("response").push(bytes));
  });

  it("HttpHeadParser lets the caller reuse its read buffer between pushes", () => {
    const bytes = latin1(REQUEST);
    const buffer = new Uint8Array(7);
    const parser = new HttpHeadParser("request");
    let head: HttpRequestHead | undefined;
    for (let offset = 0; offset < bytes.length; offset += buffer.length) {
      const piece = bytes.subarray(offset, offset + buffer.length);
      buffer.set(piece);
      head = parser.push(buffer.subarray(0, piece.length));
      buffer.fill(0);
    }
    expect(head).toEqual(new HttpHeadParser("request").push(bytes));
  });

  it("HttpHeadParser tolerates bare LF line endings", () => {
    const head = new HttpHeadParser("request").push(latin1("GET / HTTP/1.1\nHost: a\nX: b\r\n\n"));
    expect(head?.headers).toEqual([
      ["Host", "a"],
      ["X", "b"],
    ]);
  });

  it("HttpHeadParser trims whitespace around values and keeps inner whitespace", () => {
    const head = new HttpHeadParser("request").push(latin1("GET / HTTP/1.1\r\nX:  a \t b \t\r\nY:\r\n\r\n"));
    expect(head?.headers).toEqual([
      ["X", "a \t b"],
      ["Y", ""],
    ]);
  });

  it("HttpHeadParser decodes bytes as ISO-8859-1", () => {
    const bytes = new Uint8Array([...latin1("GET / HTTP/1.1\r\nX: "), 0xe9, 0xff, ...latin1("\r\n\r\n")]);
    expect(new HttpHeadParser("request").push(bytes)?.headerMap.get("x")).toBe("\u00e9\u00ff");
  });

  it("HttpHeadParser checks field values for control characters in any chunk of the head, and only in the head", () => {
    // The byte scan notes a head that is not plain ASCII text; the value check must still see a
    // control character or DEL that arrives in a later chunk than the rest of the head.
    for (const odd of ["\u0001", "\u007f", "\u0000"]) {
      const text = `GET / HTTP/1.1\r\nHost: a\r\nX-A: b${odd}c\r\nX-B: d\r\n\r\n`;
      const at = text.indexOf(odd);
      for (const cut of [1, at, at + 1, text.length - 1]) {
        const parser = new HttpHeadParser("request");
        const error = errorOf(() => {
          parser.push(latin1(text.slice(0, cut)));
          parser.push(latin1(text.slice(cut)));
        });
        expect({ odd, cut, outcome: outcome(error) }).toEqual({
          odd,
          cut,
          outcome: { code: ErrorCode.MalformedHead, status: 400 },
        });
      }
    }
    // Bytes after the head are frames, not head: they are not checked here.
    const parser = new HttpHeadParser("request");
    const head = parser.push(latin1("GET / HTTP/1.1\r\nHost: a\u00e9\r\n\r\n\u0001\u007f\u00ff"));
    expect(head?.headerMap.get("host")).toBe("a\u00e9");
    expect([...parser.rest]).toEqual([0x01, 0x7f, 0xff]);
    const plain = new HttpHeadParser("request");
    expect(plain.push(latin1("GET / HTTP/1.1\r\nHost: a\t b\r\n\r\n\u0000"))?.headerMap.get("host")).toBe(
      "a\t b",
    );
  });

  it("HttpHeadParser accepts a status line without a reason phrase", () => {
    expect(new HttpHeadParser("response").push(latin1("HTTP/1.1 101\r\n\r\n"))).toMatchObject({
      status: 101,
      statusText: "",
    });
    expect(new HttpHeadParser("response").push(latin1("HTTP/1.1 404 \r\n\r\n"))).toMatchObject({
      status: 404,
      statusText: "",
    });
    expect(new HttpHeadParser("response").push(latin1("HTTP/1.0 403 No Way\r\n\r\n"))).toMatchObject({
      httpVersion: "1.0",
      status: 403,
      statusText: "No Way",
    });
  });

  it("HttpHeadParser answers 431 HEAD_TOO_LARGE beyond maxHeadSize", () => {
    const head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    expect(new HttpHeadParser("request", { maxHeadSize: head.length }).push(latin1(head))).toMatchObject({
      method: "GET",
    });
    const error = errorOf(() =>
      new HttpHeadParser("request", { maxHeadSize: head.length - 1 }).push(latin1(head)),
    );
    expect(outcome(error)).toEqual({ code: ErrorCode.HeadTooLarge, status: 431 });
  });

  it("HttpHeadParser stops at maxHeadSize across chunks without waiting for the end", () => {
    const parser = new HttpHeadParser("request", { maxHeadSize: 100 });
    expect(parser.push(latin1(`GET / HTTP/1.1\r\nX: ${"a".repeat(60)}`))).toBeUndefined();
    expect(outcome(errorOf(() => parser.push(latin1("a".repeat(60)))))).toEqual({
      code: ErrorCode.HeadTooLarge,
      status: 431,
    });
  });

  it("HttpHeadParser uses the 16 KiB default head size", () => {
    const parser = new HttpHeadParser("request");
    expect(() => parser.push(new Uint8Array(16 * 1024 + 1).fill(0x61))).toThrow(HandshakeError);
  });

  it("HttpHeadParser answers 431 TOO_MANY_HEADERS beyond maxHeaderCount", () => {
    const head = `GET / HTTP/1.1\r\n${"X: 1\r\n".repeat(3)}\r\n`;
    expect(new HttpHeadParser("request", { maxHeaderCount: 3 }).push(latin1(head))?.headers.length).toBe(3);
    const error = errorOf(() => new HttpHeadParser("request", { maxHeaderCount: 2 }).push(latin1(head)));
    expect(outcome(error)).toEqual({ code: ErrorCode.TooManyHeaders, status: 431 });
  });

  it("HttpHeadParser rejects malformed request heads with 400 MALFORMED_HEAD", () => {
    const bad = [
      "\r\n\r\n",
      "\r\nGET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1 \r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/11\r\n\r\n",
      "GET / http/1.1\r\n\r\n",
      "GET / HTTP/1.1x\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      "GET /\u00e9 HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n continued\r\n\r\n",
      "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\u0000b\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\r\n\r\r\n",
      "GET / HTTP/1.1\r\nX\u00e9: a\r\n\r\n",
    ];
    for (const text of bad) {
      expect({ text, outcome: outcome(errorOf(() => parseRequest(text))) }).toEqual({
        text,
        outcome: { code: ErrorCode.MalformedHead, status: 400 },
      });
    }
  });

  it("HttpHeadParser refuses bytes that cannot start a request line at once, before the head ends", () => {
    // Each prefix is already wrong; none holds the empty line that ends a head.
    const prefixes = [
      "\u0016\u0003\u0001\u0002\u0000", // a TLS ClientHello on a cleartext port
      "hello world, no line ending",
      "G(T",
      "GET /a\u0000",
      "GET / HTTP/1.1x",
      "GET / FTP",
      "GET / HTTP/1.1 ",
      " GET",
      "\r\n",
    ];
    for (const text of prefixes) {
      const parser = new HttpHeadParser("request");
      expect({ text, outcome: outcome(errorOf(() => parser.push(latin1(text)))) }).toEqual({
        text,
        outcome: { code: ErrorCode.MalformedHead, status: 400 },
      });
    }
  });

  it("HttpHeadParser waits for more when a request line is valid so far, in any split", () => {
    const line = "GET /chat?room=1 HTTP/1.1\r\n";
    for (let cut = 0; cut <= line.length; cut++) {
      const parser = new HttpHeadParser("request");
      expect(parser.push(latin1(line.slice(0, cut)))).toBeUndefined();
      expect(parser.push(latin1(line.slice(cut)))).toBeUndefined();
      expect(parser.push(latin1("Host: a\r\n\r\n"))?.target).toBe("/chat?room=1");
    }
  });

  it("HttpHeadParser does not check a response's status line before the head ends", () => {
    expect(new HttpHeadParser("response").push(latin1("hello"))).toBeUndefined();
  });

  it("HttpHeadParser rejects malformed status lines with status 0", () => {
    for (const text of [
      "HTTP/1.1 1010 X\r\n\r\n",
      "HTTP/1.1 10 X\r\n\r\n",
      "HTTP/1.1 abc\r\n\r\n",
      "HTTP/1.1\r\n\r\n",
      "HTTP/1.1 101x\r\n\r\n",
    ]) {
      const error = errorOf(() => new HttpHeadParser("response").push(latin1(text)));
      expect({ text, outcome: outcome(error) }).toEqual({
        text,
        outcome: { code: ErrorCode.MalformedHead, status: 0 },
      });
    }
  });

  it("HttpHeadParser rejects a too large response with status 0", () => {
    const error = errorOf(() => new HttpHeadParser("response", { maxHeadSize: 10 }).push(latin1(RESPONSE)));
    expect(outcome(error)).toEqual({ code: ErrorCode.HeadTooLarge, status: 0 });
  });

  it("HttpHeadParser throws the same error again after failing", () => {
    const parser = new HttpHeadParser("request");
    const first = errorOf(() => parser.push(latin1("BAD\r\n\r\n")));
    expect(first).toBeInstanceOf(HandshakeError);
    expect(errorOf(() => parser.push(latin1("GET / HTTP/1.1\r\n\r\n")))).toBe(first);
  });

  it("HttpHeadParser throws LocalProtocolError when pushed to after the head", () => {
    const parser = new HttpHeadParser("request");
    parser.push(latin1("GET / HTTP/1.1\r\n\r\n"));
    expect(() => parser.push(new Uint8Array([1]))).toThrow(LocalProtocolError);
  });

  it("HttpHeadParser throws nothing but HandshakeError on arbitrary bytes (fast-check)", () => {
    const unit = fc.constantFrom(..."GET / HTTP/1.1\r\n:ab \t\u0000\u00e9".split(""));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit, maxLength: 80 }), fc.string({ maxLength: 80 })),
        fc.boolean(),
        (text, request) => {
          const parser = new HttpHeadParser(request ? "request" : "response", { maxHeadSize: 64 });
          const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
          try {
            parser.push(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(HandshakeError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
