/**
 * The connection's state machine, kept as data (h11 style) so that it is inspectable and can be
 * rendered as a diagram that cannot drift from the code. The opening handshake (`CONNECTING`,
 * RFC 6455 §4) belongs to the handshake functions, not here: a `Connection` starts `open`.
 *
 * @module
 */

/** The states of a {@link Connection} (RFC 6455 §7). */
export const ConnectionState = {
  /** Data may flow both ways (RFC 6455 §4.1 "_The WebSocket Connection is Established_"). */
  Open: "open",
  /** We sent a close frame and wait for the peer's (RFC 6455 §7.1.2). We may still receive data. */
  ClosingLocal: "closing-local",
  /** The peer sent a close frame; we should answer with ours (RFC 6455 §5.5.1). We may still send. */
  ClosingRemote: "closing-remote",
  /** Both close frames were exchanged (RFC 6455 §7.1.4 "_The WebSocket Closing Handshake is Started_" … finished). */
  Closed: "closed",
  /** The peer broke the protocol or the transport ended early (RFC 6455 §7.1.7 "_Fail the WebSocket Connection_"). */
  Failed: "failed",
} as const;
/** One of the {@link ConnectionState} values. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** What happens to the connection, as inputs of the state machine. */
export type ConnectionInput = "send-close" | "receive-close" | "protocol-error" | "eof";

/**
 * The transition table. A missing entry means the input does not change the state there
 * (`send-close` in a state missing here is a caller error, checked by `Connection.send`).
 */
export const TRANSITIONS: Readonly<
  Record<ConnectionState, Readonly<Partial<Record<ConnectionInput, ConnectionState>>>>
> = {
  open: {
    "send-close": "closing-local",
    "receive-close": "closing-remote",
    "protocol-error": "failed",
    eof: "failed",
  },
  "closing-local": { "receive-close": "closed", "protocol-error": "failed", eof: "failed" },
  "closing-remote": { "send-close": "closed", eof: "failed" },
  closed: {},
  failed: {},
};

/** Renders {@link TRANSITIONS} as a Mermaid state diagram (the README's diagram is this output). */
export function transitionsAsMermaid(): string {
  // Mermaid ids may not contain "-": declare each state with its real name as the label.
  const id = (state: string) => state.replace(/-/g, "_");
  const lines = ["stateDiagram-v2"];
  for (const state of Object.keys(TRANSITIONS)) lines.push(`  state "${state}" as ${id(state)}`);
  lines.push("  [*] --> open");
  for (const [from, edges] of Object.entries(TRANSITIONS)) {
    for (const [input, to] of Object.entries(edges)) lines.push(`  ${id(from)} --> ${id(to)}: ${input}`);
  }
  lines.push("  closed --> [*]", "  failed --> [*]");
  return lines.join("\n");
}
