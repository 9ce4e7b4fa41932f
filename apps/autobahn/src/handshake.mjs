// Opening handshake over raw TCP (RFC 6455 §4), written by hand so that cases can send
// malformed requests and inspect every byte of the answer.

import { createHash, randomBytes } from "node:crypto";
import net from "node:net";

/** RFC 6455 §1.3 / §4.2.2: the GUID appended to the key. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** @param {string} key */
export function computeAccept(key) {
  return createHash("sha1")
    .update(key + WEBSOCKET_GUID)
    .digest("base64");
}

/** RFC 6455 §4.1: a base64-encoded random 16-byte nonce. */
export function makeKey() {
  return randomBytes(16).toString("base64");
}

/**
 * @typedef {object} HttpHead
 * @property {string} startLine
 * @property {string} method      request only
 * @property {string} target      request only
 * @property {string} version
 * @property {number} status      response only
 * @property {Map<string, string>} headers lower-case names; repeated fields joined by ", "
 */

/**
 * Parse an HTTP/1.1 message head (RFC 9112 §2-§5) without the terminating empty line.
 * @param {string} text
 * @returns {HttpHead}
 */
export function parseHead(text) {
  const lines = text.split("\r\n");
  const startLine = lines[0] ?? "";
  /** @type {Map<string, string>} */
  const headers = new Map();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  const parts = startLine.split(" ");
  const isResponse = startLine.startsWith("HTTP/");
  return {
    startLine,
    method: isResponse ? "" : (parts[0] ?? ""),
    target: isResponse ? "" : (parts[1] ?? ""),
    version: isResponse ? (parts[0] ?? "") : (parts[2] ?? ""),
    status: isResponse ? Number(parts[1]) : 0,
    headers,
  };
}

/**
 * Does a comma-separated header value contain `token` (case-insensitive, RFC 6455 §4.2.1)?
 * @param {string | undefined} value
 * @param {string} token
 */
export function hasToken(value, token) {
  if (value === undefined) return false;
  return value
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .includes(token.toLowerCase());
}

/**
 * Read bytes until the end of an HTTP head ("\r\n\r\n"), the peer closing, a size limit or
 * a timeout. Bytes after the head are returned as `rest`; the socket is left paused.
 * @param {net.Socket} socket
 * @param {{ maxBytes?: number, timeoutMs?: number }} [options]
 * @returns {Promise<{ head: HttpHead | null, rest: Buffer, closed: boolean, timedOut: boolean, tooLarge: boolean, raw: Buffer }>}
 */
export function readHead(socket, options = {}) {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    let done = false;
    /** @param {{ head: HttpHead | null, rest: Buffer, closed: boolean, timedOut: boolean, tooLarge: boolean }} r */
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      socket.pause();
      resolve({ ...r, raw: Buffer.concat(chunks) });
    };
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = parseHead(all.subarray(0, end).toString("latin1"));
        const rest = all.subarray(end + 4);
        finish({ head, rest, closed: false, timedOut: false, tooLarge: false });
      } else if (size > maxBytes) {
        finish({ head: null, rest: Buffer.alloc(0), closed: false, timedOut: false, tooLarge: true });
      }
    };
    const onClose = () =>
      finish({ head: null, rest: Buffer.alloc(0), closed: true, timedOut: false, tooLarge: false });
    const onError = () => {}; // "close" follows
    const timer = setTimeout(
      () => finish({ head: null, rest: Buffer.alloc(0), closed: false, timedOut: true, tooLarge: false }),
      timeoutMs,
    );
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", onError);
    socket.resume();
  });
}

/**
 * Connect to 127.0.0.1:port with a timeout.
 * @param {number} port
 * @param {number} [timeoutMs]
 * @returns {Promise<net.Socket>}
 */
export function connectTcp(port, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to 127.0.0.1:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
    /** @param {Error} err */
    const onError = (err) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once("error", onError);
  });
}

/**
 * Build a client opening handshake (RFC 6455 §4.1).
 * @param {{ port: number, path?: string, key?: string, headers?: Record<string, string> }} options
 */
export function buildClientRequest(options) {
  const key = options.key ?? makeKey();
  const lines = [
    `GET ${options.path ?? "/"} HTTP/1.1`,
    `Host: 127.0.0.1:${options.port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
  return { key, bytes: Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1") };
}

/**
 * Check a server's opening handshake response (RFC 6455 §4.1, client requirements 1-6).
 * @param {HttpHead} head
 * @param {string} key
 * @returns {string | null} the problem, or null when it is a valid 101 response
 */
export function checkServerResponse(head, key) {
  if (head.status !== 101) return `expected status 101, got "${head.startLine}"`;
  if ((head.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return `101 response without "Upgrade: websocket" (RFC 6455 §4.1 point 2), got ${JSON.stringify(head.headers.get("upgrade") ?? null)}`;
  }
  if (!hasToken(head.headers.get("connection"), "upgrade")) {
    return `101 response without "Connection: Upgrade" (RFC 6455 §4.1 point 3)`;
  }
  const accept = head.headers.get("sec-websocket-accept");
  if (accept !== computeAccept(key)) {
    return `wrong Sec-WebSocket-Accept ${JSON.stringify(accept ?? null)}, expected ${computeAccept(key)} (RFC 6455 §4.2.2)`;
  }
  return null;
}
