// What a case gets to work with, and the common closing judgement.

import { setTimeout as sleep } from "node:timers/promises";
import { combine, compareEvents, describe, failed, nonStrict, ok } from "./judge.mjs";

/**
 * @typedef {object} Profile
 * @property {'quick' | 'full'} name
 * @property {number} echoTimeoutMs   wait for expected echoes
 * @property {number} closeTimeoutMs  wait for the closing handshake and the TCP close
 * @property {number} failTimeoutMs   wait for the peer to fail the connection
 * @property {number} quietMs         window in which nothing (more) may arrive
 * @property {number} failFastWaitMs  pause between parts in the UTF-8 fail-fast cases (Autobahn: 1 s)
 * @property {number} sizeDivisor     performance sizes are divided by this
 * @property {number} repeatDivisor   performance repetitions are divided by this
 * @property {number} caseTimeoutMs   hard limit for one ordinary case
 * @property {number} bigCaseTimeoutMs hard limit for performance / resource cases
 */

/** @type {Record<'quick' | 'full', Profile>} */
export const PROFILES = {
  full: {
    name: "full",
    echoTimeoutMs: 10_000,
    closeTimeoutMs: 3_000,
    failTimeoutMs: 5_000,
    quietMs: 500,
    failFastWaitMs: 1_000,
    sizeDivisor: 1,
    repeatDivisor: 1,
    caseTimeoutMs: 30_000,
    bigCaseTimeoutMs: 120_000,
  },
  quick: {
    name: "quick",
    echoTimeoutMs: 5_000,
    closeTimeoutMs: 2_000,
    failTimeoutMs: 3_000,
    quietMs: 150,
    failFastWaitMs: 250,
    sizeDivisor: 16,
    repeatDivisor: 10,
    caseTimeoutMs: 20_000,
    bigCaseTimeoutMs: 60_000,
  },
};

/**
 * @typedef {object} JudgeSpec
 * @property {import('./peer.mjs').ExpectedEvent[]} [expect] messages/pongs expected, in order
 * @property {(events: import('./peer.mjs').PeerEvent[]) => import('./judge.mjs').Verdict | null} [check]
 *   custom evaluation of the events instead of `expect` (null = OK)
 * @property {(events: import('./peer.mjs').PeerEvent[]) => boolean} [waitUntil] when to stop waiting (with `check`)
 * @property {'normal' | { fail: number[], nonStrictCodes?: number[], why: string }} [close]
 *   'normal': we close with `closeCode` and expect it echoed; otherwise the peer must fail the
 *   connection with one of `fail` (RFC 6455 §7.1.7) because of `why`.
 * @property {number | null} [closeCode]
 * @property {string | Buffer} [closeReason]
 * @property {(number | null)[]} [acceptCodes] close codes accepted in the peer's reply
 * @property {boolean} [quiet] after the expected events, wait `quietMs` for unexpected extras
 * @property {boolean} [prefixIsNonStrict] fail cases: failing before echoing earlier valid messages is NON-STRICT (default true)
 * @property {number} [timeoutMs] override the echo / fail wait
 */

export class CaseContext {
  /**
   * @param {import('./peer.mjs').Peer} peer
   * @param {Profile} profile
   */
  constructor(peer, profile) {
    this.peer = peer;
    this.profile = profile;
  }

  get role() {
    return this.peer.role;
  }

  /** @param {number} ms */
  sleep(ms) {
    return sleep(ms);
  }

  /**
   * Wait, then judge the peer's messages and closing behaviour.
   * @param {JudgeSpec} spec
   * @returns {Promise<import('./judge.mjs').Verdict>}
   */
  async judge(spec) {
    const p = this.peer;
    const expect = spec.expect ?? [];
    const diverged = () =>
      spec.check === undefined && compareEvents(p.appEvents(), expect).kind === "diverged";
    const closeSpec = spec.close ?? "normal";

    if (closeSpec === "normal") {
      const done =
        spec.waitUntil ??
        ((/** @type {import('./peer.mjs').PeerEvent[]} */ evs) => evs.length >= expect.length);
      const closedByPeer = () => p.closeReceived !== null || p.peerEndedAt !== null;
      await p.waitFor(
        () => done(p.appEvents()) || closedByPeer() || diverged() || p.violations.length > 0,
        spec.timeoutMs ?? this.profile.echoTimeoutMs,
      );
      if (spec.quiet === true && !closedByPeer()) {
        const count = p.appEvents().length;
        await p.waitFor(() => closedByPeer() || p.appEvents().length > count, this.profile.quietMs);
      }
      const peerClosedFirst =
        (p.closeReceived !== null && (p.closeSentAt === null || p.closeReceived.t < p.closeSentAt)) ||
        (p.closeReceived === null && p.peerEndedAt !== null && p.closeSentAt === null);
      const code = spec.closeCode === undefined ? 1000 : spec.closeCode;
      if (p.closeSentAt === null && !p.tcpClosed) await p.sendClose(code, spec.closeReason ?? "");
      await this.finishClose();

      /** @type {import('./judge.mjs').Verdict[]} */
      const parts = [ok("")];
      for (const v of p.violations) parts.push(failed(v));
      parts.push(this.evaluateEvents(spec, expect));
      if (peerClosedFirst) {
        parts.push(
          failed(
            p.closeReceived === null
              ? "peer dropped the TCP connection instead of answering"
              : `peer closed the connection itself with ${p.closeReceived.code ?? "no code"}${p.closeReceived.reason.length > 0 ? ` "${p.closeReceived.reason.toString()}"` : ""}`,
          ),
        );
      } else if (p.closeReceived === null) {
        parts.push(
          failed(
            p.peerEndedAt !== null
              ? `peer closed TCP without answering our Close frame (RFC 6455 §5.5.1)${cutOff(p)}`
              : `no Close frame in reply to ours within ${this.profile.closeTimeoutMs} ms (RFC 6455 §5.5.1)`,
          ),
        );
      } else {
        const accept = spec.acceptCodes ?? [code];
        const got = p.closeReceived.code;
        if (!accept.includes(got)) {
          if (got === null && code !== null) {
            parts.push(
              nonStrict(
                `closing handshake answered without a status code (RFC 6455 §5.5.1: typically echoes ${code})`,
              ),
            );
          } else {
            parts.push(
              failed(
                `closing handshake answered with ${got ?? "no code"}, expected ${accept.map((c) => c ?? "none").join(" or ")}`,
              ),
            );
          }
        }
      }
      parts.push(this.tcpCloseVerdict());
      return finalize(parts);
    }

    // The peer must fail the connection (RFC 6455 §7.1.7).
    await p.waitFor(
      () =>
        p.tcpClosed ||
        p.closeReceived !== null ||
        p.peerEndedAt !== null ||
        diverged() ||
        p.violations.length > 0,
      spec.timeoutMs ?? this.profile.failTimeoutMs,
    );
    const failedInTime = p.closeReceived !== null || p.peerEndedAt !== null || p.tcpClosed;
    const stoppedEarly = diverged() || p.violations.length > 0;
    if (!failedInTime && !p.tcpClosed) {
      // Clean up so the peer is not left waiting; not part of the judgement.
      if (p.closeSentAt === null) await p.sendClose(1000, "");
    }
    await this.finishClose();

    /** @type {import('./judge.mjs').Verdict[]} */
    const parts = [ok("")];
    for (const v of p.violations) parts.push(failed(v));
    const cmp = compareEvents(p.appEvents(), expect);
    if (spec.check !== undefined) {
      const r = spec.check(p.appEvents());
      if (r !== null) parts.push(r);
    } else if (cmp.kind === "diverged") {
      parts.push(failed(`${cmp.message} although the connection had to be failed (${closeSpec.why})`));
    } else if (cmp.kind === "prefix") {
      parts.push(
        spec.prefixIsNonStrict === false
          ? failed(cmp.message)
          : nonStrict(`failed the connection before answering earlier valid frames: ${cmp.message}`),
      );
    }
    if (!failedInTime) {
      const waited = stoppedEarly ? "" : ` within ${spec.timeoutMs ?? this.profile.failTimeoutMs} ms`;
      parts.push(
        failed(
          `connection not failed${waited}; expected close ${closeSpec.fail.join("/")} (${closeSpec.why})`,
        ),
      );
    } else if (p.closeReceived === null) {
      parts.push(
        nonStrict(
          `dropped TCP without a Close frame (RFC 6455 §7.1.7: SHOULD send ${closeSpec.fail.join("/")}) (${closeSpec.why})${cutOff(p)}`,
        ),
      );
    } else {
      const got = p.closeReceived.code;
      const closedFirst = p.closeSentAt === null || p.closeReceived.t < p.closeSentAt;
      if (!closedFirst && got !== null && !closeSpec.fail.includes(got)) {
        parts.push(
          failed(
            `connection not failed within the wait; it answered our Close with ${got} (${closeSpec.why})`,
          ),
        );
      } else if (got !== null && closeSpec.fail.includes(got)) {
        // expected
      } else if (got !== null && (closeSpec.nonStrictCodes ?? []).includes(got)) {
        parts.push(
          nonStrict(`failed with close code ${got}, expected ${closeSpec.fail.join("/")} (${closeSpec.why})`),
        );
      } else {
        parts.push(
          failed(
            `failed with close code ${got ?? "(none)"}, expected ${closeSpec.fail.join("/")} (${closeSpec.why})`,
          ),
        );
      }
    }
    parts.push(this.tcpCloseVerdict());
    return finalize(parts);
  }

  /**
   * @param {JudgeSpec} spec
   * @param {import('./peer.mjs').ExpectedEvent[]} expect
   * @returns {import('./judge.mjs').Verdict}
   */
  evaluateEvents(spec, expect) {
    const events = this.peer.appEvents();
    if (spec.check !== undefined) return spec.check(events) ?? ok("");
    const cmp = compareEvents(events, expect);
    if (cmp.kind === "equal") return ok("");
    return failed(cmp.message);
  }

  /** After a closing handshake, the server must close TCP (RFC 6455 §5.5.1, §7.1.1). */
  tcpCloseVerdict() {
    const p = this.peer;
    if (p.role !== "client" || p.closeReceived === null || p.closeSentAt === null) return ok("");
    if (p.peerEndedAt !== null || (p.tcpClosed && !p.destroyedByUs)) return ok("");
    return failed(
      `server did not close the TCP connection within ${this.profile.closeTimeoutMs} ms after the closing handshake (RFC 6455 §5.5.1, §7.1.1)`,
    );
  }

  /** Wait for the closing handshake to finish and TCP to close, bounded. */
  async finishClose() {
    const p = this.peer;
    const limit = this.profile.closeTimeoutMs;
    await p.waitFor(
      () => p.tcpClosed || p.peerEndedAt !== null || (p.closeReceived !== null && p.closeSentAt !== null),
      limit,
    );
    if (p.role === "client") await p.waitFor(() => p.tcpClosed || p.peerEndedAt !== null, limit);
    else await p.waitFor(() => p.tcpClosed, limit);
  }

  /** Short description of the peer's events, for INFORMATIONAL reasons. */
  summary() {
    return this.peer.events.map((e) => describe(e)).join(", ") || "nothing";
  }
}

/**
 * Note when the TCP stream ended inside a frame (data the peer queued was lost).
 * @param {import('./peer.mjs').Peer} p
 */
function cutOff(p) {
  const pending = p.parser.buffered;
  return pending > 0
    ? `; the stream ended inside a frame (${pending} bytes of it arrived, ${p.bytesReceived} bytes in all)`
    : "";
}

/** @param {import('./judge.mjs').Verdict[]} parts */
function finalize(parts) {
  const v = combine(parts);
  return v.verdict === "OK" ? ok(v.reason || "as expected") : v;
}
