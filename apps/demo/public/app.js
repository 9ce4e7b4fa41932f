// The chat page: one WebSocket to /chat with the `chat` subprotocol, reconnected with
// exponential backoff (and jitter) whenever it drops; the room is joined again on reconnect.
// Plain browser JavaScript, no framework, no bundler. Every text from the network goes into
// the page through textContent only.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  conn: $("conn"),
  connText: $("conn-text"),
  reconnectNow: /** @type {HTMLButtonElement} */ ($("reconnect-now")),
  joinForm: /** @type {HTMLFormElement} */ ($("join-form")),
  join: /** @type {HTMLButtonElement} */ ($("join")),
  nick: /** @type {HTMLInputElement} */ ($("nick")),
  room: /** @type {HTMLInputElement} */ ($("room")),
  members: $("members"),
  memberCount: $("member-count"),
  rooms: $("rooms"),
  roomTitle: $("room-title"),
  roomCount: $("room-count"),
  totalCount: $("total-count"),
  onlineCount: $("online-count"),
  log: $("log"),
  sendForm: /** @type {HTMLFormElement} */ ($("send-form")),
  text: /** @type {HTMLInputElement} */ ($("text")),
  chars: $("chars"),
  send: /** @type {HTMLButtonElement} */ ($("send")),
};

const ENDPOINT = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/chat`;
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 10_000;

const state = {
  /** @type {WebSocket | undefined} */
  ws: undefined,
  attempts: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  retryTimer: undefined,
  /** @type {ReturnType<typeof setInterval> | undefined} */
  countdown: undefined,
  /** What the user asked to join; joined again after every reconnect. */
  /** @type {{ room: string, nick: string } | undefined} */
  wanted: undefined,
  /** The room the server says we are in. */
  /** @type {string | undefined} */
  room: undefined,
  nick: "",
  /** Message ids already shown (history after a reconnect repeats them). */
  seen: new Set(),
  /** @type {any} */
  stats: { total: 0, online: 0, rooms: [] },
  everConnected: false,
};

// ---- connection ---------------------------------------------------------------------------------

function connect() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdown);
  state.retryTimer = state.countdown = undefined;
  setConnection(
    "connecting",
    state.attempts === 0 ? "Connecting…" : `Reconnecting… (attempt ${state.attempts + 1})`,
  );
  const ws = new WebSocket(ENDPOINT, "chat");
  state.ws = ws;
  ws.onopen = () => {
    state.attempts = 0;
    setConnection("open", "Connected");
    if (state.everConnected) notice("Reconnected.", "good");
    state.everConnected = true;
    if (state.wanted) sendJson({ type: "join", ...state.wanted });
    updateComposer();
  };
  ws.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    receive(message);
  };
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    state.ws = undefined;
    state.room = undefined;
    updateComposer();
    const why =
      event.code === 1006
        ? "connection lost"
        : `closed ${event.code}${event.reason ? `: ${event.reason}` : ""}`;
    if (state.everConnected && state.attempts === 0) notice(`Disconnected (${why}). Reconnecting…`, "bad");
    scheduleReconnect(why);
  };
}

function scheduleReconnect(why) {
  // 0.5 s, 1 s, 2 s … up to 10 s, each with jitter (50–100 %), so that a restarted server is
  // not hit by every page at the same instant.
  const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** state.attempts);
  const delay = Math.round(base / 2 + (Math.random() * base) / 2);
  state.attempts += 1;
  const due = Date.now() + delay;
  const show = () => {
    const seconds = Math.max(0, Math.ceil((due - Date.now()) / 1000));
    setConnection("waiting", `Offline (${why}) · retrying in ${seconds} s`);
  };
  show();
  state.countdown = setInterval(show, 250);
  state.retryTimer = setTimeout(connect, delay);
  ui.reconnectNow.hidden = false;
}

/** @param {"connecting" | "open" | "waiting"} kind @param {string} text */
function setConnection(kind, text) {
  ui.conn.dataset.state = kind;
  document.body.dataset.conn = kind;
  ui.connText.textContent = text;
  if (kind !== "waiting") ui.reconnectNow.hidden = true;
}

function sendJson(message) {
  if (state.ws?.readyState !== WebSocket.OPEN) return false;
  state.ws.send(JSON.stringify(message));
  return true;
}

ui.reconnectNow.addEventListener("click", () => {
  state.attempts = 0;
  connect();
});
// Back online or back to the tab: do not wait for the backoff.
window.addEventListener("online", () => {
  if (state.retryTimer !== undefined) connect();
});

// ---- messages from the server ---------------------------------------------------------------------

function receive(message) {
  switch (message.type) {
    case "welcome": {
      state.room = message.room;
      state.nick = message.nick;
      state.wanted = { room: message.room, nick: message.nick };
      ui.room.value = message.room;
      ui.nick.value = message.nick;
      ui.roomTitle.textContent = `#${message.room}`;
      document.title = `#${message.room} · Chat`;
      if (location.hash !== `#${message.room}`) history.replaceState(null, "", `#${message.room}`);
      localStorage.setItem("chat.nick", message.nick);
      for (const chat of message.history) addMessage(chat);
      renderMembers(message.members);
      renderStats();
      updateComposer();
      break;
    }
    case "message":
      if (message.room === state.room) addMessage(message);
      break;
    case "presence":
      if (message.room !== state.room) break;
      notice(
        `${message.nick} ${message.event === "join" ? "joined" : "left"} #${message.room}`,
        message.event,
      );
      renderMembers(message.members);
      break;
    case "stats":
      state.stats = message;
      renderStats();
      break;
    case "error":
      notice(`⚠ ${message.message}`, "bad");
      // A refused join is not tried again on reconnect: stay where we are (if anywhere).
      if (["bad-nick", "bad-room", "too-many-rooms"].includes(message.code)) {
        state.wanted = state.room === undefined ? undefined : { room: state.room, nick: state.nick };
        updateComposer();
      }
      break;
  }
}

// ---- rendering ----------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function nickColor(nick) {
  let hash = 0;
  for (const char of nick) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360} 60% 42%)`;
}

function appendToLog(node) {
  const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
  ui.log.append(node);
  while (ui.log.childElementCount > 500) ui.log.firstElementChild?.remove();
  if (atBottom) ui.log.scrollTop = ui.log.scrollHeight;
}

function addMessage(chat) {
  if (state.seen.has(chat.id)) return;
  state.seen.add(chat.id);
  const item = el("li", chat.nick === state.nick ? "msg mine" : "msg");
  const meta = el("div", "meta");
  const who = el("span", "nick", chat.nick);
  who.style.color = nickColor(chat.nick);
  const time = el(
    "time",
    "time",
    new Date(chat.ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
  );
  time.dateTime = new Date(chat.ts).toISOString();
  meta.append(who, time);
  item.append(meta, el("div", "text", chat.text));
  appendToLog(item);
}

function notice(text, kind = "") {
  appendToLog(el("li", `notice ${kind}`.trim(), text));
}

function renderMembers(members) {
  ui.members.replaceChildren(
    ...(members.length === 0
      ? [el("li", "empty", "Nobody yet")]
      : members.map((nick) => {
          const item = el("li", nick === state.nick ? "me" : "");
          const dot = el("span", "avatar", nick.slice(0, 1).toUpperCase());
          dot.style.background = nickColor(nick);
          item.append(dot, el("span", "name", nick === state.nick ? `${nick} (you)` : nick));
          return item;
        })),
  );
  ui.memberCount.textContent = String(members.length);
}

function renderStats() {
  const { total, online, rooms } = state.stats;
  ui.totalCount.textContent = String(total);
  ui.onlineCount.textContent = String(online);
  const current = rooms.find((r) => r.room === state.room);
  ui.roomCount.textContent = String(current?.messages ?? 0);
  ui.rooms.replaceChildren(
    ...(rooms.length === 0
      ? [el("li", "empty", "No rooms yet")]
      : rooms.map((r) => {
          const item = el("li", r.room === state.room ? "current" : "");
          const button = el("button", "room-link", `#${r.room}`);
          button.type = "button";
          button.title = `Join #${r.room}`;
          button.addEventListener("click", () => {
            ui.room.value = r.room;
            ui.joinForm.requestSubmit();
          });
          const info = el("span", "room-info", `${r.members} here · ${r.messages} msg`);
          item.append(button, info);
          return item;
        })),
  );
}

function updateComposer() {
  const ready = state.ws?.readyState === WebSocket.OPEN && state.room !== undefined;
  ui.text.disabled = ui.send.disabled = !ready;
  ui.join.textContent = state.room === undefined ? "Join" : "Switch room / nick";
  ui.text.placeholder = ready
    ? `Message #${state.room}`
    : state.wanted
      ? "Waiting for the connection…"
      : "Join a room to chat";
}

// ---- forms --------------------------------------------------------------------------------------

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const nick = ui.nick.value.trim();
  const room = ui.room.value.trim().toLowerCase();
  if (!nick || !room) return;
  state.wanted = { room, nick };
  if (room !== state.room) {
    // A new room: a fresh log.
    ui.log.replaceChildren();
    state.seen.clear();
    renderMembers([]);
  }
  if (!sendJson({ type: "join", room, nick }))
    notice("Not connected: you will join as soon as the connection is back.");
  updateComposer();
});

ui.sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.text.value;
  if (text.trim() === "" || state.room === undefined) return;
  if (sendJson({ type: "message", room: state.room, text })) {
    ui.text.value = "";
    ui.chars.textContent = `0/${ui.text.maxLength}`;
  }
  ui.text.focus();
});

ui.text.addEventListener("input", () => {
  ui.chars.textContent = `${ui.text.value.length}/${ui.text.maxLength}`;
});

// ---- start --------------------------------------------------------------------------------------

const fromHash = decodeURIComponent(location.hash.slice(1)).trim().toLowerCase();
if (fromHash) ui.room.value = fromHash;
const remembered = localStorage.getItem("chat.nick");
if (remembered) {
  ui.nick.value = remembered;
  state.wanted = { room: ui.room.value, nick: remembered };
}
window.addEventListener("hashchange", () => {
  const room = decodeURIComponent(location.hash.slice(1)).trim().toLowerCase();
  if (room && room !== state.room && ui.nick.value.trim()) {
    ui.room.value = room;
    ui.joinForm.requestSubmit();
  }
});
renderStats();
connect();

// For tests and the curious (devtools): the live socket and the page state.
Object.defineProperty(window, "chatDemo", {
  value: Object.freeze({
    get socket() {
      return state.ws;
    },
    state,
  }),
});
