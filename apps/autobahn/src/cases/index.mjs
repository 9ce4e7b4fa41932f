// All cases, in report order, and the --cases filter.

import { closeCases } from "./close.mjs";
import { compressionCases } from "./compression.mjs";
import { fragmentationCases, framingCases, opcodeCases, pingCases, reservedBitCases } from "./core.mjs";
import { handshakeCases } from "./handshake.mjs";
import { miscCases, performanceCases } from "./performance.mjs";
import { resourceCases } from "./resources.mjs";
import { utf8Cases } from "./utf8.mjs";

/** @returns {import('./define.mjs').CaseDef[]} */
export function allCases() {
  const cases = [
    ...framingCases(),
    ...pingCases(),
    ...reservedBitCases(),
    ...opcodeCases(),
    ...fragmentationCases(),
    ...utf8Cases(),
    ...closeCases(),
    ...performanceCases(),
    ...miscCases(),
    ...compressionCases(),
    ...handshakeCases(),
    ...resourceCases(),
  ];
  const seen = new Set();
  for (const c of cases) {
    if (seen.has(c.id)) throw new Error(`duplicate case id ${c.id}`);
    seen.add(c.id);
  }
  return cases.sort((a, b) => compareIds(a.id, b.id));
}

/**
 * Numeric-aware id order; numeric families first, then lettered ones (H, R).
 * @param {string} a @param {string} b
 */
export function compareIds(a, b) {
  const pa = a.split(".");
  const pb = b.split(".");
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : null;
    const ny = /^\d+$/.test(y) ? Number(y) : null;
    if (nx !== null && ny !== null) {
      if (nx !== ny) return nx - ny;
    } else if (nx !== null) return -1;
    else if (ny !== null) return 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * "1.*,6.4.*,7.9.1" -> predicate. A pattern matches an id exactly or, with "*", by prefix glob.
 * @param {string | undefined} patterns
 * @returns {(id: string) => boolean}
 */
export function caseFilter(patterns) {
  if (patterns === undefined || patterns.trim() === "") return () => true;
  const regexes = patterns
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i"));
  return (id) => regexes.some((r) => r.test(id));
}

/**
 * @param {{ mode: import('./define.mjs').Mode, deflate: boolean, cases?: string }} options
 */
export function selectCases(options) {
  const match = caseFilter(options.cases);
  return allCases().filter(
    (c) => c.modes.includes(options.mode) && (c.deflate !== true || options.deflate) && match(c.id),
  );
}
