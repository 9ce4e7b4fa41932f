// Verdicts and the shared "how did the peer behave" judgement used by most cases.

import { OPCODE } from "./frame.mjs";

/** @typedef {'OK' | 'NON-STRICT' | 'FAILED' | 'INFORMATIONAL' | 'UNIMPLEMENTED'} VerdictName */
/** @typedef {{ verdict: VerdictName, reason: string }} Verdict */

export const VERDICTS = /** @type {const} */ ([
  "OK",
  "NON-STRICT",
  "INFORMATIONAL",
  "UNIMPLEMENTED",
  "FAILED",
]);

const RANK = { OK: 0, INFORMATIONAL: 1, UNIMPLEMENTED: 2, "NON-STRICT": 3, FAILED: 4 };

/** @param {string} reason @returns {Verdict} */
export const ok = (reason) => ({ verdict: "OK", reason });
/** @param {string} reason @returns {Verdict} */
export const failed = (reason) => ({ verdict: "FAILED", reason });
/** @param {string} reason @returns {Verdict} */
export const nonStrict = (reason) => ({ verdict: "NON-STRICT", reason });
/** @param {string} reason @returns {Verdict} */
export const informational = (reason) => ({ verdict: "INFORMATIONAL", reason });
/** @param {string} reason @returns {Verdict} */
export const unimplemented = (reason) => ({ verdict: "UNIMPLEMENTED", reason });

/**
 * The worst verdict wins; reasons of non-OK parts are kept.
 * @param {Verdict[]} parts
 * @returns {Verdict}
 */
export function combine(parts) {
  let worst = /** @type {Verdict} */ (parts[0] ?? ok("nothing checked"));
  for (const p of parts) if (RANK[p.verdict] > RANK[worst.verdict]) worst = p;
  const reasons = parts.filter((p) => p.verdict === worst.verdict && p.reason !== "").map((p) => p.reason);
  return { verdict: worst.verdict, reason: [...new Set(reasons)].join("; ") };
}

/** @param {Buffer} data */
function preview(data) {
  if (data.length > 24) return `${data.length} bytes`;
  const text = data.toString("utf8");
  const printable = /^[\x20-\x7e]*$/.test(text);
  return `${data.length} bytes ${printable ? JSON.stringify(text) : `0x${data.toString("hex")}`}`;
}

/** @param {import('./peer.mjs').ExpectedEvent | import('./peer.mjs').PeerEvent} e */
export function describe(e) {
  if (e.type === "message")
    return `${e.opcode === OPCODE.TEXT ? "text" : e.opcode === OPCODE.BINARY ? "binary" : `opcode ${e.opcode}`} message (${preview(e.data)})`;
  if (e.type === "close")
    return `close (${e.code ?? "no code"}${e.reason.length > 0 ? ` "${e.reason.toString().slice(0, 60)}"` : ""})`;
  return `${e.type} (${preview(e.data)})`;
}

/**
 * @param {import('./peer.mjs').PeerEvent} seen
 * @param {import('./peer.mjs').ExpectedEvent} want
 */
function same(seen, want) {
  if (seen.type !== want.type) return false;
  if (seen.type === "message" && want.type === "message" && seen.opcode !== want.opcode) return false;
  return "data" in seen && seen.data.equals(want.data);
}

/**
 * Compare what the peer sent with what we expected, in order.
 * @param {import('./peer.mjs').PeerEvent[]} seen
 * @param {import('./peer.mjs').ExpectedEvent[]} want
 * @returns {{ kind: 'equal' | 'prefix' | 'diverged', index: number, message: string }}
 */
export function compareEvents(seen, want) {
  for (let i = 0; i < seen.length; i++) {
    const s = /** @type {import('./peer.mjs').PeerEvent} */ (seen[i]);
    const w = want[i];
    if (w === undefined)
      return { kind: "diverged", index: i, message: `unexpected ${describe(s)} as event #${i + 1}` };
    if (!same(s, w))
      return {
        kind: "diverged",
        index: i,
        message: `event #${i + 1}: expected ${describe(w)}, got ${describe(s)}`,
      };
  }
  if (seen.length === want.length) return { kind: "equal", index: seen.length, message: "" };
  const missing = want[seen.length];
  return {
    kind: "prefix",
    index: seen.length,
    message: `missing ${missing === undefined ? "event" : describe(missing)} (event #${seen.length + 1} of ${want.length})`,
  };
}

/** @param {string | Buffer} data @returns {import('./peer.mjs').ExpectedEvent} */
export const textEcho = (data) => ({ type: "message", opcode: OPCODE.TEXT, data: Buffer.from(data) });
/** @param {Buffer} data @returns {import('./peer.mjs').ExpectedEvent} */
export const binaryEcho = (data) => ({ type: "message", opcode: OPCODE.BINARY, data });
/** @param {string | Buffer} data @returns {import('./peer.mjs').ExpectedEvent} */
export const pong = (data) => ({ type: "pong", data: Buffer.from(data) });
