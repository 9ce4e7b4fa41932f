// Families 12 and 13: permessage-deflate (RFC 7692). Run only against a target started with
// --deflate; a server that does not accept the offer gets UNIMPLEMENTED, not FAILED.

import { OPCODE } from "../frame.mjs";
import { binaryEcho, textEcho } from "../judge.mjs";
import { invalidPayload, peerCase, protocolError } from "./define.mjs";

const { TEXT, BINARY, CONTINUATION, PING } = OPCODE;
const SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];
const WORDS =
  "the of and to in is was that for on are with as by at from this which be or have an not but had".split(
    " ",
  );

/** Deterministic PRNG (xorshift32) so payloads are the same on every run. @param {number} seed */
function prng(seed) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** @type {Buffer | null} */
let wordsCache = null;
/** 256 KiB of random words, made once. */
function randomWords() {
  if (wordsCache === null) {
    const r = prng(7);
    /** @type {string[]} */
    const parts = [];
    let length = 0;
    while (length < 256 * 1024 + 1) {
      const w = `${WORDS[Math.floor(r() * WORDS.length)]} `;
      parts.push(w);
      length += w.length;
    }
    wordsCache = Buffer.from(parts.join(""));
  }
  return wordsCache;
}

/** @param {number} n @param {(i: number) => number} f */
function fill(n, f) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = f(i);
  return b;
}

/** @type {[string, string, number, (n: number, seed: number) => Buffer][]} */
const KINDS = [
  [
    "12.1",
    "repetitive text",
    TEXT,
    (n, seed) =>
      Buffer.from(`${seed}:${"Hello, permessage-deflate! ".repeat(Math.ceil(n / 27))}`.slice(0, n)),
  ],
  ["12.2", "repetitive binary", BINARY, (n, seed) => fill(n, (i) => (i % 16) ^ (seed & 0xff))],
  [
    "12.3",
    "text of random words",
    TEXT,
    (n, seed) => {
      const words = randomWords();
      const at = (seed * 7919) % (words.length - n);
      return Buffer.from(words.subarray(at, at + n));
    },
  ],
  [
    "12.4",
    "random (incompressible) binary",
    BINARY,
    (n, seed) => {
      const r = prng(seed + 13);
      return fill(n, () => Math.floor(r() * 256));
    },
  ],
  [
    "12.5",
    "half zeros, half random binary",
    BINARY,
    (n, seed) => {
      const r = prng(seed + 29);
      return fill(n, (i) => (i < n / 2 ? 0 : Math.floor(r() * 256)));
    },
  ],
];

/** @type {[string, string][]} RFC 7692 §7.1 parameters, one offer per 13.x family */
const OFFERS = [
  ["13.1", "permessage-deflate"],
  ["13.2", "permessage-deflate; client_no_context_takeover"],
  ["13.3", "permessage-deflate; client_max_window_bits=9"],
  ["13.4", "permessage-deflate; client_max_window_bits=15"],
  ["13.5", "permessage-deflate; client_no_context_takeover; client_max_window_bits=9"],
  ["13.6", "permessage-deflate; server_no_context_takeover"],
  [
    "13.7",
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits",
  ],
];

/**
 * Messages per case: Autobahn sends 1000; we also cap the bytes at 4 MiB (quick: 100 messages, 256 KiB).
 * @param {number} size @param {import('../context.mjs').Profile} profile
 */
function messageCount(size, profile) {
  const byBytes = (4 * 1024 * 1024) / profile.sizeDivisor / size;
  return Math.max(1, Math.floor(Math.min(1000 / profile.repeatDivisor, byBytes)));
}

/**
 * Send `count` compressed messages (optionally fragmented after compression) and expect
 * every one echoed (the echo may or may not be compressed, RFC 7692 §6).
 * @param {import('../context.mjs').CaseContext} t
 * @param {number} opcode
 * @param {(n: number, seed: number) => Buffer} make
 * @param {number} size
 * @param {number} [fragment] split the compressed payload in frames of this size
 */
async function roundTrips(t, opcode, make, size, fragment) {
  const count = messageCount(size, t.profile);
  const echo = opcode === TEXT ? textEcho : binaryEcho;
  /** @type {import('../peer.mjs').ExpectedEvent[]} */
  const expect = [];
  const deflate = /** @type {import('../deflate.mjs').PerMessageDeflate} */ (t.peer.deflate);
  for (let i = 0; i < count; i++) {
    const payload = make(size, i + 1);
    expect.push(echo(payload));
    if (fragment === undefined) {
      await t.peer.sendFrame({ opcode, payload, compress: true });
    } else {
      const compressed = await deflate.compress(payload);
      /** @type {import('../frame.mjs').FrameSpec[]} */
      const frames = [];
      for (let at = 0; at < compressed.length || at === 0; at += fragment) {
        // RFC 7692 §6.1: RSV1 only on the first frame of the message.
        frames.push({
          opcode: at === 0 ? opcode : CONTINUATION,
          rsv: at === 0 ? 4 : 0,
          payload: compressed.subarray(at, at + fragment),
          fin: at + fragment >= compressed.length,
        });
      }
      await t.peer.sendFrames(frames);
    }
  }
  return t.judge({ expect, timeoutMs: t.profile.bigCaseTimeoutMs / 2 });
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function compressionCases() {
  /** @type {import('./define.mjs').CaseDef[]} */
  const cases = [];
  /** @type {Partial<import('./define.mjs').CaseDef>} */
  const base = { modes: ["server"], deflate: true, offer: "permessage-deflate; client_max_window_bits" };
  for (const [family, what, opcode, make] of KINDS) {
    SIZES.forEach((size, i) => {
      cases.push(
        peerCase(
          `${family}.${i + 1}`,
          `Send compressed ${what} messages of ${size} bytes (1000, at most 4 MiB; quick: 100, at most 256 KiB); expect every one echoed`,
          (t) => roundTrips(t, opcode, make, size),
          base,
        ),
      );
    });
    cases.push(
      peerCase(
        `${family}.11`,
        `Send compressed ${what} messages of 131072 bytes, the compressed data split in 1 KiB frames`,
        (t) => roundTrips(t, opcode, make, 131072, 1024),
        base,
      ),
      peerCase(
        `${family}.12`,
        `Send compressed ${what} messages of 131072 bytes, the compressed data split in 16 KiB frames`,
        (t) => roundTrips(t, opcode, make, 131072, 16384),
        base,
      ),
    );
  }
  cases.push(
    peerCase(
      "12.6.1",
      "Send a ping with RSV1 set on a deflate connection; expect the connection failed (RFC 7692 §6.1)",
      async (t) => {
        await t.peer.sendFrame({ opcode: PING, payload: Buffer.from("ping"), rsv: 4 });
        return t.judge({ close: protocolError("RSV1 on a control frame, RFC 7692 §6.1") });
      },
      base,
    ),
    peerCase(
      "12.6.2",
      "Send a compressed message whose continuation frame also has RSV1; expect the connection failed (RFC 7692 §6.1)",
      async (t) => {
        const compressed = await /** @type {import('../deflate.mjs').PerMessageDeflate} */ (
          t.peer.deflate
        ).compress(Buffer.from("Hello, Hello, Hello, Hello!"));
        await t.peer.sendFrames([
          { opcode: TEXT, rsv: 4, payload: compressed.subarray(0, 4), fin: false },
          { opcode: CONTINUATION, rsv: 4, payload: compressed.subarray(4), fin: true },
        ]);
        return t.judge({ close: protocolError("RSV1 on a continuation frame, RFC 7692 §6.1") });
      },
      base,
    ),
    peerCase(
      "12.6.3",
      "Send a compressed message whose data does not inflate; expect the connection failed (1007 or 1002)",
      async (t) => {
        await t.peer.sendFrame({
          opcode: BINARY,
          rsv: 4,
          payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        });
        return t.judge({ close: { fail: [1007, 1002], why: "corrupt DEFLATE data, RFC 7692 §8" } });
      },
      base,
    ),
    peerCase(
      "12.6.4",
      "Send a compressed text message that inflates to invalid UTF-8; expect 1007",
      async (t) => {
        await t.peer.sendFrame({
          opcode: TEXT,
          payload: Buffer.from("cebae1bdb9cf83cebcceb5eda080656469746564", "hex"),
          compress: true,
        });
        return t.judge({ close: invalidPayload("invalid UTF-8 after inflating, RFC 6455 §8.1") });
      },
      base,
    ),
    peerCase(
      "12.6.5",
      "Send an uncompressed message (RSV1 clear) on a deflate connection; expect it echoed (RFC 7692 §6)",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, payload: Buffer.from("not compressed") });
        return t.judge({ expect: [textEcho("not compressed")] });
      },
      base,
    ),
    peerCase(
      "12.6.6",
      "Send an empty compressed message (a single 0x00 byte, RFC 7692 §7.2.3.6); expect an empty echo",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, rsv: 4, payload: Buffer.from([0x00]) });
        return t.judge({ expect: [textEcho("")] });
      },
      base,
    ),
  );
  for (const [family, offer] of OFFERS) {
    SIZES.forEach((size, i) => {
      const [, , opcode, make] = /** @type {(typeof KINDS)[number]} */ (KINDS[i % 2 === 0 ? 2 : 1]);
      cases.push(
        peerCase(
          `${family}.${i + 1}`,
          `Offer "${offer}"; send compressed messages of ${size} bytes; expect every one echoed and the agreed parameters honoured`,
          (t) => roundTrips(t, opcode, make, size),
          { ...base, offer },
        ),
      );
    });
  }
  return cases;
}
