// The chat protocol: JSON text messages over the `chat` subprotocol, and their validation.
//
// Client → server
//   { "type": "join", "room": "lobby", "nick": "ada" }   join a room (leaves the previous one)
//   { "type": "message", "room": "lobby", "text": "hi" } say something in the room joined
//   { "type": "leave" }                                   leave the room
//
// Server → client
//   { "type": "welcome", "room", "nick", "members": [nick…], "history": [message…] }
//   { "type": "message", "id", "room", "nick", "text", "ts" }
//   { "type": "presence", "room", "event": "join" | "leave", "nick", "members": [nick…] }
//   { "type": "stats", "total", "rooms": [{ "room", "members", "messages" }…] }
//   { "type": "error", "code", "message" }
//
// A message that is not a JSON object with a known `type` (or any binary message) is garbage:
// the connection is closed with 1008 (Policy Violation). A well-formed message with a bad
// field (a long text, a bad room name, a message before joining …) is answered with an
// `error` message and the connection stays open.

/** The WebSocket subprotocol spoken (and required) by the chat endpoint. */
export const SUBPROTOCOL = "chat";

/** Limits of the schema (characters, i.e. UTF-16 code units). */
export const LIMITS = Object.freeze({
  room: 32,
  nick: 24,
  text: 500,
  /** Bytes of one WebSocket message; larger ones are refused by the session with 1009. */
  frame: 4096,
});

const ROOM = /^[a-z0-9][a-z0-9_-]*$/;
// Control characters (C0 but tab and line feed, DEL, C1) and the bidi controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is what it matches.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A rejected message: `fatal` ones close the connection with 1008. */
export class ProtocolViolation extends Error {
  /**
   * @param {string} code a stable code for the client
   * @param {string} message
   * @param {boolean} fatal
   */
  constructor(code, message, fatal) {
    super(message);
    this.code = code;
    this.fatal = fatal;
  }
}

/** @param {string} code @param {string} message */
const garbage = (code, message) => new ProtocolViolation(code, message, true);
/** @param {string} code @param {string} message */
const invalid = (code, message) => new ProtocolViolation(code, message, false);

/**
 * Normalizes a room name: trimmed, lower case, 1–32 of `a-z 0-9 _ -`, starting with a letter
 * or digit.
 * @param {unknown} value
 * @returns {string}
 */
export function parseRoom(value) {
  if (typeof value !== "string") throw invalid("bad-room", "room must be a string");
  const room = value.trim().toLowerCase();
  if (room.length === 0 || room.length > LIMITS.room || !ROOM.test(room)) {
    throw invalid(
      "bad-room",
      `room must be 1-${LIMITS.room} characters of a-z, 0-9, _ and -, starting with a letter or digit`,
    );
  }
  return room;
}

/**
 * Normalizes a nickname: trimmed, inner whitespace collapsed, 1–24 characters, no control
 * characters.
 * @param {unknown} value
 * @returns {string}
 */
export function parseNick(value) {
  if (typeof value !== "string") throw invalid("bad-nick", "nick must be a string");
  const nick = value.trim().replace(/\s+/g, " ");
  if (nick.length === 0 || nick.length > LIMITS.nick || CONTROL.test(nick)) {
    throw invalid("bad-nick", `nick must be 1-${LIMITS.nick} printable characters`);
  }
  return nick;
}

/**
 * Checks a message text: 1–500 characters, not only whitespace, no control characters but
 * tab and line feed. Trailing whitespace is trimmed.
 * @param {unknown} value
 * @returns {string}
 */
export function parseText(value) {
  if (typeof value !== "string") throw invalid("bad-text", "text must be a string");
  const text = value.trimEnd();
  if (text.trim().length === 0) throw invalid("bad-text", "text must not be empty");
  if (text.length > LIMITS.text) throw invalid("bad-text", `text must be at most ${LIMITS.text} characters`);
  if (CONTROL.test(text)) throw invalid("bad-text", "text must not contain control characters");
  return text;
}

/**
 * @typedef {{ type: "join", room: string, nick: string }
 *   | { type: "message", room: string | undefined, text: string }
 *   | { type: "leave" }} ClientMessage
 */

/**
 * Parses and validates one message from a client.
 * @param {string | Uint8Array} data
 * @returns {ClientMessage}
 * @throws {ProtocolViolation}
 */
export function parseClientMessage(data) {
  if (typeof data !== "string") throw garbage("binary", "binary messages are not part of the chat protocol");
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    throw garbage("bad-json", "message is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw garbage("bad-message", "message must be a JSON object");
  }
  switch (value.type) {
    case "join":
      return { type: "join", room: parseRoom(value.room), nick: parseNick(value.nick) };
    case "message":
      return {
        type: "message",
        room: value.room === undefined ? undefined : parseRoom(value.room),
        text: parseText(value.text),
      };
    case "leave":
      return { type: "leave" };
    default:
      throw garbage("bad-type", 'type must be "join", "message" or "leave"');
  }
}
