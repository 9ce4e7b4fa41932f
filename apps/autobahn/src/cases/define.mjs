// How cases are declared.

/**
 * @typedef {'server' | 'client'} Mode
 *   'server': the runner is a fuzzing client testing an echo *server*;
 *   'client': the runner is a fuzzing server testing an echo *client*.
 */

/**
 * @typedef {object} RawEnv what a raw case (own TCP connections) gets in server mode
 * @property {number} port
 * @property {import('../context.mjs').Profile} profile
 * @property {() => number | null} serverRss resident memory of the server process in bytes (Linux), or null
 * @property {boolean} deflate the target was started with --deflate
 * @property {import('../http2.mjs').Http2Transport | null} [http2] cases run over HTTP/2 streams (RFC 8441)
 */

/**
 * @typedef {object} CaseDef
 * @property {string} id Autobahn-like id ("1.1.1"; "H.x" handshake and "R.x" resource cases are ours)
 * @property {string} description
 * @property {Mode[]} modes
 * @property {'peer' | 'raw'} kind 'peer': the runner opens (or accepts) the connection; 'raw': the case does all I/O itself
 * @property {boolean} [deflate] needs permessage-deflate (only run with --deflate)
 * @property {string} [offer] Sec-WebSocket-Extensions offered when opening the connection
 * @property {string} [path] request path (server mode)
 * @property {boolean} [serial] run alone (performance and resource cases)
 * @property {(t: any) => Promise<import('../judge.mjs').Verdict>} run
 *   receives a CaseContext for 'peer' cases and a RawEnv for 'raw' cases
 */

/** @type {Mode[]} */
export const BOTH = ["server", "client"];

/**
 * @param {string} id
 * @param {string} description
 * @param {(t: import('../context.mjs').CaseContext) => Promise<import('../judge.mjs').Verdict>} run
 * @param {Partial<CaseDef>} [extra]
 * @returns {CaseDef}
 */
export function peerCase(id, description, run, extra = {}) {
  return { id, description, modes: BOTH, kind: "peer", ...extra, run };
}

/**
 * Server-mode case that opens its own connections.
 * @param {string} id
 * @param {string} description
 * @param {(env: RawEnv) => Promise<import('../judge.mjs').Verdict>} run
 * @param {Partial<CaseDef>} [extra]
 * @returns {CaseDef}
 */
export function rawCase(id, description, run, extra = {}) {
  return { id, description, modes: ["server"], kind: "raw", ...extra, run };
}

/** @param {string} why */
export const protocolError = (why) => ({ fail: [1002], why });
/** @param {string} why */
export const invalidPayload = (why) => ({ fail: [1007], why });

/** @param {number} n @param {number} byte */
export const bytes = (n, byte) => Buffer.alloc(n, byte);
