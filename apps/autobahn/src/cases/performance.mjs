// Family 9 (limits and performance, INFORMATIONAL timings) and family 10 (miscellaneous).

import { performance } from "node:perf_hooks";
import { OPCODE } from "../frame.mjs";
import { binaryEcho, informational, textEcho } from "../judge.mjs";
import { peerCase, protocolError } from "./define.mjs";

const { TEXT, BINARY, CONTINUATION } = OPCODE;
const KiB = 1024;
const MiB = 1024 * 1024;

/** @param {number} n */
function size(n) {
  return n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} bytes`;
}

/**
 * Payload of n bytes: printable ASCII for text, a byte pattern for binary.
 * @param {number} n @param {number} opcode
 */
function payloadOf(n, opcode) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = opcode === TEXT ? 0x20 + (i % 95) : (i * 31) & 0xff;
  return b;
}

/**
 * Judge one big echo: correct -> INFORMATIONAL with the timing, anything else -> the judgement
 * (messages up to 16 MiB must pass: the echo contract allows no lower size limit).
 * @param {import('../context.mjs').CaseContext} t
 * @param {import('../peer.mjs').ExpectedEvent[]} expect
 * @param {number} started
 * @param {number} bytesEachWay
 * @param {boolean} [limitIsPolicy] a 1008/1009 refusal is INFORMATIONAL (fragment-count limits)
 */
async function timed(t, expect, started, bytesEachWay, limitIsPolicy = false) {
  const v = await t.judge({ expect, timeoutMs: t.profile.bigCaseTimeoutMs / 2 });
  const ms = performance.now() - started;
  const close = t.peer.closeReceived;
  if (
    limitIsPolicy &&
    v.verdict === "FAILED" &&
    close !== null &&
    (close.code === 1008 || close.code === 1009) &&
    t.peer.appEvents().length === 0
  ) {
    // A fragment-count limit is a resource policy the RFC leaves open (our ARCHITECTURE.md lists one).
    return informational(
      `refused by a limit: closed with ${close.code}${close.reason.length > 0 ? ` "${close.reason.toString()}"` : ""}`,
    );
  }
  if (v.verdict !== "OK") return v;
  const rate = ms > 0 ? ((2 * bytesEachWay) / MiB / (ms / 1000)).toFixed(1) : "∞";
  return informational(
    `round trip of ${size(bytesEachWay)} in ${expect.length} message(s): ${ms.toFixed(0)} ms (${rate} MiB/s both ways)`,
  );
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function performanceCases() {
  /** @type {import('./define.mjs').CaseDef[]} */
  const cases = [];
  const big = { serial: true };
  for (const [family, opcode, kind] of /** @type {const} */ ([
    ["9.1", TEXT, "text"],
    ["9.2", BINARY, "binary"],
  ])) {
    [64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB].forEach((full, i) => {
      cases.push(
        peerCase(
          `${family}.${i + 1}`,
          `Send a ${kind} message of ${size(full)} (quick profile: /16); time the echo`,
          async (t) => {
            const payload = payloadOf(full / t.profile.sizeDivisor, opcode);
            const started = performance.now();
            await t.peer.sendFrame({ opcode, payload });
            return timed(
              t,
              [opcode === TEXT ? textEcho(payload) : binaryEcho(payload)],
              started,
              payload.length,
            );
          },
          big,
        ),
      );
    });
  }
  for (const [family, opcode, kind] of /** @type {const} */ ([
    ["9.3", TEXT, "text"],
    ["9.4", BINARY, "binary"],
  ])) {
    [64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB].forEach((fragment, i) => {
      cases.push(
        peerCase(
          `${family}.${i + 1}`,
          `Send a 4 MiB ${kind} message (quick: /16) in ${size(fragment)} fragments; time the echo (a 1008/1009 fragment limit is INFORMATIONAL)`,
          async (t) => {
            const payload = payloadOf((4 * MiB) / t.profile.sizeDivisor, opcode);
            const started = performance.now();
            /** @type {import('../frame.mjs').FrameSpec[]} */
            const frames = [];
            for (let at = 0; at < payload.length; at += fragment) {
              frames.push({
                opcode: at === 0 ? opcode : CONTINUATION,
                payload: payload.subarray(at, at + fragment),
                fin: at + fragment >= payload.length,
              });
            }
            await t.peer.sendFrames(frames);
            return timed(
              t,
              [opcode === TEXT ? textEcho(payload) : binaryEcho(payload)],
              started,
              payload.length,
              true,
            );
          },
          big,
        ),
      );
    });
  }
  for (const [family, opcode, kind] of /** @type {const} */ ([
    ["9.5", TEXT, "text"],
    ["9.6", BINARY, "binary"],
  ])) {
    [64, 128, 256, 512, 1024, 2048].forEach((chop, i) => {
      cases.push(
        peerCase(
          `${family}.${i + 1}`,
          `Send a 1 MiB ${kind} message (quick: /16) in ${chop}-byte TCP writes; time the echo`,
          async (t) => {
            const payload = payloadOf(MiB / t.profile.sizeDivisor, opcode);
            const started = performance.now();
            await t.peer.sendFrame({ opcode, payload }, { chop });
            return timed(
              t,
              [opcode === TEXT ? textEcho(payload) : binaryEcho(payload)],
              started,
              payload.length,
            );
          },
          big,
        ),
      );
    });
  }
  for (const [family, opcode, kind] of /** @type {const} */ ([
    ["9.7", TEXT, "text"],
    ["9.8", BINARY, "binary"],
  ])) {
    [0, 16, 64, 256, 1024, 4096].forEach((n, i) => {
      cases.push(
        peerCase(
          `${family}.${i + 1}`,
          `Send 1000 ${kind} messages of ${n} bytes (quick: 100), each after the previous echo; time it`,
          async (t) => {
            const count = Math.max(1, Math.round(1000 / t.profile.repeatDivisor));
            const payload = payloadOf(n, opcode);
            const p = t.peer;
            const started = performance.now();
            for (let i = 0; i < count; i++) {
              await p.sendFrame({ opcode, payload });
              const got = await p.waitFor(
                () => p.appEvents().length > i || p.closeReceived !== null || p.tcpClosed,
                t.profile.echoTimeoutMs,
              );
              if (!got || p.closeReceived !== null || p.tcpClosed) break;
            }
            const echo = opcode === TEXT ? textEcho(payload) : binaryEcho(payload);
            const v = await t.judge({ expect: Array.from({ length: count }, () => echo) });
            if (v.verdict !== "OK") return v;
            const ms = performance.now() - started;
            return informational(
              `${count} round trips of ${n} bytes in ${ms.toFixed(0)} ms (${((ms * 1000) / count).toFixed(0)} µs each)`,
            );
          },
          big,
        ),
      );
    });
  }
  return cases;
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function miscCases() {
  return [
    peerCase(
      "10.1.1",
      "Send a 65536-byte text message in 1300-byte fragments; expect it echoed",
      async (t) => {
        const payload = payloadOf(65536, TEXT);
        /** @type {import('../frame.mjs').FrameSpec[]} */
        const frames = [];
        for (let at = 0; at < payload.length; at += 1300) {
          frames.push({
            opcode: at === 0 ? TEXT : CONTINUATION,
            payload: payload.subarray(at, at + 1300),
            fin: at + 1300 >= payload.length,
          });
        }
        await t.peer.sendFrames(frames);
        return t.judge({ expect: [textEcho(payload)] });
      },
    ),
    peerCase(
      "10.2.1",
      "Send a 5-byte text message with a non-minimal 16-bit length (RFC 6455 §5.2 says minimal MUST be used); report the reaction",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, payload: Buffer.from("Hello"), lengthForm: 16 });
        return nonMinimal(t);
      },
    ),
    peerCase(
      "10.2.2",
      "Send a 5-byte text message with a non-minimal 64-bit length; report the reaction",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, payload: Buffer.from("Hello"), lengthForm: 64 });
        return nonMinimal(t);
      },
    ),
    peerCase(
      "10.3.1",
      "Send a text frame with the MASK bit the wrong way for our role (unmasked from a client, masked from a server); expect the connection failed (RFC 6455 §5.1)",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, payload: Buffer.from("Hello"), mask: t.role !== "client" });
        return t.judge({ close: protocolError("masking rule broken, RFC 6455 §5.1") });
      },
    ),
  ];
}

/** Both echoing and failing with 1002 are defensible; report which. @param {import('../context.mjs').CaseContext} t */
async function nonMinimal(t) {
  const p = t.peer;
  await p.waitFor(
    () => p.appEvents().length > 0 || p.closeReceived !== null || p.tcpClosed,
    t.profile.echoTimeoutMs,
  );
  if (p.closeReceived !== null) {
    const v = await t.judge({ close: protocolError("non-minimal length, RFC 6455 §5.2") });
    return v.verdict === "OK" ? informational("strict: failed the connection with 1002") : v;
  }
  const v = await t.judge({ expect: [textEcho("Hello")] });
  return v.verdict === "OK" ? informational("lenient: echoed the message") : v;
}
