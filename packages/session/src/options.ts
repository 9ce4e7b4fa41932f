/**
 * The option schema, written once for every runtime (issue 12, "Options are checked"): the
 * server (`ServerCore`, used by every adapter's `WebSocketServer`) and the client
 * (`splitClientArguments`, used by every adapter's `WebSocket` and `connect`) check their
 * options here, so Node, Deno and Bun give the same errors.
 *
 * - An unknown option name throws a `TypeError` naming it: an option that is silently ignored
 *   is a check the user believes runs and does not (`verifyClient: () => false` accepting
 *   everyone). Names users bring from `ws` get a message pointing at our equivalent; other
 *   typos get the closest known name.
 * - A value of the wrong type throws a `TypeError`; a number out of range a `RangeError`.
 * - `limits` is checked key by key (`limits: { maxMesageSize }` is a typo, not a no-op).
 *
 * Adapters pass their runtime-only names (`port`, `tls` …); they check those values themselves.
 *
 * @module
 */

/** A check of one value: `undefined` when fine, else what the value must be. */
type Check = (value: unknown) => { readonly range?: boolean; readonly must: string } | undefined;

/** A table of option names and the checks of their values. */
export type OptionSchema = Readonly<Record<string, Check>>;

const is =
  (type: "boolean" | "function" | "string", must: string): Check =>
  (value) =>
    typeof value === type ? undefined : { must };

const boolean = is("boolean", "true or false");
const func = is("function", "a function");
const string = is("string", "a string");
const object: Check = (value) =>
  typeof value === "object" && value !== null ? undefined : { must: "an object" };
const anything: Check = () => undefined;

/** A number ≥ 0 (`Infinity` allowed when `infinite`); `unit` says what it counts. */
function number(unit: string, { integer = false, min = 0, infinite = false } = {}): Check {
  return (value) => {
    if (typeof value !== "number" || Number.isNaN(value)) return { must: `a number of ${unit}` };
    if (value === Number.POSITIVE_INFINITY && infinite) return undefined;
    if (value < min || !Number.isFinite(value) || (integer && !Number.isInteger(value)))
      return {
        range: true,
        must: `${integer ? "an integer" : "a number"} of ${unit} ≥ ${min}${infinite ? " (or Infinity)" : ""}`,
      };
    return undefined;
  };
}

const milliseconds = number("milliseconds");
const bytes = number("bytes", { integer: true, infinite: true });

function oneOf(...values: readonly string[]): Check {
  return (value) =>
    values.includes(value as string)
      ? undefined
      : { must: `one of ${values.map((v) => `"${v}"`).join(", ")}` };
}

function either(first: Check, second: Check, must: string): Check {
  return (value) => (first(value) === undefined || second(value) === undefined ? undefined : { must });
}

/** The keys of `limits` (the codec's and the session's). */
const LIMITS: OptionSchema = {
  maxMessageSize: bytes,
  maxFrameSize: bytes,
  maxFragments: number("fragments", { integer: true, infinite: true }),
  maxHeadSize: bytes,
  maxHeaderCount: number("header fields", { integer: true, infinite: true }),
  maxBufferedAmount: bytes,
};

const HEARTBEAT: OptionSchema = { interval: milliseconds, timeout: milliseconds };

/** A nested object checked against `schema` (unknown keys included). */
function nested(name: string, schema: OptionSchema): Check {
  return (value) => {
    if (typeof value !== "object" || value === null) return { must: "an object" };
    // Thrown from here so the message names the inner key; the caller prefixes it.
    checkOptions(`option ${name}`, value, [schema]);
    return undefined;
  };
}

/** The options of every session (server-side sockets and clients). */
export const SESSION_OPTIONS: OptionSchema = {
  limits: nested("limits", LIMITS),
  closeTimeout: milliseconds,
  autoPong: boolean,
  echoCloseReason: boolean,
  heartbeat: nested("heartbeat", HEARTBEAT),
  idleTimeout: milliseconds,
  streamMessages: boolean,
  receiveHighWaterMark: bytes,
  random: func,
};

const binaryType = oneOf("blob", "arraybuffer", "uint8array");
const perMessageDeflate = either(boolean, object, "true, false or an object of deflate settings");

/** The server's own options (beside the session's). */
export const SERVER_OPTIONS: OptionSchema = {
  path: string,
  protocols: (value) =>
    Array.isArray(value) || typeof value === "function"
      ? undefined
      : { must: "a list of subprotocols or a function choosing among the offers" },
  verify: func,
  binaryType,
  clientTracking: boolean,
  perMessageDeflate,
  handshakeTimeout: milliseconds,
  maxPendingHandshakes: number("handshakes", { integer: true, min: 1, infinite: true }),
  maxConnections: number("connections", { integer: true, min: 1, infinite: true }),
  memoryBudget: number("bytes", { integer: true, min: 1, infinite: true }),
  // Pub/sub across processes (a Broker such as @ws/redis's); the default is in-process.
  broker: object,
};

/** The client's options (beside the session's). Transport ones (TLS, proxy) are the adapter's to check. */
export const CLIENT_OPTIONS: OptionSchema = {
  protocols: either(
    string,
    (value) => (Array.isArray(value) ? undefined : { must: "" }),
    "a string or a list",
  ),
  headers: object,
  origin: string,
  handshakeTimeout: milliseconds,
  followRedirects: boolean,
  maxRedirects: number("redirects", { integer: true, infinite: true }),
  onUpgrade: func,
  onRedirect: func,
  perMessageDeflate,
  binaryType,
  connector: func,
  signal: object,
  reportError: func,
  // Set by servers for the sockets they wrap.
  session: object,
  clients: object,
  pubsub: object,
  // Transport options some adapters honour (the others throw their own error for them).
  proxy: anything,
  ca: anything,
  rejectUnauthorized: boolean,
  servername: string,
  tls: object,
  http2: either(boolean, oneOf("auto"), 'true, false or "auto"'),
};

/** Names users bring from `ws` (and other libraries), with what to use here instead. */
const FOREIGN: Readonly<Record<string, string>> = {
  verifyClient: "use verify (sync or async; return true, false or a verdict with status and headers)",
  handleProtocols: "use protocols (a list, most preferred first, or a function choosing among the offers)",
  maxPayload: "use limits: { maxMessageSize } (and limits.maxFrameSize)",
  skipUTF8Validation: "not available: text messages are always validated (RFC 6455 §8.1)",
  backlog:
    "not available: listen with your own node:http server and pass it as server (Node), or use the runtime's listener",
  allowSynchronousEvents: "not needed: events are dispatched as messages are decoded",
  protocolVersion: "not available: only version 13 (RFC 6455) is spoken",
  agent: "use proxy (an HTTP(S) proxy URL) or tls",
  createConnection: "not available: the adapter opens the connection",
  finishRequest: "use headers and origin",
  maxReceivedFrameSize: "use limits: { maxFrameSize }",
  maxReceivedMessageSize: "use limits: { maxMessageSize }",
  compression: "use perMessageDeflate",
  maxBackpressure: "use limits: { maxBufferedAmount }",
};

/** Levenshtein distance, for "did you mean". Names are short. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value;
}

/**
 * Checks `options` against `schemas` (plus `runtimeKeys`, the adapter's own names, not checked
 * here). `what` starts every message (`"Cannot create WebSocketServer"`).
 *
 * @throws {TypeError} an unknown option name, or a value of the wrong type.
 * @throws {RangeError} a number out of range.
 */
export function checkOptions(
  what: string,
  options: object,
  schemas: readonly OptionSchema[],
  runtimeKeys: readonly string[] = [],
): void {
  if (typeof options !== "object" || options === null)
    throw new TypeError(`${what}: the options must be an object, got ${describe(options)}`);
  for (const name of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[name];
    const check = schemas.find((schema) => Object.hasOwn(schema, name))?.[name];
    if (check === undefined) {
      if (runtimeKeys.includes(name)) continue;
      const hint = FOREIGN[name];
      if (hint !== undefined) throw new TypeError(`${what}: unknown option ${name} (from ws?): ${hint}`);
      const known = [...schemas.flatMap((schema) => Object.keys(schema)), ...runtimeKeys];
      const closest = known
        .map((key) => ({ key, d: distance(name.toLowerCase(), key.toLowerCase()) }))
        .filter(({ d }) => d <= 2)
        .sort((a, b) => a.d - b.d)[0];
      throw new TypeError(
        `${what}: unknown option ${name}${closest === undefined ? "" : ` (did you mean ${closest.key}?)`}`,
      );
    }
    if (value === undefined) continue;
    let wrong: ReturnType<Check>;
    try {
      wrong = check(value);
    } catch (error) {
      // A nested object's check (limits, heartbeat) named the inner key.
      if (error instanceof RangeError) throw new RangeError(`${what}: ${error.message}`);
      if (error instanceof TypeError) throw new TypeError(`${what}: ${error.message}`);
      throw error;
    }
    if (wrong === undefined) continue;
    const message = `${what}: option ${name} must be ${wrong.must}, got ${describe(value)}`;
    throw wrong.range === true ? new RangeError(message) : new TypeError(message);
  }
}
