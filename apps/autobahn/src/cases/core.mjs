// Families 1-5: framing, pings/pongs, reserved bits, opcodes, fragmentation (RFC 6455 §5).

import { OPCODE } from "../frame.mjs";
import { binaryEcho, compareEvents, nonStrict, pong, textEcho } from "../judge.mjs";
import { bytes, peerCase, protocolError } from "./define.mjs";

const { CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG } = OPCODE;
const HELLO = Buffer.from("Hello, world!");

/** @returns {import('./define.mjs').CaseDef[]} */
export function framingCases() {
  /** @type {import('./define.mjs').CaseDef[]} */
  const cases = [];
  const sizes = [0, 125, 126, 127, 128, 65535, 65536];
  // RFC 6455 §5.2: 7-bit, 16-bit and 64-bit payload lengths and their boundaries.
  for (const [family, opcode, fill, kind] of /** @type {const} */ ([
    ["1.1", TEXT, 0x2a, "text"],
    ["1.2", BINARY, 0xfe, "binary"],
  ])) {
    const echo = opcode === TEXT ? textEcho : binaryEcho;
    sizes.forEach((n, i) => {
      cases.push(
        peerCase(
          `${family}.${i + 1}`,
          `Send a ${kind} message with a ${n}-byte payload; expect it echoed`,
          async (t) => {
            const payload = bytes(n, fill);
            await t.peer.sendFrame({ opcode, payload });
            return t.judge({ expect: [echo(payload)] });
          },
        ),
      );
    });
    cases.push(
      peerCase(
        `${family}.8`,
        `Send a ${kind} message with a 65536-byte payload in 997-byte chops; expect it echoed`,
        async (t) => {
          const payload = bytes(65536, fill);
          await t.peer.sendFrame({ opcode, payload }, { chop: 997 });
          return t.judge({ expect: [echo(payload)] });
        },
      ),
    );
  }
  return cases;
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function pingCases() {
  const tooBig = protocolError("control frame payload > 125 bytes, RFC 6455 §5.5");
  const binaryPayload = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
  return [
    peerCase(
      "2.1",
      "Send a ping without payload; expect a pong without payload (RFC 6455 §5.5.2, §5.5.3)",
      async (t) => {
        await t.peer.sendFrame({ opcode: PING });
        return t.judge({ expect: [pong("")] });
      },
    ),
    peerCase(
      "2.2",
      "Send a ping with a small text payload; expect a pong with the same payload",
      async (t) => {
        await t.peer.sendFrame({ opcode: PING, payload: HELLO });
        return t.judge({ expect: [pong(HELLO)] });
      },
    ),
    peerCase(
      "2.3",
      "Send a ping with a small binary payload; expect a pong with the same payload",
      async (t) => {
        await t.peer.sendFrame({ opcode: PING, payload: binaryPayload });
        return t.judge({ expect: [pong(binaryPayload)] });
      },
    ),
    peerCase(
      "2.4",
      "Send a ping with a 125-byte binary payload; expect a pong with the same payload",
      async (t) => {
        const payload = bytes(125, 0xfe);
        await t.peer.sendFrame({ opcode: PING, payload });
        return t.judge({ expect: [pong(payload)] });
      },
    ),
    peerCase(
      "2.5",
      "Send a ping with a 126-byte payload; expect the connection failed with 1002",
      async (t) => {
        await t.peer.sendFrame({ opcode: PING, payload: bytes(126, 0xfe) });
        return t.judge({ close: tooBig });
      },
    ),
    peerCase("2.6", "Send a ping with a 125-byte payload one byte per write; expect the pong", async (t) => {
      const payload = bytes(125, 0xfe);
      await t.peer.sendFrame({ opcode: PING, payload }, { chop: 1 });
      return t.judge({ expect: [pong(payload)] });
    }),
    peerCase(
      "2.7",
      "Send an unsolicited pong without payload; expect nothing back (RFC 6455 §5.5.3)",
      async (t) => {
        await t.peer.sendFrame({ opcode: PONG });
        return t.judge({ expect: [], quiet: true });
      },
    ),
    peerCase("2.8", "Send an unsolicited pong with payload; expect nothing back", async (t) => {
      await t.peer.sendFrame({ opcode: PONG, payload: Buffer.from("unsolicited pong payload") });
      return t.judge({ expect: [], quiet: true });
    }),
    peerCase("2.9", "Send an unsolicited pong, then a ping; expect only the ping's pong", async (t) => {
      await t.peer.sendFrames([
        { opcode: PONG, payload: Buffer.from("unsolicited pong payload") },
        { opcode: PING, payload: Buffer.from("ping payload") },
      ]);
      return t.judge({ expect: [pong("ping payload")], quiet: true });
    }),
    peerCase("2.10", "Send 10 pings with distinct payloads; expect 10 pongs in order", async (t) => {
      const payloads = Array.from({ length: 10 }, (_, i) => Buffer.from(`payload-${i}`));
      await t.peer.sendFrames(payloads.map((payload) => ({ opcode: PING, payload })));
      return t.judge(tenPongs(payloads));
    }),
    peerCase(
      "2.11",
      "Send 10 pings with distinct payloads one byte per write; expect 10 pongs in order",
      async (t) => {
        const payloads = Array.from({ length: 10 }, (_, i) => Buffer.from(`payload-${i}`));
        await t.peer.sendFrames(
          payloads.map((payload) => ({ opcode: PING, payload })),
          { chop: 1 },
        );
        return t.judge(tenPongs(payloads));
      },
    ),
  ];
}

/**
 * RFC 6455 §5.5.3 lets an endpoint answer only the most recent of several pings, so a subset
 * ending with the last one is NON-STRICT (Autobahn expects all of them).
 * @param {Buffer[]} payloads
 * @returns {import('../context.mjs').JudgeSpec}
 */
function tenPongs(payloads) {
  const expect = payloads.map((p) => pong(p));
  const last = /** @type {Buffer} */ (payloads[payloads.length - 1]);
  return {
    waitUntil: (evs) => evs.some((e) => e.type === "pong" && e.data.equals(last)),
    check: (evs) => {
      const cmp = compareEvents(evs, expect);
      if (cmp.kind === "equal") return null;
      const seen = evs.map((e) => (e.type === "pong" ? e.data.toString() : "?"));
      const ordered = seen.every(
        (s, i) =>
          i === 0 ||
          payloads.findIndex((p) => p.toString() === s) >
            payloads.findIndex((p) => p.toString() === seen[i - 1]),
      );
      if (ordered && seen[seen.length - 1] === last.toString() && evs.every((e) => e.type === "pong")) {
        return nonStrict(
          `answered ${evs.length} of 10 pings (allowed by RFC 6455 §5.5.3, Autobahn expects 10)`,
        );
      }
      return { verdict: "FAILED", reason: cmp.message };
    },
  };
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function reservedBitCases() {
  const why = protocolError("RSV bit set without a negotiated extension, RFC 6455 §5.2");
  return [
    peerCase("3.1", "Send a small text message with RSV = 1; expect the connection failed", async (t) => {
      await t.peer.sendFrame({ opcode: TEXT, payload: HELLO, rsv: 1 });
      return t.judge({ close: why });
    }),
    peerCase(
      "3.2",
      "Send a small text message, then again with RSV = 2, then a ping; expect the first echoed and the connection failed",
      async (t) => {
        await t.peer.sendFrames([
          { opcode: TEXT, payload: HELLO },
          { opcode: TEXT, payload: HELLO, rsv: 2 },
          { opcode: PING, payload: HELLO },
        ]);
        return t.judge({ expect: [textEcho(HELLO)], close: why });
      },
    ),
    peerCase("3.3", "As 3.2 with RSV = 3, frames sent one by one with pauses", async (t) => {
      await t.peer.sendFrames(
        [
          { opcode: TEXT, payload: HELLO },
          { opcode: TEXT, payload: HELLO, rsv: 3 },
          { opcode: PING, payload: HELLO },
        ],
        { frameWise: true },
      );
      return t.judge({ expect: [textEcho(HELLO)], close: why });
    }),
    peerCase("3.4", "As 3.2 with RSV = 4 (RSV1), sent one byte per write", async (t) => {
      await t.peer.sendFrames(
        [
          { opcode: TEXT, payload: HELLO },
          { opcode: TEXT, payload: HELLO, rsv: 4 },
          { opcode: PING, payload: HELLO },
        ],
        { chop: 1 },
      );
      return t.judge({ expect: [textEcho(HELLO)], close: why });
    }),
    peerCase("3.5", "Send a small binary message with RSV = 5; expect the connection failed", async (t) => {
      await t.peer.sendFrame({ opcode: BINARY, payload: bytes(8, 0xfe), rsv: 5 });
      return t.judge({ close: why });
    }),
    peerCase("3.6", "Send a ping with RSV = 6; expect the connection failed", async (t) => {
      await t.peer.sendFrame({ opcode: PING, payload: HELLO, rsv: 6 });
      return t.judge({ close: why });
    }),
    peerCase("3.7", "Send a close frame with RSV = 7; expect the connection failed", async (t) => {
      await t.peer.sendFrame({ opcode: CLOSE, payload: Buffer.from([0x03, 0xe8]), rsv: 7 });
      return t.judge({ close: why });
    }),
  ];
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function opcodeCases() {
  /** @type {import('./define.mjs').CaseDef[]} */
  const cases = [];
  for (const [family, opcodes, kind] of /** @type {const} */ ([
    ["4.1", [3, 4, 5, 6, 7], "non-control"],
    ["4.2", [11, 12, 13, 14, 15], "control"],
  ])) {
    const why = protocolError(`reserved ${kind} opcode, RFC 6455 §5.2`);
    const [a, b, c, d, e] = opcodes;
    cases.push(
      peerCase(
        `${family}.1`,
        `Send a frame with reserved ${kind} opcode ${a}; expect the connection failed`,
        async (t) => {
          await t.peer.sendFrame({ opcode: a });
          return t.judge({ close: why });
        },
      ),
      peerCase(
        `${family}.2`,
        `Send a frame with reserved ${kind} opcode ${b} and a payload; expect the connection failed`,
        async (t) => {
          await t.peer.sendFrame({ opcode: b, payload: bytes(16, 0x2a) });
          return t.judge({ close: why });
        },
      ),
      peerCase(
        `${family}.3`,
        `Send a text message, then reserved opcode ${c}, then a ping; expect the echo and the connection failed`,
        async (t) => {
          await t.peer.sendFrames([
            { opcode: TEXT, payload: HELLO },
            { opcode: c },
            { opcode: PING, payload: HELLO },
          ]);
          return t.judge({ expect: [textEcho(HELLO)], close: why });
        },
      ),
      peerCase(
        `${family}.4`,
        `Send a text message, then reserved opcode ${d} with payload, then a ping`,
        async (t) => {
          await t.peer.sendFrames([
            { opcode: TEXT, payload: HELLO },
            { opcode: d, payload: bytes(16, 0x2a) },
            { opcode: PING, payload: HELLO },
          ]);
          return t.judge({ expect: [textEcho(HELLO)], close: why });
        },
      ),
      peerCase(
        `${family}.5`,
        `Send a text message, then reserved opcode ${e} with payload, then a ping, one byte per write`,
        async (t) => {
          await t.peer.sendFrames(
            [
              { opcode: TEXT, payload: HELLO },
              { opcode: e, payload: bytes(16, 0x2a) },
              { opcode: PING, payload: HELLO },
            ],
            { chop: 1 },
          );
          return t.judge({ expect: [textEcho(HELLO)], close: why });
        },
      ),
    );
  }
  return cases;
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function fragmentationCases() {
  const fragmentedControl = protocolError("control frames must not be fragmented, RFC 6455 §5.5");
  const nothingToContinue = protocolError("continuation frame without a message to continue, RFC 6455 §5.4");
  const fragment1 = Buffer.from("fragment1");
  const fragment2 = Buffer.from("fragment2");
  const whole = Buffer.concat([fragment1, fragment2]);
  /** @type {import('../frame.mjs').FrameSpec[]} */
  const twoFragments = [
    { opcode: TEXT, payload: fragment1, fin: false },
    { opcode: CONTINUATION, payload: fragment2, fin: true },
  ];
  /** @type {import('../frame.mjs').FrameSpec[]} */
  const withPing = [
    { opcode: TEXT, payload: fragment1, fin: false },
    { opcode: PING, payload: Buffer.from("ping payload") },
    { opcode: CONTINUATION, payload: fragment2, fin: true },
  ];
  /** @param {boolean} fin @returns {import('../frame.mjs').FrameSpec[]} */
  const orphan = (fin) => [
    { opcode: CONTINUATION, payload: fragment1, fin },
    { opcode: TEXT, payload: HELLO },
  ];
  /** @type {[string, { chop?: number, frameWise?: boolean }][]} how the bytes are written */
  const modes = [
    ["in one write", {}],
    ["one frame per write with pauses", { frameWise: true }],
    ["one byte per write", { chop: 1 }],
  ];
  /** @type {import('./define.mjs').CaseDef[]} */
  const cases = [
    peerCase("5.1", "Send a ping fragmented into 2 frames; expect the connection failed", async (t) => {
      await t.peer.sendFrames([
        { opcode: PING, payload: fragment1, fin: false },
        { opcode: CONTINUATION, payload: fragment2, fin: true },
      ]);
      return t.judge({ close: fragmentedControl });
    }),
    peerCase("5.2", "Send a pong fragmented into 2 frames; expect the connection failed", async (t) => {
      await t.peer.sendFrames([
        { opcode: PONG, payload: fragment1, fin: false },
        { opcode: CONTINUATION, payload: fragment2, fin: true },
      ]);
      return t.judge({ close: fragmentedControl });
    }),
  ];
  modes.forEach(([how, options], i) => {
    cases.push(
      peerCase(`5.${3 + i}`, `Send a text message in 2 fragments, ${how}; expect it echoed`, async (t) => {
        await t.peer.sendFrames(twoFragments, options);
        return t.judge({ expect: [textEcho(whole)] });
      }),
    );
  });
  modes.forEach(([how, options], i) => {
    cases.push(
      peerCase(
        `5.${6 + i}`,
        `Send a text message in 2 fragments with a ping between them, ${how}; expect the pong, then the echo (RFC 6455 §5.4)`,
        async (t) => {
          await t.peer.sendFrames(withPing, options);
          return t.judge({ expect: [pong("ping payload"), textEcho(whole)] });
        },
      ),
    );
  });
  modes.forEach(([how, options], i) => {
    cases.push(
      peerCase(
        `5.${9 + i}`,
        `Send a continuation frame with FIN = 1 and nothing to continue, then a text message, ${how}; expect the connection failed`,
        async (t) => {
          await t.peer.sendFrames(orphan(true), options);
          return t.judge({ close: nothingToContinue });
        },
      ),
    );
  });
  modes.forEach(([how, options], i) => {
    cases.push(
      peerCase(
        `5.${12 + i}`,
        `Send a continuation frame with FIN = 0 and nothing to continue, then a text message, ${how}; expect the connection failed`,
        async (t) => {
          await t.peer.sendFrames(orphan(false), options);
          return t.judge({ close: nothingToContinue });
        },
      ),
    );
  });
  cases.push(
    peerCase(
      "5.15",
      "Send a text message in 2 fragments, then a continuation frame (FIN = 0) with nothing to continue, then a text message; expect the first echoed, then the connection failed",
      async (t) => {
        await t.peer.sendFrames([
          ...twoFragments,
          { opcode: CONTINUATION, payload: fragment1, fin: false },
          { opcode: TEXT, payload: HELLO },
        ]);
        return t.judge({ expect: [textEcho(whole)], close: nothingToContinue });
      },
    ),
    peerCase(
      "5.16",
      "Twice: a continuation frame (FIN = 0) with nothing to continue, then a text message in 2 fragments; expect the connection failed",
      async (t) => {
        const round = [{ opcode: CONTINUATION, payload: fragment1, fin: false }, ...twoFragments];
        await t.peer.sendFrames([...round, ...round]);
        return t.judge({ close: nothingToContinue });
      },
    ),
    peerCase(
      "5.17",
      "Twice: a continuation frame (FIN = 1) with nothing to continue, then a text message in 2 fragments; expect the connection failed",
      async (t) => {
        const round = [{ opcode: CONTINUATION, payload: fragment1, fin: true }, ...twoFragments];
        await t.peer.sendFrames([...round, ...round]);
        return t.judge({ close: nothingToContinue });
      },
    ),
    peerCase(
      "5.18",
      "Send a text message in 2 fragments that both carry the text opcode; expect the connection failed (RFC 6455 §5.4)",
      async (t) => {
        await t.peer.sendFrames([
          { opcode: TEXT, payload: fragment1, fin: false },
          { opcode: TEXT, payload: fragment2, fin: true },
        ]);
        return t.judge({ close: protocolError("new data frame inside a fragmented message, RFC 6455 §5.4") });
      },
    ),
  );
  for (const [id, how, options] of /** @type {const} */ ([
    ["5.19", "with pauses", {}],
    ["5.20", "one byte per write", { chop: 1 }],
  ])) {
    cases.push(
      peerCase(
        id,
        `Send a text message in 5 fragments with a ping after the 2nd and the 4th, ${how}; expect 2 pongs, then the echo`,
        async (t) => {
          const parts = ["fragment1", "fragment2", "fragment3", "fragment4", "fragment5"].map((s) =>
            Buffer.from(s),
          );
          /** @param {number} i */
          const frag = (i) => ({
            opcode: i === 0 ? TEXT : CONTINUATION,
            payload: /** @type {Buffer} */ (parts[i]),
            fin: i === 4,
          });
          await t.peer.sendFrames(
            [frag(0), frag(1), { opcode: PING, payload: Buffer.from("pongme 1!") }],
            options,
          );
          await t.sleep(t.profile.failFastWaitMs);
          await t.peer.sendFrames(
            [frag(2), frag(3), { opcode: PING, payload: Buffer.from("pongme 2!") }],
            options,
          );
          await t.sleep(t.profile.failFastWaitMs);
          await t.peer.sendFrames([frag(4)], options);
          return t.judge({ expect: [pong("pongme 1!"), pong("pongme 2!"), textEcho(Buffer.concat(parts))] });
        },
      ),
    );
  }
  return cases;
}
