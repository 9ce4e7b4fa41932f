/**
 * The session's own lifecycle as data, beside the codec connection's (`TRANSITIONS` in
 * `@ws/codec/connection`): the application sees `open`, `closing` and `closed`. What the
 * session allows in a state (sending a message, starting the close handshake) is whether the
 * table has an entry for it there ({@link SESSION_ALLOWED} is derived from it); the codec's
 * table still decides which frames may go out (`connection.canSend`, `canSendClose`).
 *
 * @module
 */
import type { SessionState } from "./types.ts";

/**
 * What happens to a session: the application sends (messages, pings, pongs); the close
 * handshake starts from our side (`close()`, or a full send buffer) or the peer's close frame
 * arrives; the session fails the connection (RFC 6455 §7.1.7); the connection ends (the
 * transport ended or was destroyed: `terminate()`, an error, a timeout).
 */
export type SessionInput = "send" | "close" | "receive-close" | "fail" | "end";

/** Every {@link SessionInput}. */
export const SESSION_INPUTS: readonly SessionInput[] = ["send", "close", "receive-close", "fail", "end"];

/**
 * The session's transition table. An input without an entry is not allowed in that state:
 * sending throws the codec's `LocalProtocolError`, `close()` does nothing, and the rest cannot
 * happen there.
 */
export const SESSION_TRANSITIONS: Readonly<
  Record<SessionState, Readonly<Partial<Record<SessionInput, SessionState>>>>
> = {
  open: { send: "open", close: "closing", "receive-close": "closing", fail: "closing", end: "closed" },
  closing: { "receive-close": "closing", fail: "closing", end: "closed" },
  closed: {},
};

/** Whether each input is allowed, for one state (same shape for every state: fast checks). */
export type SessionAllowed = Readonly<Record<SessionInput, boolean>>;

/** Per state, whether each input is allowed: derived from {@link SESSION_TRANSITIONS}. */
export const SESSION_ALLOWED: Readonly<Record<SessionState, SessionAllowed>> = Object.fromEntries(
  Object.entries(SESSION_TRANSITIONS).map(([state, edges]) => [
    state,
    Object.fromEntries(SESSION_INPUTS.map((input) => [input, edges[input] !== undefined])),
  ]),
) as Record<SessionState, SessionAllowed>;

/** Renders {@link SESSION_TRANSITIONS} as a Mermaid state diagram (ARCHITECTURE.md shows it). */
export function sessionStatesAsMermaid(): string {
  const lines = ["stateDiagram-v2", "  [*] --> open"];
  for (const [from, edges] of Object.entries(SESSION_TRANSITIONS)) {
    const byTarget = new Map<string, string[]>();
    for (const [input, to] of Object.entries(edges)) byTarget.set(to, [...(byTarget.get(to) ?? []), input]);
    for (const [to, inputs] of byTarget) lines.push(`  ${from} --> ${to}: ${inputs.join(", ")}`);
  }
  lines.push("  closed --> [*]");
  return lines.join("\n");
}
