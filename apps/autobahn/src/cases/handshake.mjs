// Family H (ours): the server's side of the opening handshake (RFC 6455 §4.2) and the
// contract of apps/echo/targets.json (subprotocols, /close path). Server mode only.

import { setTimeout as sleep } from "node:timers/promises";
import { openPeer } from "../connect.mjs";
import { CaseContext } from "../context.mjs";
import { encodeFrame, OPCODE } from "../frame.mjs";
import { checkServerResponse, connectTcp, makeKey, readHead } from "../handshake.mjs";
import { failed, informational, nonStrict, ok, textEcho } from "../judge.mjs";
import { Peer } from "../peer.mjs";
import { rawCase } from "./define.mjs";

/**
 * @param {number} port
 * @param {{ method?: string, path?: string, version?: string, key?: string | null, upgrade?: string | null, connection?: string | null, wsVersion?: string | null, extra?: string[] }} o
 *   null removes a header
 */
function request(port, o = {}) {
  const key = o.key === undefined ? makeKey() : o.key;
  const lines = [
    `${o.method ?? "GET"} ${o.path ?? "/"} ${o.version ?? "HTTP/1.1"}`,
    `Host: 127.0.0.1:${port}`,
  ];
  if (o.upgrade !== null) lines.push(`Upgrade: ${o.upgrade ?? "websocket"}`);
  if (o.connection !== null) lines.push(`Connection: ${o.connection ?? "Upgrade"}`);
  if (key !== null) lines.push(`Sec-WebSocket-Key: ${key}`);
  if (o.wsVersion !== null) lines.push(`Sec-WebSocket-Version: ${o.wsVersion ?? "13"}`);
  lines.push(...(o.extra ?? []));
  return { key, bytes: Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1") };
}

/**
 * Send a request (optionally dribbled) and read the response head.
 * @param {number} port
 * @param {Buffer} bytes
 * @param {{ chop?: number, delayMs?: number, timeoutMs?: number }} [o]
 */
async function exchange(port, bytes, o = {}) {
  const socket = await connectTcp(port);
  socket.on("error", () => {});
  const reading = readHead(socket, { timeoutMs: o.timeoutMs ?? 5000, maxBytes: 1024 * 1024 });
  const chop = o.chop ?? bytes.length;
  for (let i = 0; i < bytes.length && !socket.destroyed && socket.writable; i += chop) {
    socket.write(bytes.subarray(i, i + chop));
    if (o.delayMs !== undefined) await sleep(o.delayMs);
  }
  const res = await reading;
  return { socket, ...res };
}

/**
 * A rejected handshake: a 4xx response and no upgrade (RFC 6455 §4.2.1, §4.2.2).
 * @param {Awaited<ReturnType<typeof exchange>>} res
 * @param {string} what
 * @param {number[]} [preferred]
 */
function expectRejected(res, what, preferred = []) {
  res.socket.destroy();
  if (res.head === null) {
    if (res.closed)
      return nonStrict(
        `${what}: connection closed without an HTTP response (RFC 6455 §4.2.1 asks for an error status such as 400)`,
      );
    return failed(`${what}: no response within the time limit`);
  }
  const s = res.head.status;
  if (s === 101)
    return failed(`${what}: the server accepted the handshake (101); RFC 6455 §4.2.1 requires rejecting it`);
  if (s >= 400 && s < 500)
    return ok(`rejected with ${s}${preferred.includes(s) ? "" : ` (${preferred.join("/")} would be usual)`}`);
  return failed(`${what}: unexpected response "${res.head.startLine}"`);
}

/**
 * After a good handshake, check the connection works: echo one message and close.
 * @param {import('./define.mjs').RawEnv} env
 * @param {Awaited<ReturnType<typeof exchange>>} res
 * @param {string} key
 * @param {Buffer} [alreadySent] a frame sent together with the request
 */
async function expectUpgradeAndEcho(env, res, key, alreadySent) {
  if (res.head === null) {
    res.socket.destroy();
    return failed(res.closed ? "connection closed during the handshake" : "no handshake response in time");
  }
  const problem = checkServerResponse(res.head, key);
  if (problem !== null) {
    res.socket.destroy();
    return failed(problem);
  }
  const peer = new Peer(res.socket, { role: "client", leftover: res.rest });
  try {
    const t = new CaseContext(peer, env.profile);
    const hello = Buffer.from("Hello after handshake");
    if (alreadySent === undefined) await peer.sendFrame({ opcode: OPCODE.TEXT, payload: hello });
    return await t.judge({
      expect: [textEcho(alreadySent === undefined ? hello : Buffer.from("early frame"))],
    });
  } finally {
    peer.destroy();
  }
}

/** @returns {import('./define.mjs').CaseDef[]} */
export function handshakeCases() {
  return [
    rawCase(
      "H.1.1",
      "A valid opening handshake gets 101 with the right Sec-WebSocket-Accept (RFC 6455 §4.2.2), then echoes",
      async (env) => {
        const req = request(env.port);
        return expectUpgradeAndEcho(
          env,
          await exchange(env.port, req.bytes),
          /** @type {string} */ (req.key),
        );
      },
    ),
    rawCase("H.1.2", "The handshake dribbled one byte per write with pauses still gets 101", async (env) => {
      const req = request(env.port);
      const delayMs = env.profile.name === "quick" ? 1 : 5;
      return expectUpgradeAndEcho(
        env,
        await exchange(env.port, req.bytes, { chop: 1, delayMs, timeoutMs: 30_000 }),
        /** @type {string} */ (req.key),
      );
    }),
    rawCase(
      "H.1.3",
      "The handshake and a first masked frame in the same TCP write: the frame is not lost",
      async (env) => {
        const req = request(env.port);
        const frame = encodeFrame({ opcode: OPCODE.TEXT, payload: Buffer.from("early frame"), mask: true });
        return expectUpgradeAndEcho(
          env,
          await exchange(env.port, Buffer.concat([req.bytes, frame])),
          /** @type {string} */ (req.key),
          frame,
        );
      },
    ),
    rawCase(
      "H.1.4",
      "Header names and tokens in other cases, extra Connection tokens (RFC 6455 §4.2.1: case-insensitive)",
      async (env) => {
        const key = makeKey();
        const text = [
          `GET / HTTP/1.1`,
          `host: 127.0.0.1:${env.port}`,
          "UPGRADE: WebSocket",
          "connection: keep-alive, upgrade",
          `sec-websocket-key: ${key}`,
          "SEC-WEBSOCKET-VERSION: 13",
          "",
          "",
        ].join("\r\n");
        return expectUpgradeAndEcho(env, await exchange(env.port, Buffer.from(text, "latin1")), key);
      },
    ),
    rawCase(
      "H.2.1",
      "Method POST is rejected with a 4xx (RFC 6455 §4.2.1: the request must be a GET)",
      async (env) => {
        return expectRejected(
          await exchange(env.port, request(env.port, { method: "POST", extra: ["Content-Length: 0"] }).bytes),
          "POST request",
          [400, 405],
        );
      },
    ),
    rawCase("H.2.2", "A missing Upgrade header is rejected with a 4xx", async (env) => {
      return expectRejected(
        await exchange(env.port, request(env.port, { upgrade: null }).bytes),
        "request without Upgrade",
        [400, 426],
      );
    }),
    rawCase("H.2.3", "A missing Connection header is rejected with a 4xx", async (env) => {
      return expectRejected(
        await exchange(env.port, request(env.port, { connection: null }).bytes),
        "request without Connection",
        [400, 426],
      );
    }),
    rawCase("H.2.4", "Upgrade to something else than websocket is rejected with a 4xx", async (env) => {
      return expectRejected(
        await exchange(env.port, request(env.port, { upgrade: "h2c" }).bytes),
        "Upgrade: h2c",
        [400, 426],
      );
    }),
    rawCase(
      "H.3.1",
      "A missing Sec-WebSocket-Key is rejected with 400 (RFC 6455 §4.2.1 point 5)",
      async (env) => {
        return expectRejected(
          await exchange(env.port, request(env.port, { key: null }).bytes),
          "request without a key",
          [400],
        );
      },
    ),
    rawCase("H.3.2", "A Sec-WebSocket-Key decoding to 15 bytes is rejected with 400", async (env) => {
      return expectRejected(
        await exchange(env.port, request(env.port, { key: Buffer.alloc(15, 1).toString("base64") }).bytes),
        "15-byte key",
        [400],
      );
    }),
    rawCase("H.3.3", "A Sec-WebSocket-Key decoding to 17 bytes is rejected with 400", async (env) => {
      return expectRejected(
        await exchange(env.port, request(env.port, { key: Buffer.alloc(17, 1).toString("base64") }).bytes),
        "17-byte key",
        [400],
      );
    }),
    rawCase("H.3.4", "A Sec-WebSocket-Key that is not base64 is rejected with 400", async (env) => {
      return expectRejected(
        await exchange(env.port, request(env.port, { key: "!!!!not-base64-at-all!!" }).bytes),
        "non-base64 key",
        [400],
      );
    }),
    rawCase(
      "H.4.1",
      "Sec-WebSocket-Version: 8 gets 426 with Sec-WebSocket-Version: 13 (RFC 6455 §4.4)",
      async (env) => {
        const req = request(env.port, { wsVersion: "8" });
        return expectVersionRejected(await exchange(env.port, req.bytes), "8");
      },
    ),
    rawCase(
      "H.4.2",
      "Sec-WebSocket-Version: 14 gets 426 with Sec-WebSocket-Version: 13 (RFC 6455 §4.4)",
      async (env) => {
        return expectVersionRejected(
          await exchange(env.port, request(env.port, { wsVersion: "14" }).bytes),
          "14",
        );
      },
    ),
    rawCase(
      "H.4.3",
      "A missing Sec-WebSocket-Version is rejected with a 4xx (RFC 6455 §4.2.1 point 6)",
      async (env) => {
        return expectRejected(
          await exchange(env.port, request(env.port, { wsVersion: null }).bytes),
          "request without a version",
          [400, 426],
        );
      },
    ),
    rawCase(
      "H.5.1",
      "An oversized request head (256 KiB of header fields) is refused (431 or close), not accepted",
      async (env) => {
        const extra = Array.from({ length: 256 }, (_, i) => `X-Filler-${i}: ${"a".repeat(1000)}`);
        const res = await exchange(env.port, request(env.port, { extra }).bytes, { chop: 16 * 1024 });
        return expectHeadRefused(res, "256 KiB head");
      },
    ),
    rawCase(
      "H.5.2",
      "A 64 KiB request target is refused (414/431/400 or close), not accepted",
      async (env) => {
        const res = await exchange(env.port, request(env.port, { path: `/${"a".repeat(64 * 1024)}` }).bytes, {
          chop: 16 * 1024,
        });
        return expectHeadRefused(res, "64 KiB request target");
      },
    ),
    rawCase(
      "H.6.1",
      'Offer subprotocols "superchat, chat": the server picks superchat (the first it supports; targets.json contract)',
      async (env) => {
        return expectProtocol(env.port, "superchat, chat", "superchat");
      },
    ),
    rawCase("H.6.2", 'Offer subprotocol "chat": the server picks chat', async (env) => {
      return expectProtocol(env.port, "chat", "chat");
    }),
    rawCase(
      "H.6.3",
      "Offer only an unknown subprotocol: no Sec-WebSocket-Protocol in the response (RFC 6455 §4.2.2)",
      async (env) => {
        return expectProtocol(env.port, "x-unknown-protocol", null);
      },
    ),
    rawCase(
      "H.6.4",
      "Offer no subprotocol: the response must not name one (RFC 6455 §4.1 point 6)",
      async (env) => {
        return expectProtocol(env.port, null, null);
      },
    ),
    rawCase(
      "H.7.1",
      "Offer an unknown extension: the response must not accept it (RFC 6455 §9.1)",
      async (env) => {
        const req = request(env.port, { extra: ["Sec-WebSocket-Extensions: x-unknown-extension; foo=1"] });
        const res = await exchange(env.port, req.bytes);
        res.socket.destroy();
        if (res.head === null) return failed("no handshake response");
        const problem = checkServerResponse(res.head, /** @type {string} */ (req.key));
        if (problem !== null) return failed(problem);
        const ext = res.head.headers.get("sec-websocket-extensions");
        if (ext?.includes("x-unknown-extension"))
          return failed(`server accepted an extension it cannot know: ${ext}`);
        return ok("unknown extension ignored");
      },
    ),
    // The targets.json contract: /close?code=C&reason=R closes at once (server-initiated close).
    ...[
      [1000, ""],
      [4000, "bye"],
      [3000, "κόσμε"],
    ].map(([code, reason], i) =>
      rawCase(
        `H.8.${i + 1}`,
        `Connect to /close?code=${code}&reason=${reason}: the server closes with that code and reason, then closes TCP`,
        async (env) => {
          const opened = await openPeer(env.port, {
            path: `/close?code=${code}&reason=${encodeURIComponent(String(reason))}`,
          });
          if ("error" in opened) return failed(`opening handshake failed: ${opened.error}`);
          const peer = opened.peer;
          try {
            const t = new CaseContext(peer, env.profile);
            await peer.waitFor(
              () => peer.closeReceived !== null || peer.tcpClosed,
              env.profile.echoTimeoutMs,
            );
            const got = peer.closeReceived;
            if (got === null) return failed("the server did not send a Close frame");
            await t.finishClose();
            if (peer.violations.length > 0) return failed(peer.violations.join("; "));
            if (got.code !== code || got.reason.toString() !== reason) {
              return failed(
                `closed with ${got.code} "${got.reason.toString()}", expected ${code} "${reason}"`,
              );
            }
            const tcp = t.tcpCloseVerdict();
            return tcp.verdict === "OK" ? ok("server-initiated close as requested") : tcp;
          } finally {
            peer.destroy();
          }
        },
      ),
    ),
  ];
}

/**
 * @param {Awaited<ReturnType<typeof exchange>>} res
 * @param {string} version
 */
function expectVersionRejected(res, version) {
  res.socket.destroy();
  if (res.head === null)
    return failed(res.closed ? "connection closed without a response" : "no response in time");
  const s = res.head.status;
  const advertised = res.head.headers.get("sec-websocket-version");
  const lists13 = advertised?.split(",").some((v) => v.trim() === "13");
  if (s === 101) {
    if (version === "8") {
      return nonStrict(
        "accepted draft version 8 (hybi-10); RFC 6455 §4.4 allows multi-version servers, our contract expects 426",
      );
    }
    return failed(`accepted unknown version ${version}`);
  }
  if (s >= 400 && s < 500 && !lists13) {
    return failed(
      `rejected with ${s} but without "Sec-WebSocket-Version: 13" (RFC 6455 §4.4 requires the header)`,
    );
  }
  if (s === 426) return ok(`426 with Sec-WebSocket-Version: ${advertised}`);
  if (s >= 400 && s < 500)
    return nonStrict(
      `rejected with ${s} and Sec-WebSocket-Version: ${advertised}; RFC 6455 §4.4 suggests 426 Upgrade Required`,
    );
  return failed(`unexpected response "${res.head.startLine}"`);
}

/**
 * @param {Awaited<ReturnType<typeof exchange>>} res
 * @param {string} what
 */
function expectHeadRefused(res, what) {
  res.socket.destroy();
  if (res.head === null) {
    if (res.closed) return ok(`${what}: connection closed`);
    return failed(`${what}: neither refused nor answered in time (no head-size limit?)`);
  }
  const s = res.head.status;
  if (s === 431 || s === 414) return ok(`${what}: ${s}`);
  if (s >= 400 && s < 500) return ok(`${what}: refused with ${s} (431 is the precise status, RFC 6585 §5)`);
  if (s === 101) return failed(`${what}: accepted; the server has no limit on the handshake head`);
  return failed(`${what}: unexpected response "${res.head.startLine}"`);
}

/**
 * @param {number} port
 * @param {string | null} offer
 * @param {string | null} expected
 */
async function expectProtocol(port, offer, expected) {
  const req = request(port, offer === null ? {} : { extra: [`Sec-WebSocket-Protocol: ${offer}`] });
  const res = await exchange(port, req.bytes);
  res.socket.destroy();
  if (res.head === null) return failed("no handshake response");
  if (res.head.status !== 101 && expected === null && offer !== null) {
    return informational(
      `rejected the handshake (${res.head.status}) instead of continuing without a subprotocol; RFC 6455 §4.2.2 allows either`,
    );
  }
  const problem = checkServerResponse(res.head, /** @type {string} */ (req.key));
  if (problem !== null) return failed(problem);
  const got = res.head.headers.get("sec-websocket-protocol") ?? null;
  if (got !== expected)
    return failed(`Sec-WebSocket-Protocol: ${got ?? "(absent)"}, expected ${expected ?? "(absent)"}`);
  return ok(expected === null ? "no subprotocol selected" : `selected ${expected}`);
}
