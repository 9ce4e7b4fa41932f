/**
 * The connection's state machine, kept as data (h11 style) so that it is inspectable and can be
 * rendered as a diagram that cannot drift from the code. The table is the single source of
 * truth: what may be sent and received in a state is whether the table has an entry for that
 * input there ({@link ALLOWED} is derived from it). The opening handshake (`CONNECTING`, RFC 6455
 * §4) belongs to the handshake functions, not here: a `Connection` starts `open`.
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
  /**
   * The peer broke the protocol: nothing more is read, and the one frame left to send is the
   * close frame with the failure's code (RFC 6455 §7.1.7 "_Fail the WebSocket Connection_").
   */
  Failing: "failing",
  /** Both close frames were exchanged (RFC 6455 §7.1.4 "_The WebSocket Closing Handshake is Started_" … finished). */
  Closed: "closed",
  /** The connection failed and nothing more may be sent: after the failing close frame, or the transport ended early. */
  Failed: "failed",
} as const;
/** One of the {@link ConnectionState} values. */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/**
 * What happens to the connection, as inputs of the state machine: frames sent and received
 * (a close frame apart from the others: messages, their pieces, pings and pongs), a protocol
 * error of the peer, and the end of the transport.
 */
export type ConnectionInput =
  | "send-frame"
  | "send-close"
  | "receive-frame"
  | "receive-close"
  | "protocol-error"
  | "eof";

/** Every {@link ConnectionInput}, in the order of the table's rows. */
export const CONNECTION_INPUTS: readonly ConnectionInput[] = [
  "send-frame",
  "send-close",
  "receive-frame",
  "receive-close",
  "protocol-error",
  "eof",
];

/**
 * The transition table: for each state, the inputs it accepts and the state each one leads to.
 * An input without an entry is not allowed there: `Connection.send` throws a
 * `LocalProtocolError` for a frame it may not send, and received bytes are not read where no
 * frame may be received (RFC 6455 §5.5.1: nothing after the peer's close frame; §7.1.7: nothing
 * after a failure).
 */
export const TRANSITIONS: Readonly<
  Record<ConnectionState, Readonly<Partial<Record<ConnectionInput, ConnectionState>>>>
> = {
  open: {
    "send-frame": "open",
    "send-close": "closing-local",
    "receive-frame": "open",
    "receive-close": "closing-remote",
    "protocol-error": "failing",
    eof: "failed",
  },
  "closing-local": {
    "receive-frame": "closing-local",
    "receive-close": "closed",
    "protocol-error": "failed",
    eof: "failed",
  },
  "closing-remote": { "send-frame": "closing-remote", "send-close": "closed", eof: "failed" },
  failing: { "send-close": "failed", eof: "failed" },
  closed: { eof: "closed" },
  failed: { eof: "failed" },
};

/** Whether each input is allowed, for one state (same shape for every state: fast checks). */
export type AllowedInputs = Readonly<Record<ConnectionInput, boolean>>;

/** Per state, whether each input is allowed: derived from {@link TRANSITIONS}, never written by hand. */
export const ALLOWED: Readonly<Record<ConnectionState, AllowedInputs>> = Object.fromEntries(
  Object.entries(TRANSITIONS).map(([state, edges]) => [
    state,
    Object.fromEntries(CONNECTION_INPUTS.map((input) => [input, edges[input] !== undefined])),
  ]),
) as Record<ConnectionState, AllowedInputs>;

/** Renders {@link TRANSITIONS} as a Mermaid state diagram (the README's diagram is this output). */
export function transitionsAsMermaid(): string {
  // Mermaid ids may not contain "-": declare each state with its real name as the label.
  const id = (state: string) => state.replace(/-/g, "_");
  const lines = ["stateDiagram-v2"];
  for (const state of Object.keys(TRANSITIONS)) lines.push(`  state "${state}" as ${id(state)}`);
  lines.push("  [*] --> open");
  for (const [from, edges] of Object.entries(TRANSITIONS)) {
    // Inputs leading to the same state share one arrow.
    const byTarget = new Map<string, string[]>();
    for (const [input, to] of Object.entries(edges)) byTarget.set(to, [...(byTarget.get(to) ?? []), input]);
    for (const [to, inputs] of byTarget) lines.push(`  ${id(from)} --> ${id(to)}: ${inputs.join(", ")}`);
  }
  lines.push("  closed --> [*]", "  failed --> [*]");
  return lines.join("\n");
}
