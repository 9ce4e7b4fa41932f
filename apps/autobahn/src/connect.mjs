// Opening a client connection to the target (server mode).

import { acceptedDeflate, PerMessageDeflate } from "./deflate.mjs";
import { buildClientRequest, checkServerResponse, connectTcp, readHead } from "./handshake.mjs";
import { openStream, streamAsSocket } from "./http2.mjs";
import { Peer } from "./peer.mjs";

/**
 * Open a WebSocket connection to the target and complete the handshake (RFC 6455 §4.1), or
 * with `http2` an Extended CONNECT stream (RFC 8441, see http2.mjs).
 * @param {number} port
 * @param {{ path?: string, offer?: string, timeoutMs?: number, http2?: import('./http2.mjs').Http2Transport | null }} [options]
 * @returns {Promise<{ peer: Peer, deflateParams: import('./deflate.mjs').DeflateParams | null } | { error: string }>}
 */
export async function openPeer(port, options = {}) {
  if (options.http2 != null) return openStreamPeer(port, { ...options, transport: options.http2 });
  let socket;
  try {
    socket = await connectTcp(port, options.timeoutMs ?? 5000);
  } catch (err) {
    return { error: `cannot connect: ${err instanceof Error ? err.message : String(err)}` };
  }
  /** @type {Record<string, string>} */
  const headers = {};
  if (options.offer !== undefined) headers["Sec-WebSocket-Extensions"] = options.offer;
  const request = buildClientRequest({ port, path: options.path ?? "/", headers });
  socket.write(request.bytes);
  const res = await readHead(socket, { timeoutMs: options.timeoutMs ?? 5000 });
  if (res.head === null) {
    socket.destroy();
    return {
      error: res.timedOut
        ? "no handshake response in time"
        : res.closed
          ? "connection closed during the handshake"
          : "response head too large",
    };
  }
  const problem = checkServerResponse(res.head, request.key);
  if (problem !== null) {
    socket.destroy();
    return { error: problem };
  }
  const ext = res.head.headers.get("sec-websocket-extensions");
  let deflateParams = null;
  if (ext !== undefined) {
    const accepted = acceptedDeflate(ext, options.offer ?? "");
    if (typeof accepted === "string") {
      socket.destroy();
      return { error: accepted };
    }
    deflateParams = accepted;
  }
  const peer = new Peer(socket, {
    role: "client",
    leftover: res.rest,
    deflate: deflateParams === null ? null : new PerMessageDeflate(deflateParams, "client"),
  });
  return { peer, deflateParams };
}

/**
 * {@link openPeer} over HTTP/2: the stream plays the socket (RFC 8441 §5).
 * @param {number} port
 * @param {{ path?: string, offer?: string, timeoutMs?: number, transport: import('./http2.mjs').Http2Transport }} options
 * @returns {Promise<{ peer: Peer, deflateParams: import('./deflate.mjs').DeflateParams | null } | { error: string }>}
 */
async function openStreamPeer(port, options) {
  const opened = await openStream(port, options);
  if ("error" in opened) return opened;
  let deflateParams = null;
  if (opened.extensions !== undefined) {
    const accepted = acceptedDeflate(opened.extensions, options.offer ?? "");
    if (typeof accepted === "string") {
      opened.stream.destroy();
      return { error: accepted };
    }
    deflateParams = accepted;
  }
  const peer = new Peer(streamAsSocket(opened.stream), {
    role: "client",
    deflate: deflateParams === null ? null : new PerMessageDeflate(deflateParams, "client"),
  });
  return { peer, deflateParams };
}
