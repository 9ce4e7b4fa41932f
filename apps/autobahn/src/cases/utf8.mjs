// Family 6: UTF-8 handling of text messages (RFC 6455 §5.6, §8.1; RFC 3629).
// Sequences follow the public structure of Autobahn's 6.x cases, which in turn follow
// Markus Kuhn's "UTF-8 decoder capability and stress test".

import { encodeFrame, OPCODE } from "../frame.mjs";
import { compareEvents, failed, nonStrict, ok, textEcho } from "../judge.mjs";
import { isValidUtf8 } from "../utf8.mjs";
import { invalidPayload, peerCase } from "./define.mjs";

const { TEXT, CONTINUATION } = OPCODE;
const INVALID = invalidPayload("invalid UTF-8 in a text message, RFC 6455 §8.1");

/** @param {string} hex */
const h = (hex) => Buffer.from(hex.replace(/\s+/g, ""), "hex");
const KOSME = h("cebae1bdb9cf83cebcceb5"); // "κόσμε"

/**
 * Groups of single-frame text payloads: [sub-family, description, payloads].
 * Validity is computed with the strict decoder and double-checked by the unit tests.
 * @type {[string, string, Buffer[]][]}
 */
const GROUPS = [
  [
    "6.5",
    "some valid UTF-8 sequences",
    [KOSME, h("24c2a2e282acf0908d88"), h("f09f9880e2808df09f9a80"), h("e4b8ade69687"), h("4f4b20e29c93")],
  ],
  ["6.6", "a prefix of κόσμε", Array.from({ length: KOSME.length }, (_, i) => KOSME.subarray(0, i + 1))],
  ["6.7", "the first possible sequence of a length", [h("00"), h("c280"), h("e0a080"), h("f0908080")]],
  ["6.8", "the first possible sequence of length 5 or 6", [h("f888808080"), h("fc8480808080")]],
  ["6.9", "the last possible sequence of a length", [h("7f"), h("dfbf"), h("efbfbf"), h("f48fbfbf")]],
  [
    "6.10",
    "the last possible sequence of length 4, 5 or 6",
    [h("f7bfbfbf"), h("fbbfbfbfbf"), h("fdbfbfbfbfbf")],
  ],
  [
    "6.11",
    "another boundary condition",
    [h("ed9fbf"), h("ee8080"), h("efbfbd"), h("f48fbfbf"), h("f4908080")],
  ],
  [
    "6.12",
    "unexpected continuation bytes",
    [
      h("80"),
      h("bf"),
      h("80bf"),
      h("80bf80"),
      h("80bf80bf"),
      h("80bf80bf80"),
      h("80bf80bf80bf"),
      Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)),
    ],
  ],
  [
    "6.13",
    "lonely start bytes, each followed by a space",
    [
      [0xc0, 0xdf],
      [0xe0, 0xef],
      [0xf0, 0xf7],
      [0xf8, 0xfb],
      [0xfc, 0xfd],
    ].map(([lo = 0, hi = 0]) =>
      Buffer.from(Array.from({ length: hi - lo + 1 }, (_, i) => [lo + i, 0x20]).flat()),
    ),
  ],
  [
    "6.14",
    "a sequence with its last continuation byte missing",
    ["c0", "e080", "f08080", "f8808080", "fc80808080", "df", "efbf", "f7bfbf", "fbbfbfbf", "fdbfbfbfbf"].map(
      h,
    ),
  ],
  [
    "6.15",
    "a concatenation of incomplete sequences",
    [h("c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf")],
  ],
  ["6.16", "impossible bytes", [h("fe"), h("ff"), h("fefeffff")]],
  [
    "6.17",
    "an overlong encoding of '/'",
    ["c0af", "e080af", "f08080af", "f8808080af", "fc80808080af"].map(h),
  ],
  [
    "6.18",
    "a maximal overlong sequence",
    ["c1bf", "e09fbf", "f08fbfbf", "f887bfbfbf", "fc83bfbfbfbf"].map(h),
  ],
  ["6.19", "an overlong NUL", ["c080", "e08080", "f0808080", "f880808080", "fc8080808080"].map(h)],
  [
    "6.20",
    "a single UTF-16 surrogate",
    ["eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"].map(h),
  ],
  [
    "6.21",
    "a pair of UTF-16 surrogates",
    [
      "eda080edb080",
      "eda080edbfbf",
      "edadbfedb080",
      "edadbfedbfbf",
      "edae80edb080",
      "edae80edbfbf",
      "edafbfedb080",
      "edafbfedbfbf",
    ].map(h),
  ],
  [
    "6.22",
    "a noncharacter code point (valid UTF-8)",
    [
      h("efbfbe"),
      h("efbfbf"),
      ...Array.from({ length: 16 }, (_, plane) => {
        const cp = ((plane + 1) << 16) | 0xfffe;
        return [Buffer.from(String.fromCodePoint(cp)), Buffer.from(String.fromCodePoint(cp + 1))];
      }).flat(),
    ],
  ],
  [
    "6.23",
    "a special code point (valid UTF-8)",
    ["efbfb9", "efbfba", "efbfbb", "efbfbc", "efbfbd", "efbbbf", "e280a8"].map(h),
  ],
];

/** @returns {import('./define.mjs').CaseDef[]} */
export function utf8Cases() {
  const hello = Buffer.from("Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!");
  const invalidMessage = h("cebae1bdb9cf83cebcceb5eda080656469746564"); // κόσμε + U+D800 + "edited"
  /** @type {import('./define.mjs').CaseDef[]} */
  const cases = [
    peerCase("6.1.1", "Send a text message of length 0; expect it echoed", async (t) => {
      await t.peer.sendFrame({ opcode: TEXT });
      return t.judge({ expect: [textEcho("")] });
    }),
    peerCase(
      "6.1.2",
      "Send a text message in 3 empty fragments; expect an empty message echoed",
      async (t) => {
        await t.peer.sendFrames([
          { opcode: TEXT, fin: false },
          { opcode: CONTINUATION, fin: false },
          { opcode: CONTINUATION, fin: true },
        ]);
        return t.judge({ expect: [textEcho("")] });
      },
    ),
    peerCase(
      "6.1.3",
      'Send a text message in 3 fragments: empty, "middle", empty; expect it echoed',
      async (t) => {
        await t.peer.sendFrames([
          { opcode: TEXT, fin: false },
          { opcode: CONTINUATION, payload: Buffer.from("middle"), fin: false },
          { opcode: CONTINUATION, fin: true },
        ]);
        return t.judge({ expect: [textEcho("middle")] });
      },
    ),
    peerCase("6.2.1", "Send valid UTF-8 in one frame; expect it echoed", async (t) => {
      await t.peer.sendFrame({ opcode: TEXT, payload: hello });
      return t.judge({ expect: [textEcho(hello)] });
    }),
    peerCase(
      "6.2.2",
      "Send valid UTF-8 in 2 fragments split at a code point boundary; expect it echoed",
      async (t) => {
        await t.peer.sendFrames(splitFrames(hello, [14]));
        return t.judge({ expect: [textEcho(hello)] });
      },
    ),
    peerCase(
      "6.2.3",
      "Send valid UTF-8 in 1-byte fragments (fragments end inside code points); expect it echoed",
      async (t) => {
        await t.peer.sendFrames(splitFrames(hello, range(1, hello.length)));
        return t.judge({ expect: [textEcho(hello)] });
      },
    ),
    peerCase("6.2.4", "Send κόσμε in 1-byte fragments; expect it echoed", async (t) => {
      await t.peer.sendFrames(splitFrames(KOSME, range(1, KOSME.length)));
      return t.judge({ expect: [textEcho(KOSME)] });
    }),
    peerCase(
      "6.3.1",
      "Send invalid UTF-8 (a surrogate) in one frame; expect the connection failed with 1007",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, payload: invalidMessage });
        return t.judge({ close: INVALID });
      },
    ),
    peerCase(
      "6.3.2",
      "Send the same invalid UTF-8 in 1-byte fragments; expect the connection failed with 1007",
      async (t) => {
        await t.peer.sendFrames(splitFrames(invalidMessage, range(1, invalidMessage.length)));
        return t.judge({ close: INVALID });
      },
    ),
    // 6.4.x fail fast: the invalid part must be noticed before the message ends.
    peerCase(
      "6.4.1",
      "Send a text message in 3 fragments with pauses; the 2nd makes it invalid (U+110000); expect 1007 before the 3rd is sent",
      async (t) => {
        return failFast(t, [
          encodeForRole(t, { opcode: TEXT, payload: KOSME, fin: false }),
          encodeForRole(t, { opcode: CONTINUATION, payload: h("f4908080"), fin: false }),
          encodeForRole(t, { opcode: CONTINUATION, payload: Buffer.from("edited"), fin: true }),
        ]);
      },
    ),
    peerCase(
      "6.4.2",
      "As 6.4.1, but the 1st fragment ends inside the code point and the 2nd (one byte) makes it invalid",
      async (t) => {
        return failFast(t, [
          encodeForRole(t, { opcode: TEXT, payload: h("cebae1bdb9cf83cebcceb5f4"), fin: false }),
          encodeForRole(t, { opcode: CONTINUATION, payload: h("90"), fin: false }),
          encodeForRole(t, { opcode: CONTINUATION, payload: h("8080656469746564"), fin: true }),
        ]);
      },
    ),
    peerCase(
      "6.4.3",
      "Send one text frame in 3 TCP writes with pauses; the 2nd write holds the invalid bytes; expect 1007 before the 3rd",
      async (t) => {
        const frame = encodeForRole(t, {
          opcode: TEXT,
          payload: h("cebae1bdb9cf83cebcceb5f4908080656469746564"),
        });
        const header = frame.length - 21;
        return failFast(t, [
          frame.subarray(0, header + 11),
          frame.subarray(header + 11, header + 15),
          frame.subarray(header + 15),
        ]);
      },
    ),
    peerCase(
      "6.4.4",
      "As 6.4.3, but the 2nd write is the single byte that makes the sequence invalid",
      async (t) => {
        const frame = encodeForRole(t, {
          opcode: TEXT,
          payload: h("cebae1bdb9cf83cebcceb5f4908080656469746564"),
        });
        const header = frame.length - 21;
        return failFast(t, [
          frame.subarray(0, header + 12),
          frame.subarray(header + 12, header + 13),
          frame.subarray(header + 13),
        ]);
      },
    ),
  ];
  for (const [family, what, payloads] of GROUPS) {
    payloads.forEach((payload, i) => {
      const valid = isValidUtf8(payload);
      const id = `${family}.${i + 1}`;
      const hex = payload.length <= 16 ? ` 0x${payload.toString("hex")}` : ` (${payload.length} bytes)`;
      cases.push(
        valid
          ? peerCase(id, `Send ${what}${hex} in one text frame; valid, expect it echoed`, async (t) => {
              await t.peer.sendFrame({ opcode: TEXT, payload });
              return t.judge({ expect: [textEcho(payload)] });
            })
          : peerCase(
              id,
              `Send ${what}${hex} in one text frame; invalid, expect the connection failed with 1007`,
              async (t) => {
                await t.peer.sendFrame({ opcode: TEXT, payload });
                return t.judge({ close: INVALID });
              },
            ),
      );
    });
  }
  return cases;
}

/**
 * @param {Buffer} payload
 * @param {number[]} cuts offsets where a new fragment starts
 * @returns {import('../frame.mjs').FrameSpec[]}
 */
function splitFrames(payload, cuts) {
  const bounds = [0, ...cuts, payload.length];
  /** @type {import('../frame.mjs').FrameSpec[]} */
  const frames = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    frames.push({
      opcode: i === 0 ? TEXT : CONTINUATION,
      payload: payload.subarray(bounds[i], bounds[i + 1]),
      fin: i + 2 === bounds.length,
    });
  }
  return frames;
}

/** @param {number} from @param {number} to exclusive */
function range(from, to) {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/**
 * @param {import('../context.mjs').CaseContext} t
 * @param {import('../frame.mjs').FrameSpec} spec
 */
function encodeForRole(t, spec) {
  return encodeFrame({ ...spec, mask: t.role === "client" });
}

/**
 * Send the parts with pauses and judge when the 1007 arrived (Autobahn 6.4.x): before the
 * last part is sent -> OK; only after the message ended -> NON-STRICT; never -> FAILED.
 * @param {import('../context.mjs').CaseContext} t
 * @param {Buffer[]} writes
 */
async function failFast(t, writes) {
  const p = t.peer;
  const pause = t.profile.failFastWaitMs;
  for (let i = 0; i < writes.length; i++) {
    if (i === writes.length - 1) p.mark("last-part");
    await p.sendRaw(/** @type {Buffer} */ (writes[i]));
    if (i < writes.length - 1)
      await p.waitFor(() => p.closeReceived !== null || p.peerEndedAt !== null, pause);
  }
  const verdict = await t.judge({ close: INVALID });
  if (verdict.verdict !== "OK") return verdict;
  const failedAt = p.closeReceived?.t ?? p.peerEndedAt ?? Number.POSITIVE_INFINITY;
  const lastPart = p.marks.get("last-part") ?? 0;
  if (failedAt <= lastPart) return ok("invalid UTF-8 detected before the message ended (fail fast)");
  const cmp = compareEvents(p.appEvents(), []);
  if (cmp.kind !== "equal") return failed(cmp.message);
  return nonStrict(
    "invalid UTF-8 detected only after the whole message arrived (RFC 6455 §8.1 only requires failing the connection; Autobahn 6.4.x rates late detection NON-STRICT)",
  );
}
