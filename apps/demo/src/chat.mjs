// The chat server: one `node:http` server serves the page (public/) and, through @ws/node's
// WebSocketServer attached to it, the WebSocket endpoint `/chat` (subprotocol `chat`).
// Each room is a pub/sub topic (`room:NAME`): a socket that joins subscribes to it, and a chat
// message is published to it, framed once for every member. With `redis`, the server uses
// @ws/redis's broker, so that chat messages reach the room's members on every server process.
// All other state is in memory, per process: rooms, who is in them, the last messages, counts.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { BrokerError, WebSocket, WebSocketServer } from "@ws/node";
import { RedisBroker } from "@ws/redis";
import { LIMITS, ProtocolViolation, parseClientMessage, SUBPROTOCOL } from "./protocol.mjs";

const PUBLIC = new URL("../public/", import.meta.url);

/** The static files of the page: URL path → file and content type. */
const FILES = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

/**
 * @typedef {object} ChatServerOptions
 * @property {number} [port] TCP port (0 picks a free one). Default 8080.
 * @property {string} [host] Address to listen on. Default 127.0.0.1.
 * @property {{ interval: number, timeout: number }} [heartbeat] Ping every `interval` ms and
 *   drop a peer that sends nothing within `timeout` ms after. Default 15 s / 10 s.
 * @property {number} [historySize] Messages kept per room and sent to those who join. Default 50.
 * @property {number} [maxRooms] Rooms kept in memory at most. Default 200.
 * @property {{ burst: number, perSecond: number }} [rateLimit] Messages per connection.
 * @property {number} [statsDelay] Milliseconds to gather changes before broadcasting stats.
 * @property {string} [redis] A Redis URL: chat messages then reach every server process
 *   using the same Redis (rooms' member lists, history and counts stay per process).
 */

/**
 * Starts the chat server and resolves once it listens.
 * @param {ChatServerOptions} [options]
 */
export async function startChatServer(options = {}) {
  const {
    port = 8080,
    host = "127.0.0.1",
    heartbeat = { interval: 15_000, timeout: 10_000 },
    historySize = 50,
    maxRooms = 200,
    rateLimit = { burst: 10, perSecond: 2 },
    statsDelay = 50,
    redis,
  } = options;

  const files = new Map();
  for (const [path, [name, type]] of Object.entries(FILES)) {
    files.set(path, { body: await readFile(new URL(name, PUBLIC)), type });
  }

  // ---- state ----------------------------------------------------------------------------------
  const boot = randomBytes(4).toString("hex");
  let sequence = 0;
  let totalMessages = 0;
  /** @type {Map<string, { name: string, sockets: Set<WebSocket>, nicks: Map<string, number>, messages: number, history: object[], active: number }>} */
  const rooms = new Map();
  /** @type {Map<WebSocket, { room?: string, nick?: string, tokens: number, refilled: number }>} */
  const peers = new Map();

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let statsTimer;
  /** @type {Promise<void> | undefined} */
  let closing;

  const http = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      return respond(response, 405, "text/plain; charset=utf-8", "Method Not Allowed\n", {
        Allow: "GET, HEAD",
      });
    }
    const file = files.get(path);
    if (file !== undefined)
      return respond(response, 200, file.type, file.body, {}, request.method === "HEAD");
    if (path === "/chat") {
      return respond(
        response,
        426,
        "text/plain; charset=utf-8",
        `This is the chat WebSocket endpoint: connect with the "${SUBPROTOCOL}" subprotocol.\n`,
        { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Version": "13" },
      );
    }
    if (path === "/stats")
      return respond(response, 200, "application/json", `${JSON.stringify(statsMessage())}\n`);
    return respond(response, 404, "text/plain; charset=utf-8", "Not Found\n");
  });

  const wss = new WebSocketServer({
    server: http,
    path: "/chat",
    protocols: [SUBPROTOCOL],
    heartbeat,
    limits: { maxMessageSize: LIMITS.frame },
    closeTimeout: 2000,
    ...(redis === undefined ? {} : { broker: new RedisBroker({ url: redis }) }),
    verify(info) {
      if (info.protocol !== SUBPROTOCOL) {
        return {
          status: 400,
          headers: { "Content-Type": "text/plain; charset=utf-8" },
          body: `This endpoint requires the WebSocket subprotocol "${SUBPROTOCOL}" (Sec-WebSocket-Protocol: ${SUBPROTOCOL}).\n`,
        };
      }
      // Browsers always send Origin: only pages served from this host may connect (a page on
      // another site must not chat in the name of a visitor). Non-browser clients send none.
      if (info.origin !== undefined && !sameHost(info.origin, info.headers.host)) {
        return { status: 403, body: "Cross-origin WebSocket connections are not allowed.\n" };
      }
      return undefined;
    },
  });
  wss.on("error", (error) => console.error("chat:", error.message));

  wss.on("connection", (ws) => {
    peers.set(ws, { tokens: rateLimit.burst, refilled: Date.now() });
    ws.onmessage = (event) => {
      try {
        handle(ws, event.data);
      } catch (error) {
        if (error instanceof ProtocolViolation) {
          send(ws, { type: "error", code: error.code, message: error.message });
          if (error.fatal) ws.close(1008, error.message);
        } else {
          console.error("chat: internal error:", error);
          ws.close(1011, "internal error");
        }
      }
    };
    ws.onerror = () => {
      // The close event follows (protocol error, oversized message, dead peer …).
    };
    ws.onclose = () => {
      leave(ws);
      peers.delete(ws);
    };
    // Everyone sees the counts, joined or not (the page shows them before joining too).
    send(ws, statsMessage());
  });

  /** @param {WebSocket} ws @param {string | Uint8Array} data */
  function handle(ws, data) {
    const peer = peers.get(ws);
    if (peer === undefined) return;
    const message = parseClientMessage(data);
    if (message.type === "join") return join(ws, peer, message.room, message.nick);
    if (message.type === "leave") return leave(ws);
    // "message"
    if (peer.room === undefined || peer.nick === undefined) {
      throw new ProtocolViolation("not-joined", "join a room before sending messages", false);
    }
    if (message.room !== undefined && message.room !== peer.room) {
      throw new ProtocolViolation(
        "not-in-room",
        `you are in room "${peer.room}", not "${message.room}"`,
        false,
      );
    }
    const now = Date.now();
    peer.tokens = Math.min(
      rateLimit.burst,
      peer.tokens + ((now - peer.refilled) / 1000) * rateLimit.perSecond,
    );
    peer.refilled = now;
    if (peer.tokens < 1) throw new ProtocolViolation("rate-limited", "slow down: too many messages", false);
    peer.tokens -= 1;
    const room = /** @type {NonNullable<ReturnType<typeof rooms.get>>} */ (rooms.get(peer.room));
    const chat = {
      type: "message",
      id: `${boot}-${++sequence}`,
      room: room.name,
      nick: peer.nick,
      text: message.text,
      ts: now,
    };
    room.messages += 1;
    room.active = now;
    totalMessages += 1;
    try {
      // To the room's topic: framed once for every member, here and on the other processes.
      wss.publish(topicOf(room.name), JSON.stringify(chat));
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      throw new ProtocolViolation(
        "unavailable",
        "the chat backplane is unreachable: message not sent",
        false,
      );
    }
    room.history.push(chat);
    if (room.history.length > historySize) room.history.shift();
    scheduleStats();
  }

  /** @param {WebSocket} ws @param {{ room?: string, nick?: string }} peer @param {string} name @param {string} nick */
  function join(ws, peer, name, nick) {
    if (peer.room === name && peer.nick === nick) return welcome(ws, rooms.get(name), nick);
    let room = rooms.get(name);
    if (room === undefined) {
      if (rooms.size >= maxRooms && !evictEmptyRoom()) {
        throw new ProtocolViolation("too-many-rooms", "too many rooms: join an existing one", false);
      }
      room = { name, sockets: new Set(), nicks: new Map(), messages: 0, history: [], active: Date.now() };
      rooms.set(name, room);
    }
    leave(ws);
    peer.room = name;
    peer.nick = nick;
    room.sockets.add(ws);
    ws.subscribe(topicOf(name));
    // A nick may be in a room more than once (two tabs, or a reconnect that arrives before the
    // server noticed the old connection died): presence counts connections per nick.
    const count = room.nicks.get(nick) ?? 0;
    room.nicks.set(nick, count + 1);
    if (count === 0) {
      broadcast(
        room.sockets,
        { type: "presence", room: name, event: "join", nick, members: members(room) },
        ws,
      );
    }
    welcome(ws, room, nick);
    scheduleStats();
  }

  function welcome(ws, room, nick) {
    send(ws, { type: "welcome", room: room.name, nick, members: members(room), history: room.history });
  }

  /** Takes `ws` out of its room, if any. @param {WebSocket} ws */
  function leave(ws) {
    const peer = peers.get(ws);
    if (peer?.room === undefined) return;
    const room = rooms.get(peer.room);
    ws.unsubscribe(topicOf(peer.room));
    const nick = /** @type {string} */ (peer.nick);
    peer.room = peer.nick = undefined;
    if (room === undefined || !room.sockets.delete(ws)) return;
    const count = (room.nicks.get(nick) ?? 1) - 1;
    if (count > 0) room.nicks.set(nick, count);
    else {
      room.nicks.delete(nick);
      broadcast(room.sockets, {
        type: "presence",
        room: room.name,
        event: "leave",
        nick,
        members: members(room),
      });
    }
    room.active = Date.now();
    if (room.sockets.size === 0 && room.messages === 0) rooms.delete(room.name);
    scheduleStats();
  }

  function evictEmptyRoom() {
    let oldest;
    for (const room of rooms.values()) {
      if (room.sockets.size === 0 && (oldest === undefined || room.active < oldest.active)) oldest = room;
    }
    if (oldest === undefined) return false;
    rooms.delete(oldest.name);
    return true;
  }

  const members = (room) => [...room.nicks.keys()].sort((a, b) => a.localeCompare(b));

  function statsMessage() {
    const list = [...rooms.values()]
      .map((room) => ({ room: room.name, members: room.nicks.size, messages: room.messages }))
      .sort((a, b) => b.members - a.members || b.messages - a.messages || a.room.localeCompare(b.room))
      .slice(0, 50);
    return { type: "stats", total: totalMessages, online: peers.size, rooms: list };
  }

  // Stats go to every connection; changes within `statsDelay` ms are sent once.
  function scheduleStats() {
    if (statsTimer !== undefined || closing !== undefined) return;
    statsTimer = setTimeout(() => {
      statsTimer = undefined;
      broadcast(peers.keys(), statsMessage());
    }, statsDelay);
  }

  await new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => {
      http.off("error", reject);
      resolve(undefined);
    });
  });
  const address = /** @type {import("node:net").AddressInfo} */ (http.address());
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    http,
    wss,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    /**
     * Graceful shutdown: stops accepting, closes every WebSocket with 1001 (Going Away),
     * waits up to `timeout` ms for the close handshakes, then drops what is left.
     */
    close(timeout = 2000) {
      closing ??= (async () => {
        clearTimeout(statsTimer);
        const stopped = new Promise((resolve) => http.close(() => resolve(undefined)));
        http.closeIdleConnections();
        for (const ws of wss.clients) ws.close(1001, "server shutting down");
        await wss.close(timeout);
        http.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

/** @param {WebSocket} ws @param {object} message */
function send(ws, message) {
  if (ws.readyState !== WebSocket.OPEN) return;
  // A reader that does not keep up is let go rather than buffered for without end.
  if (ws.bufferedAmount > 1024 * 1024) return ws.close(1008, "too slow: messages are piling up");
  ws.send(JSON.stringify(message));
}

/** @param {Iterable<WebSocket>} sockets @param {object} message @param {WebSocket} [except] */
function broadcast(sockets, message, except) {
  const text = JSON.stringify(message);
  for (const ws of sockets) {
    if (ws === except || ws.readyState !== WebSocket.OPEN) continue;
    if (ws.bufferedAmount > 1024 * 1024) ws.close(1008, "too slow: messages are piling up");
    else ws.send(text);
  }
}

/** The pub/sub topic of a room. @param {string} room */
const topicOf = (room) => `room:${room}`;

/** @param {string} origin @param {string | undefined} host */
function sameHost(origin, host) {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * @param {import("node:http").ServerResponse} response
 * @param {number} status
 * @param {string} type
 * @param {string | Buffer} body
 * @param {Record<string, string>} [headers]
 * @param {boolean} [head]
 */
function respond(response, status, type, body, headers = {}, head = false) {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(head ? undefined : body);
}
