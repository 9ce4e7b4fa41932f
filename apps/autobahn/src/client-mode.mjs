// Client mode: the runner is a fuzzing *server* speaking the Autobahn client-runner protocol;
// the target is an echo client started from apps/autobahn/targets.json with {url} and {agent}.
//   GET /getCaseCount              -> one text message with the number of cases, then close
//   GET /runCase?case=N&agent=A    -> case N (1-based); the client echoes until we close
//   GET /updateReports?agent=A     -> closed at once

import net from "node:net";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { selectCases } from "./cases/index.mjs";
import { CaseContext } from "./context.mjs";
import { OPCODE } from "./frame.mjs";
import { computeAccept, hasToken, readHead } from "./handshake.mjs";
import { checkClientConnect, createConnectServer, streamAsSocket } from "./http2.mjs";
import { combine, failed } from "./judge.mjs";
import { Peer } from "./peer.mjs";
import { fillCommand, TargetProcess } from "./process.mjs";

/**
 * Problems in a client's opening handshake (RFC 6455 §4.1, client requirements).
 * @param {import('./handshake.mjs').HttpHead} head
 * @returns {string[]}
 */
export function checkClientRequest(head) {
  /** @type {string[]} */
  const problems = [];
  if (head.method !== "GET") problems.push(`method ${head.method}, expected GET (RFC 6455 §4.1 point 2)`);
  if (head.version !== "HTTP/1.1")
    problems.push(`${head.version}, expected HTTP/1.1 (RFC 6455 §4.1 point 2)`);
  if (!head.headers.has("host")) problems.push("no Host header (RFC 6455 §4.1 point 4)");
  if ((head.headers.get("upgrade") ?? "").toLowerCase() !== "websocket")
    problems.push('no "Upgrade: websocket" (RFC 6455 §4.1 point 5)');
  if (!hasToken(head.headers.get("connection"), "upgrade"))
    problems.push('no "Connection: Upgrade" (RFC 6455 §4.1 point 6)');
  const key = head.headers.get("sec-websocket-key");
  if (
    key === undefined ||
    Buffer.from(key, "base64").length !== 16 ||
    Buffer.from(key, "base64").toString("base64") !== key
  ) {
    problems.push(
      `Sec-WebSocket-Key ${JSON.stringify(key ?? null)} is not a base64 16-byte nonce (RFC 6455 §4.1 point 7)`,
    );
  }
  if (head.headers.get("sec-websocket-version") !== "13")
    problems.push("Sec-WebSocket-Version is not 13 (RFC 6455 §4.1 point 9)");
  return problems;
}

/**
 * @typedef {object} ClientRunOptions
 * @property {string} command target command with {url} and {agent}
 * @property {string} agent
 * @property {string} [cases]
 * @property {import('./context.mjs').Profile} profile
 * @property {(r: import('./server-mode.mjs').CaseResult) => void} [onResult]
 * @property {number} [idleTimeoutMs] stop when the client opens no connection for this long
 * @property {boolean} [http2] serve h2c and take each WebSocket as an Extended CONNECT stream (RFC 8441)
 */

/**
 * Serve the cases to one client process and judge them.
 * @param {ClientRunOptions} options
 * @returns {Promise<{ command: string, results: import('./server-mode.mjs').CaseResult[], targetOutput: string }>}
 */
export async function runClientMode(options) {
  const selected = selectCases({
    mode: "client",
    deflate: false,
    ...(options.cases === undefined ? {} : { cases: options.cases }),
  });
  /** @type {Map<number, import('./server-mode.mjs').CaseResult>} */
  const results = new Map();
  const sockets = new Set();
  let lastActivity = performance.now();
  let active = 0;
  let reportsUpdated = false;

  /**
   * Runs what the request asks for on an open connection (the 101 or 200 already sent).
   * @param {Peer} peer @param {URL} url @param {string[]} problems in the client's handshake
   */
  const serve = async (peer, url, problems) => {
    const ctx = new CaseContext(peer, options.profile);
    if (url.pathname === "/getCaseCount") {
      await peer.sendFrame({ opcode: OPCODE.TEXT, payload: Buffer.from(String(selected.length)) });
      await peer.sendClose(1000);
      await ctx.finishClose();
    } else if (url.pathname === "/runCase") {
      const n = Number(url.searchParams.get("case"));
      const c = selected[n - 1];
      if (c === undefined) {
        await peer.sendClose(1008, "no such case");
        await ctx.finishClose();
        return;
      }
      const started = performance.now();
      const limit = c.serial === true ? options.profile.bigCaseTimeoutMs : options.profile.caseTimeoutMs;
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      let verdict;
      try {
        verdict = await Promise.race([
          c.run(ctx),
          new Promise((resolve) => {
            timer = setTimeout(() => resolve(failed(`case did not finish within ${limit} ms`)), limit);
          }),
        ]);
      } catch (err) {
        verdict = failed(`runner error: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        clearTimeout(timer);
      }
      const v = combine([
        /** @type {import('./judge.mjs').Verdict} */ (verdict),
        ...problems.map((p) => failed(`client handshake: ${p}`)),
      ]);
      const r = {
        id: c.id,
        description: c.description,
        verdict: v.verdict,
        reason: v.reason,
        durationMs: Math.round(performance.now() - started),
      };
      if (!results.has(n)) {
        results.set(n, r);
        options.onResult?.(r);
      }
    } else if (url.pathname === "/updateReports") {
      reportsUpdated = true;
      await peer.sendClose(1000);
      await ctx.finishClose();
    } else {
      await peer.sendClose(1008, "unknown path");
      await ctx.finishClose();
    }
  };

  /** @param {net.Socket} socket */
  const handle = async (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    active++;
    lastActivity = performance.now();
    /** @type {Peer | null} */
    let peer = null;
    try {
      const res = await readHead(socket, { timeoutMs: 5000 });
      if (res.head === null) return;
      const head = res.head;
      const url = new URL(head.target, "http://127.0.0.1");
      const problems = checkClientRequest(head);
      const key = head.headers.get("sec-websocket-key");
      if (key === undefined) {
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      // RFC 6455 §4.2.2: the server's 101 response. No extension or subprotocol is accepted.
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
      );
      peer = new Peer(socket, { role: "server", leftover: res.rest });
      await serve(peer, url, problems);
    } finally {
      peer?.destroy();
      socket.destroy();
      active--;
      lastActivity = performance.now();
    }
  };

  /**
   * HTTP/2 mode: one Extended CONNECT stream (RFC 8441 §4–§5) plays the socket.
   * @param {import("node:http2").ServerHttp2Stream} stream
   * @param {import("node:http2").IncomingHttpHeaders} headers
   */
  const handleStream = async (stream, headers) => {
    sockets.add(stream);
    stream.on("close", () => sockets.delete(stream));
    active++;
    lastActivity = performance.now();
    /** @type {Peer | null} */
    let peer = null;
    try {
      const problems = checkClientConnect(headers);
      if (headers[":protocol"] !== "websocket") {
        stream.respond({ ":status": 400 });
        stream.end();
        return;
      }
      const url = new URL(String(headers[":path"] ?? "/"), "http://127.0.0.1");
      // RFC 8441 §5: 200 opens the tunnel. No extension or subprotocol is accepted.
      stream.respond({ ":status": 200 });
      peer = new Peer(streamAsSocket(stream), { role: "server" });
      await serve(peer, url, problems);
    } finally {
      peer?.destroy();
      if (!stream.destroyed) stream.destroy();
      active--;
      lastActivity = performance.now();
    }
  };

  const server =
    options.http2 === true
      ? createConnectServer((stream, headers) => void handleStream(stream, headers))
      : net.createServer((socket) => void handle(socket));
  /** @type {Set<import("node:http2").ServerHttp2Session>} */
  const connections = new Set();
  server.on("session", (/** @type {import("node:http2").ServerHttp2Session} */ session) => {
    connections.add(session);
    session.on("close", () => connections.delete(session));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(undefined));
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const command = fillCommand(options.command, { url: `ws://127.0.0.1:${port}`, agent: options.agent });
  const proc = new TargetProcess(command);
  const idleLimit = options.idleTimeoutMs ?? 15_000;
  // Bounded: the client must keep making progress (idle limit), each case has its own time
  // limit, and the whole run cannot take longer than all the case limits together.
  const deadline =
    performance.now() +
    30_000 +
    selected.reduce(
      (sum, c) =>
        sum + (c.serial === true ? options.profile.bigCaseTimeoutMs : options.profile.caseTimeoutMs),
      0,
    );
  try {
    while (performance.now() < deadline) {
      await sleep(50);
      if (proc.exitCode !== null && active === 0) break;
      if (reportsUpdated && active === 0) {
        await Promise.race([proc.exited, sleep(2000)]);
        break;
      }
      if (active === 0 && performance.now() - lastActivity > idleLimit) break;
    }
  } finally {
    await proc.stop();
    for (const s of sockets) /** @type {net.Socket} */ (s).destroy();
    for (const session of connections) session.destroy();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  }
  const why =
    proc.exitCode !== null && !reportsUpdated
      ? `client exited (code ${proc.exitCode}) without running this case`
      : "client never ran this case";
  return {
    command,
    results: selected.map(
      (c, i) =>
        results.get(i + 1) ?? {
          id: c.id,
          description: c.description,
          verdict: "FAILED",
          reason: why,
          durationMs: 0,
        },
    ),
    targetOutput: proc.output,
  };
}
