/**
 * Regression (found by the fuzzer, target `dial/responses`): a redirect whose `Location` is not
 * a URL we can connect to (`vs://…`, `http://[`) made `dial` reject with a bare `TypeError` from
 * URL parsing, an error the server chose and `dial` does not document. Such a redirect is now
 * reported like any other non-101 answer: a `HandshakeRejectedError` with its status, headers
 * and body.
 */
import { computeAcceptKey, HttpHeadParser, parseWebSocketUrl } from "@ws/codec/handshake";
import { describe, expect, it } from "vitest";
import { type DialConnection, dial, type Opener } from "../dial.ts";
import { HandshakeRejectedError } from "../errors.ts";
import type { Session } from "../session.ts";

const ascii = new TextEncoder();

/** A connection whose server answers the request with `answer(key)`, then ends. */
class Scripted implements DialConnection {
  destroyed = false;
  readonly #answer: (key: string) => string;
  #chunks: Uint8Array[] = [];
  constructor(answer: (key: string) => string) {
    this.#answer = answer;
  }
  write(bytes: Uint8Array): void {
    const head = new HttpHeadParser("request").push(bytes);
    this.#chunks = [ascii.encode(this.#answer(head?.headerMap.get("sec-websocket-key") ?? ""))];
  }
  async read(): Promise<Uint8Array | null> {
    return this.#chunks.shift() ?? null;
  }
  destroy(): void {
    this.destroyed = true;
  }
  attach(): Session {
    throw new Error("this test never completes a handshake");
  }
}

function dialWith(location: string): { result: Promise<Session>; opened: Scripted[] } {
  const opened: Scripted[] = [];
  const open: Opener = async () => {
    const connection = new Scripted(
      () => `HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 5\r\n\r\nmoved`,
    );
    opened.push(connection);
    return connection;
  };
  const result = dial(
    {
      url: parseWebSocketUrl("ws://127.0.0.1:9/"),
      protocols: [],
      signal: new AbortController().signal,
      session: {},
    },
    { followRedirects: true, perMessageDeflate: false },
    open,
  );
  return { result, opened };
}

describe("dial: a redirect to a URL that cannot be followed", () => {
  for (const location of ["vs://127.0.0.1:1/next", "ftp://example.com/", "http://[", "ws://host:99999/"]) {
    it(`rejects with HandshakeRejectedError for Location ${location}`, async () => {
      const { result, opened } = dialWith(location);
      const error = await result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HandshakeRejectedError);
      expect(error).toMatchObject({ status: 302, body: "moved" });
      expect((error as HandshakeRejectedError).header("location")).toBe(location);
      expect(opened).toHaveLength(1);
      expect(opened[0]?.destroyed).toBe(true);
    });
  }

  it("still follows a redirect it can follow", async () => {
    const opened: Scripted[] = [];
    const open: Opener = async () => {
      const connection = new Scripted((key) =>
        opened.length === 1
          ? "HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere\r\n\r\n"
          : `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAcceptKey(key)}\r\n\r\n`,
      );
      opened.push(connection);
      return connection;
    };
    const error = await dial(
      {
        url: parseWebSocketUrl("ws://127.0.0.1:9/"),
        protocols: [],
        signal: new AbortController().signal,
        session: {},
      },
      { followRedirects: true, perMessageDeflate: false },
      open,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The second connection answered 101 and dial handed it over (attach throws in this test).
    expect(opened).toHaveLength(2);
    expect(String(error)).toContain("this test never completes a handshake");
  });
});
