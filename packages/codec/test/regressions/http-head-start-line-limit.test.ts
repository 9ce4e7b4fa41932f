/**
 * Regression (found by the fuzzer, target `http-request/mutated`, after the request line became
 * checked byte by byte as it arrives): the start-line check looked at every byte of a pushed
 * chunk before the head size limit was applied, so a request line longer than `maxHeadSize` with
 * a bad byte after the limit failed with 400 (MALFORMED_HEAD) when it came in one chunk and with
 * 431 (HEAD_TOO_LARGE) when it came a byte at a time. The check now stops at the limit: the same
 * error whatever the split.
 */
import { describe, expect, it } from "vitest";
import { HandshakeError, HttpHeadParser } from "../../src/handshake/index.ts";

const ascii = new TextEncoder();

function outcome(chunks: Uint8Array[], maxHeadSize: number): string {
  const parser = new HttpHeadParser("request", { maxHeadSize });
  try {
    for (const chunk of chunks) if (parser.push(chunk) !== undefined) return "head";
    return "incomplete";
  } catch (error) {
    return error instanceof HandshakeError ? `${error.status} ${error.code}` : String(error);
  }
}

describe("a request line longer than maxHeadSize", () => {
  const bytes = ascii.encode("GET /chat?room=1&x=%20 HTTP/O.1\r\nHost: h\r\n\r\n");

  it("fails with 431 in one chunk, as byte by byte", () => {
    const whole = outcome([bytes], 16);
    const bytewise = outcome(
      Array.from(bytes, (b) => new Uint8Array([b])),
      16,
    );
    expect(whole).toBe("431 HEAD_TOO_LARGE");
    expect(bytewise).toBe(whole);
  });

  it("a bad byte within the limit is still refused at once with 400", () => {
    const bad = ascii.encode("G@T / HTTP/1.1\r\n");
    expect(outcome([bad], 16)).toBe("400 MALFORMED_HEAD");
    expect(
      outcome(
        Array.from(bad, (b) => new Uint8Array([b])),
        16,
      ),
    ).toBe("400 MALFORMED_HEAD");
  });
});
