// Family R (ours): resource exhaustion. Huge declared lengths, messages beyond the size limit,
// floods of tiny fragments and pings, and a permessage-deflate bomb. Server mode only, run alone.
// Memory is read from /proc/<pid>/status (Linux); elsewhere the RSS parts are skipped.

import { setTimeout as sleep } from "node:timers/promises";
import { openPeer } from "../connect.mjs";
import { CaseContext } from "../context.mjs";
import { zeroBomb } from "../deflate.mjs";
import { encodeFrame, OPCODE } from "../frame.mjs";
import { combine, failed, informational, ok, unimplemented } from "../judge.mjs";
import { rawCase } from "./define.mjs";

const { TEXT, BINARY, CONTINUATION, PING } = OPCODE;
const MiB = 1024 * 1024;
const KEY = Buffer.from([0x12, 0x34, 0x56, 0x78]);

/**
 * Sample the server's RSS every 25 ms until stopped; report the growth over the start.
 * @param {import('./define.mjs').RawEnv} env
 */
function rssSampler(env) {
  const before = env.serverRss();
  let peak = before ?? 0;
  const timer = setInterval(() => {
    const now = env.serverRss();
    if (now !== null && now > peak) peak = now;
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      const now = env.serverRss();
      if (now !== null && now > peak) peak = now;
      return before === null ? null : Math.max(0, peak - before);
    },
  };
}

/** @param {number | null} growth */
const mib = (growth) => (growth === null ? "RSS n/a" : `RSS +${(growth / MiB).toFixed(1)} MiB`);

/**
 * Open a connection and run `body` with a context; always closes.
 * @param {import('./define.mjs').RawEnv} env
 * @param {(t: CaseContext) => Promise<import('../judge.mjs').Verdict>} body
 * @param {string} [offer]
 */
async function withPeer(env, body, offer) {
  const opened = await openPeer(env.port, offer === undefined ? {} : { offer });
  if ("error" in opened) return failed(`opening handshake failed: ${opened.error}`);
  try {
    if (offer !== undefined && opened.deflateParams === null)
      return unimplemented("server did not accept permessage-deflate (RFC 7692)");
    return await body(new CaseContext(opened.peer, env.profile));
  } finally {
    opened.peer.destroy();
  }
}

/**
 * A frame header that declares `length` bytes, then nothing: the server must refuse it
 * from the header alone instead of allocating or waiting (RFC 6455 §7.4.1 code 1009).
 * @param {import('./define.mjs').RawEnv} env
 * @param {bigint} length
 * @param {number[]} okCodes
 * @param {number[]} nonStrictCodes
 * @param {string} why
 */
async function declaredLength(env, length, okCodes, nonStrictCodes, why) {
  const rss = rssSampler(env);
  const v = await withPeer(env, async (t) => {
    await t.peer.sendRaw(
      encodeFrame({
        opcode: BINARY,
        payload: Buffer.alloc(0),
        declaredLength: length,
        lengthForm: 64,
        mask: true,
      }),
    );
    return t.judge({ close: { fail: okCodes, nonStrictCodes, why } });
  });
  await sleep(100);
  const growth = rss.stop();
  if (growth !== null && growth > 256 * MiB)
    return combine([
      v,
      failed(`server memory grew by ${(growth / MiB).toFixed(0)} MiB for a frame it never received`),
    ]);
  return v.verdict === "OK"
    ? ok(`refused from the header (${mib(growth)})`)
    : { ...v, reason: `${v.reason} (${mib(growth)})` };
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function resourceCases() {
  const serial = { serial: true };
  return [
    rawCase(
      "R.1.1",
      "Declare a 2^63-1 byte frame and send nothing more: expect 1009 at once, no memory growth",
      (env) => {
        return declaredLength(
          env,
          (1n << 63n) - 1n,
          [1009],
          [1002, 1008],
          "message too big, RFC 6455 §7.4.1",
        );
      },
      serial,
    ),
    rawCase(
      "R.1.2",
      "Declare a length with the most significant bit set (2^63): expect 1002 (RFC 6455 §5.2), 1009 is NON-STRICT",
      (env) => {
        return declaredLength(env, 1n << 63n, [1002], [1009], "64-bit length MSB must be 0, RFC 6455 §5.2");
      },
      serial,
    ),
    rawCase(
      "R.1.3",
      "Declare a 4 GiB frame and send nothing more: expect 1009 at once",
      (env) => {
        return declaredLength(env, 1n << 32n, [1009], [1008], "message too big, RFC 6455 §7.4.1");
      },
      serial,
    ),
    rawCase(
      "R.1.4",
      "Stream a fragmented message in 1 MiB fragments up to 256 MiB: expect 1009 once the server's limit is passed",
      async (env) => {
        const rss = rssSampler(env);
        const cap = 256;
        let sent = 0;
        const v = await withPeer(env, async (t) => {
          const p = t.peer;
          const first = encodeFrame({
            opcode: BINARY,
            payload: Buffer.alloc(MiB, 0x61),
            fin: false,
            mask: true,
            maskKey: KEY,
          });
          const next = encodeFrame({
            opcode: CONTINUATION,
            payload: Buffer.alloc(MiB, 0x61),
            fin: false,
            mask: true,
            maskKey: KEY,
          });
          for (; sent < cap && p.closeReceived === null && p.peerEndedAt === null && !p.tcpClosed; sent++) {
            await p.sendRaw(sent === 0 ? first : next);
          }
          return t.judge({
            close: {
              fail: [1009],
              nonStrictCodes: [1008],
              why: `message beyond the size limit (${sent} MiB sent), RFC 6455 §7.4.1`,
            },
          });
        });
        const growth = rss.stop();
        return v.verdict === "OK"
          ? ok(`refused after ${sent} MiB (${mib(growth)})`)
          : { ...v, reason: `${v.reason} (${mib(growth)})` };
      },
      serial,
    ),
    rawCase(
      "R.2.1",
      "Send a text message in 100 000 one-byte fragments (quick: 20 000): expect the echo, or 1008/1009 from a fragment limit",
      async (env) => {
        const count = env.profile.name === "quick" ? 20_000 : 100_000;
        return manyFragments(env, count, 1);
      },
      serial,
    ),
    rawCase(
      "R.2.2",
      "Send a text message as 100 000 empty fragments and one byte (quick: 20 000): expect the echo, or 1008/1009",
      async (env) => {
        const count = env.profile.name === "quick" ? 20_000 : 100_000;
        return manyFragments(env, count, 0);
      },
      serial,
    ),
    rawCase(
      "R.3.1",
      "Send 10 000 pings (quick: 2 000) with 125-byte payloads in one write, then a text message: the server stays responsive",
      async (env) => {
        const count = env.profile.name === "quick" ? 2_000 : 10_000;
        return withPeer(env, async (t) => {
          const p = t.peer;
          /** @type {Buffer[]} */
          const frames = [];
          for (let i = 0; i < count; i++) {
            const payload = Buffer.alloc(125, 0x70);
            payload.writeUInt32BE(i, 0);
            frames.push(encodeFrame({ opcode: PING, payload, mask: true, maskKey: KEY }));
          }
          const hello = Buffer.from("still there?");
          frames.push(encodeFrame({ opcode: TEXT, payload: hello, mask: true }));
          await p.sendRaw(Buffer.concat(frames));
          const v = await t.judge({
            // The echo comes after every pong: checking the last event keeps this O(1) per wake-up.
            waitUntil: (evs) => evs[evs.length - 1]?.type === "message",
            check: (evs) => {
              const pongs = evs.flatMap((e) => (e.type === "pong" ? [e.data.readUInt32BE(0)] : []));
              const echoed = evs.some((e) => e.type === "message" && e.data.equals(hello));
              if (!echoed)
                return failed(`no echo of the text message after the flood (${pongs.length} pongs)`);
              if (pongs.length === 0 || pongs[pongs.length - 1] !== count - 1)
                return failed("the last ping was not answered (RFC 6455 §5.5.3)");
              if (pongs.some((n, i) => i > 0 && n <= (pongs[i - 1] ?? -1)))
                return failed("pongs out of order");
              return ok(`${pongs.length} of ${count} pings answered, then the echo`);
            },
            timeoutMs: env.profile.bigCaseTimeoutMs / 2,
          });
          const pongs = p.appEvents().filter((e) => e.type === "pong").length;
          const closedFirst =
            p.closeReceived !== null && p.closeReceived.t <= (p.closeSentAt ?? Number.POSITIVE_INFINITY);
          if (v.verdict === "FAILED" && closedFirst && [1008, 1009].includes(p.closeReceived?.code ?? 0)) {
            return informational(
              `flood protection: closed with ${p.closeReceived?.code} after ${pongs} pongs`,
            );
          }
          if (
            v.verdict === "FAILED" &&
            p.closeReceived === null &&
            p.peerEndedAt !== null &&
            p.violations.length === 0
          ) {
            return informational(
              `flood protection: dropped the TCP connection without a Close frame after ${pongs} pongs`,
            );
          }
          return v;
        });
      },
      serial,
    ),
    rawCase(
      "R.3.2",
      "Flood pings without reading the pongs (32 MiB, full: 128 MiB): report whether the server stops reading or buffers",
      async (env) => {
        const capBytes = (env.profile.name === "quick" ? 32 : 128) * MiB;
        const rss = rssSampler(env);
        let written = 0;
        const drainMs = env.profile.name === "quick" ? 10_000 : 30_000;
        let stalled = false;
        let ended = false;
        const v = await withPeer(env, async (t) => {
          const p = t.peer;
          p.socket.pause(); // we do not read: the server's pongs pile up
          const batch = Buffer.concat(
            Array.from({ length: 512 }, () =>
              encodeFrame({ opcode: PING, payload: Buffer.alloc(125, 0x71), mask: true, maskKey: KEY }),
            ),
          );
          while (written < capBytes && !p.tcpClosed && p.peerEndedAt === null) {
            const wrote = await Promise.race([
              p.write(batch).then(() => true),
              sleep(2000).then(() => false),
            ]);
            if (!wrote) {
              stalled = true;
              break;
            }
            written += batch.length;
          }
          ended = p.tcpClosed || p.peerEndedAt !== null;
          p.socket.resume();
          await p.waitFor(() => p.tcpClosed, stalled ? 2000 : 500);
          const hello = Buffer.from("after the flood");
          if (!p.tcpClosed && p.closeReceived === null) await p.sendFrame({ opcode: TEXT, payload: hello });
          return t.judge({
            // The echo comes after every pong: checking the last event keeps this O(1) per wake-up.
            waitUntil: (evs) => evs[evs.length - 1]?.type === "message",
            check: (evs) =>
              evs.some((e) => e.type === "message" && e.data.equals(hello))
                ? null
                : failed(`no echo within ${(drainMs / 1000).toFixed(0)} s after the flood`),
            timeoutMs: drainMs,
          });
        });
        // Only protocol violations (or a crash, checked by the runner) fail this case: how a
        // server copes with a client that stops reading is not specified by RFC 6455.
        const violated = v.verdict === "FAILED" && v.reason.startsWith("peer sent");
        const growth = rss.stop();
        const amount = `${(written / MiB).toFixed(1)} MiB`;
        const how = stalled
          ? `server stopped reading after ${amount} (backpressure)`
          : ended
            ? `server ended the connection after ${amount} of pings`
            : `server read all ${amount} of pings while we did not read`;
        if (v.verdict === "OK") return informational(`${how} (${mib(growth)})`);
        if (violated) return { ...v, reason: `${v.reason}; ${how} (${mib(growth)})` };
        return informational(`${how}; then: ${v.reason} (${mib(growth)})`);
      },
      serial,
    ),
    rawCase(
      "R.4.1",
      "permessage-deflate bomb: a small compressed message inflating to 256 MiB of zeros (full: 1 GiB); expect 1009 and bounded memory",
      async (env) => {
        const inflated = (env.profile.name === "quick" ? 256 : 1024) * MiB;
        const rss = rssSampler(env);
        const v = await withPeer(
          env,
          async (t) => {
            const compressed = await zeroBomb(inflated);
            await t.peer.sendRaw(encodeFrame({ opcode: BINARY, payload: compressed, rsv: 4, mask: true }));
            return t.judge({
              close: {
                fail: [1009],
                nonStrictCodes: [1008],
                why: `inflated size ${inflated / MiB} MiB beyond the limit, RFC 7692 §8.1 / RFC 6455 §7.4.1`,
              },
            });
          },
          "permessage-deflate",
        );
        const growth = rss.stop();
        if (v.verdict === "UNIMPLEMENTED") return v;
        if (growth !== null && growth > inflated / 2)
          return combine([
            v,
            failed(`server memory grew by ${(growth / MiB).toFixed(0)} MiB while inflating`),
          ]);
        return v.verdict === "OK"
          ? ok(`refused (${mib(growth)})`)
          : { ...v, reason: `${v.reason} (${mib(growth)})` };
      },
      { serial: true, deflate: true },
    ),
  ];
}

/**
 * @param {import('./define.mjs').RawEnv} env
 * @param {number} count
 * @param {number} bytesEach
 */
async function manyFragments(env, count, bytesEach) {
  return withPeer(env, async (t) => {
    /** @type {Buffer[]} */
    const frames = [];
    for (let i = 0; i < count; i++) {
      frames.push(
        encodeFrame({
          opcode: i === 0 ? TEXT : CONTINUATION,
          payload: Buffer.alloc(bytesEach, 0x61),
          fin: false,
          mask: true,
          maskKey: KEY,
        }),
      );
    }
    frames.push(
      encodeFrame({ opcode: CONTINUATION, payload: Buffer.from("x"), fin: true, mask: true, maskKey: KEY }),
    );
    const whole = Buffer.concat([Buffer.alloc(count * bytesEach, 0x61), Buffer.from("x")]);
    await t.peer.sendRaw(Buffer.concat(frames));
    const p = t.peer;
    await p.waitFor(
      () => p.appEvents().length > 0 || p.closeReceived !== null || p.tcpClosed,
      env.profile.bigCaseTimeoutMs / 2,
    );
    if (p.closeReceived !== null) {
      const v = await t.judge({ close: { fail: [1008, 1009], why: "fragment limit" } });
      return v.verdict === "OK" ? ok(`refused with ${p.closeReceived.code} (fragment limit)`) : v;
    }
    const v = await t.judge({ expect: [{ type: "message", opcode: TEXT, data: whole }] });
    return v.verdict === "OK"
      ? ok(`echoed the ${whole.length}-byte message built from ${count + 1} fragments`)
      : v;
  });
}
