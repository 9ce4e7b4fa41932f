/**
 * The parts of permessage-deflate (RFC 7692) that need no engine. Negotiation, the §7.2.3
 * examples, round trips and limits run against every engine in `@ws/deflate`'s tests
 * (`packages/deflate/test/permessage-deflate*.test.ts`): the codec has no engine of its own.
 */
import { describe, expect, it } from "vitest";
import { endMessage } from "./permessage-deflate.ts";

const fromHex = (s: string): Uint8Array =>
  new Uint8Array((s.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));

describe("endMessage (RFC 7692 §7.2.1)", () => {
  it("removes the trailing 00 00 ff ff, even across chunks, and leaves 00 for an empty message (§7.2.3.6)", () => {
    expect(endMessage([fromHex("0000"), fromHex("ff"), fromHex("ff")])).toEqual([fromHex("00")]);
    expect(endMessage([fromHex("f248cdc9c907000000"), fromHex("ff"), fromHex("ff")])).toEqual([
      fromHex("f248cdc9c90700"),
    ]);
  });
});
