// The interop scenarios: one plain ES module that runs in any runtime with a WHATWG-style
// `WebSocket` constructor passed in (a browser, Node 24's global, Deno, Bun, the `ws` package,
// and our own `WebSocket` classes from @ws/node, @ws/deno and @ws/bun). It uses nothing but
// the WHATWG API (plus a ping API where the client has one), `TextEncoder`, typed arrays,
// timers and `performance.now()`: no `node:*`, Deno or Bun globals, no DOM beyond `WebSocket`.
//
// Every scenario opens its own connection to the echo server under test (the contract of
// apps/echo/targets.json in ARCHITECTURE.md), has a timeout, and yields
// `{ name, ok, na?, detail, ms }`: `ok` is true when the scenario passed or does not apply
// (`na: true`, e.g. ping on a client without a ping API).

export const MiB = 1024 * 1024;

/** Message sizes in bytes (UTF-8 bytes for text): frame-length edges and large messages. */
export const SIZES = [0, 1, 125, 126, 65535, 65536, MiB, 16 * MiB];

const DEFAULT_TIMEOUT = 10_000;
/** Text with 1-, 2-, 3- and 4-byte UTF-8 sequences: exactly 10 bytes of UTF-8. */
const TEXT_UNIT = "aé✓😀";
const TEXT_UNIT_BYTES = 10;
const MANY = 1000;

/**
 * @typedef {{ name: string, ok: boolean, na?: boolean, detail: string, ms: number }} ScenarioResult
 * @typedef {{ code: number, reason: string, wasClean: boolean }} CloseInfo
 * @typedef {(url: string, protocols?: string[]) => any} SocketFactory
 * @typedef {{
 *   WebSocket?: any,
 *   createSocket?: SocketFactory,
 *   url: string,
 *   only?: string[],
 *   timeoutScale?: number,
 *   onResult?: (result: ScenarioResult) => void,
 * }} RunOptions
 */

/** A text of exactly `bytes` bytes of UTF-8, mixing 1- to 4-byte characters. */
export function makeText(bytes) {
  const units = Math.floor(bytes / TEXT_UNIT_BYTES);
  return TEXT_UNIT.repeat(units) + "x".repeat(bytes - units * TEXT_UNIT_BYTES);
}

/** `bytes` pseudo-random bytes (xorshift32, seeded by the size so every size differs). */
export function makeBytes(bytes) {
  const out = new Uint8Array(bytes);
  let x = (bytes * 2654435761) >>> 0 || 1;
  const words = new Uint32Array(out.buffer, 0, bytes >>> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < bytes; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

/** A cheap 32-bit checksum (FNV-1a over bytes, word-at-a-time where aligned). */
export function checksum(bytes) {
  let h = 0x811c9dc5;
  const words =
    bytes.byteOffset % 4 === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2)
      : new Uint32Array(0);
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ /** @type {number} */ (words[i]), 0x01000193);
  for (let i = words.length * 4; i < bytes.byteLength; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

function label(bytes) {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  return String(bytes);
}

function kindOf(data) {
  if (typeof data === "string") return "string";
  const tag = Object.prototype.toString.call(data);
  if (tag === "[object Object]" && data && data.constructor) return data.constructor.name;
  return tag.slice(8, -1);
}

function isArrayBuffer(data) {
  return data instanceof ArrayBuffer || Object.prototype.toString.call(data) === "[object ArrayBuffer]";
}

/** The scenario list: `{ name, timeout, run(ctx) }`; `run` throws (or returns `{ na }`). */
export function scenarios() {
  /** @type {{ name: string, timeout: number, run: (ctx: Context) => Promise<void | { na?: boolean, detail?: string }> }[]} */
  const list = [];
  for (const size of SIZES) {
    const timeout = size >= 16 * MiB ? 60_000 : size >= MiB ? 20_000 : DEFAULT_TIMEOUT;
    list.push({ name: `text-${label(size)}`, timeout, run: (ctx) => echoText(ctx, size) });
  }
  for (const size of SIZES) {
    const timeout = size >= 16 * MiB ? 60_000 : size >= MiB ? 20_000 : DEFAULT_TIMEOUT;
    list.push({ name: `binary-${label(size)}`, timeout, run: (ctx) => echoBinary(ctx, size) });
  }
  list.push({ name: `many-small-in-order`, timeout: DEFAULT_TIMEOUT, run: manySmall });
  list.push({
    name: "subprotocol-superchat",
    timeout: DEFAULT_TIMEOUT,
    run: (ctx) => subprotocol(ctx, ["superchat", "chat"], "superchat"),
  });
  list.push({
    name: "subprotocol-fallback-chat",
    timeout: DEFAULT_TIMEOUT,
    run: (ctx) => subprotocol(ctx, ["nope", "chat"], "chat"),
  });
  list.push({
    name: "subprotocol-none",
    timeout: DEFAULT_TIMEOUT,
    run: (ctx) => subprotocol(ctx, undefined, ""),
  });
  list.push({ name: "close-client-4000", timeout: DEFAULT_TIMEOUT, run: closeByClient });
  list.push({ name: "close-client-no-code", timeout: DEFAULT_TIMEOUT, run: closeByClientNoCode });
  list.push({ name: "close-server-4001", timeout: DEFAULT_TIMEOUT, run: closeByServer });
  list.push({ name: "ping-pong", timeout: DEFAULT_TIMEOUT, run: pingPong });
  return list;
}

/** Every scenario name, in order (the matrix's rows of detail). */
export function scenarioNames() {
  return scenarios().map((s) => s.name);
}

/**
 * Runs the scenarios one after another against the echo server at `url` (e.g.
 * `ws://127.0.0.1:1234`) and resolves with one result per scenario. Never rejects for a
 * scenario's failure.
 * @param {RunOptions} options
 * @returns {Promise<ScenarioResult[]>}
 */
export async function runScenarios(options) {
  const base = options.url.replace(/\/+$/, "");
  const Ctor = options.WebSocket;
  /** @type {SocketFactory} */
  const create =
    options.createSocket ??
    ((url, protocols) => (protocols === undefined ? new Ctor(url) : new Ctor(url, protocols)));
  const scale = options.timeoutScale ?? 1;
  const results = [];
  for (const scenario of scenarios()) {
    if (options.only && !options.only.includes(scenario.name)) continue;
    const ctx = new Context(base, create);
    const started = performance.now();
    /** @type {ScenarioResult} */
    let result;
    let timer;
    try {
      const timedOut = new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out after ${scenario.timeout * scale} ms${ctx.progress ? ` (${ctx.progress})` : ""}`,
              ),
            ),
          scenario.timeout * scale,
        );
      });
      const outcome = await Promise.race([scenario.run(ctx), timedOut]);
      const ms = Math.round(performance.now() - started);
      if (outcome?.na) result = { name: scenario.name, ok: true, na: true, detail: outcome.detail ?? "", ms };
      else result = { name: scenario.name, ok: true, detail: outcome?.detail || "", ms };
    } catch (error) {
      const ms = Math.round(performance.now() - started);
      result = { name: scenario.name, ok: false, detail: describe(error), ms };
    } finally {
      clearTimeout(timer);
      ctx.dispose();
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

function describe(error) {
  if (error instanceof Error) return error.message;
  if (error && typeof error === "object" && "type" in error) return `${error.type} event`;
  return String(error);
}

function fail(message) {
  throw new Error(message);
}

/** One scenario's connections: opened through the factory, all closed by `dispose()`. */
class Context {
  constructor(base, create) {
    this.base = base;
    this.create = create;
    /** @type {Conn[]} */
    this.conns = [];
    /** What the scenario was doing, for timeout messages. */
    this.progress = "";
  }

  /** Opens `path` with `protocols` and resolves when the open event fires. */
  async open(path = "/", protocols = undefined) {
    this.progress = `opening ${path}`;
    const conn = new Conn(this.create(this.base + path, protocols));
    this.conns.push(conn);
    await conn.opened;
    this.progress = `open ${path}`;
    return conn;
  }

  dispose() {
    for (const conn of this.conns) conn.abandon();
  }
}

/** A socket with a message queue and a promise for its close event. */
class Conn {
  constructor(ws) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    /** @type {any[]} */
    this.queue = [];
    /** @type {{ resolve: (data: any) => void, reject: (error: Error) => void }[]} */
    this.waiters = [];
    /** @type {CloseInfo | null} */
    this.closeInfo = null;
    this.didOpen = false;
    this.errored = false;
    let resolveClosed;
    /** @type {Promise<CloseInfo>} */
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    this.opened = new Promise((resolve, reject) => {
      ws.addEventListener("open", () => {
        this.didOpen = true;
        resolve(undefined);
      });
      ws.addEventListener("error", () => {
        this.errored = true;
        if (!this.didOpen) reject(new Error("error event before open"));
      });
      ws.addEventListener("close", (event) => {
        this.closeInfo = { code: event.code, reason: event.reason, wasClean: event.wasClean };
        if (!this.didOpen) reject(new Error(`closed before open: ${fmtClose(this.closeInfo)}`));
        const closedError = new Error(
          `connection closed while waiting for a message: ${fmtClose(this.closeInfo)}`,
        );
        for (const waiter of this.waiters.splice(0)) waiter.reject(closedError);
        resolveClosed(this.closeInfo);
      });
    });
    this.opened.catch(() => {});
    ws.addEventListener("message", (event) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(event.data);
      else this.queue.push(event.data);
    });
  }

  /** The next message's `data`. */
  next() {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.closeInfo)
      return Promise.reject(new Error(`connection already closed: ${fmtClose(this.closeInfo)}`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Closes normally and waits for the close event (not asserting its details). */
  async closeAndWait() {
    if (!this.closeInfo) this.ws.close(1000);
    return this.closed;
  }

  /** Drops the connection without waiting (end of scenario). */
  abandon() {
    if (this.closeInfo) return;
    try {
      if (typeof this.ws.terminate === "function") this.ws.terminate();
      else if (this.ws.readyState === 0 || this.ws.readyState === 1) this.ws.close(1000);
    } catch {
      // already closing
    }
  }
}

function fmtClose(info) {
  return `code ${info.code}, reason ${JSON.stringify(info.reason)}, wasClean ${info.wasClean}`;
}

async function echoText(ctx, size) {
  const conn = await ctx.open("/");
  const payload = makeText(size);
  ctx.progress = `sent ${size} bytes of text, waiting for the echo`;
  conn.ws.send(payload);
  const data = await conn.next();
  if (typeof data !== "string") fail(`expected a string, got ${kindOf(data)}`);
  if (data !== payload) {
    let at = 0;
    while (at < data.length && at < payload.length && data.charCodeAt(at) === payload.charCodeAt(at)) at++;
    fail(
      `echo differs: ${data.length} UTF-16 units back for ${payload.length} sent, first difference at ${at}`,
    );
  }
  ctx.progress = "closing";
  await conn.closeAndWait();
}

async function echoBinary(ctx, size) {
  const conn = await ctx.open("/");
  const payload = makeBytes(size);
  const sum = checksum(payload);
  ctx.progress = `sent ${size} bytes of binary, waiting for the echo`;
  conn.ws.send(payload);
  const data = await conn.next();
  if (!isArrayBuffer(data)) fail(`expected an ArrayBuffer (binaryType "arraybuffer"), got ${kindOf(data)}`);
  const got = new Uint8Array(data);
  if (got.byteLength !== size) fail(`echo has ${got.byteLength} bytes for ${size} sent`);
  const gotSum = checksum(got);
  if (gotSum !== sum) fail(`echo differs: checksum ${gotSum}, sent ${sum}`);
  ctx.progress = "closing";
  await conn.closeAndWait();
}

async function manySmall(ctx) {
  const conn = await ctx.open("/");
  // Every third message binary (the index as 4 bytes), the others text: all sent at once.
  for (let i = 0; i < MANY; i++) {
    if (i % 3 === 0) conn.ws.send(new Uint32Array([i]));
    else conn.ws.send(`m${i}`);
  }
  for (let i = 0; i < MANY; i++) {
    ctx.progress = `${i} of ${MANY} echoes received`;
    const data = await conn.next();
    if (i % 3 === 0) {
      if (!isArrayBuffer(data) || data.byteLength !== 4)
        fail(`message ${i}: expected 4 bytes, got ${kindOf(data)}`);
      const value = new Uint32Array(data)[0];
      if (value !== i) fail(`message ${i}: got binary ${value} (out of order)`);
    } else if (data !== `m${i}`) {
      fail(
        `message ${i}: got ${typeof data === "string" ? JSON.stringify(data.slice(0, 20)) : kindOf(data)} (out of order)`,
      );
    }
  }
  await conn.closeAndWait();
}

async function subprotocol(ctx, offer, expected) {
  const conn = await ctx.open("/", offer);
  if (conn.ws.protocol !== expected) {
    fail(
      `offered ${JSON.stringify(offer ?? [])}: protocol is ${JSON.stringify(conn.ws.protocol)}, expected ${JSON.stringify(expected)}`,
    );
  }
  // The chosen protocol must not stop the echo.
  conn.ws.send("hello");
  if ((await conn.next()) !== "hello") fail("no echo after the handshake");
  await conn.closeAndWait();
}

async function closeByClient(ctx) {
  const conn = await ctx.open("/");
  conn.ws.close(4000, "bye ✓");
  if (conn.ws.readyState !== 2)
    fail(`readyState ${conn.ws.readyState} right after close(), expected 2 (CLOSING)`);
  ctx.progress = "close(4000) sent, waiting for the close event";
  const info = await conn.closed;
  const expected = { code: 4000, reason: "bye ✓", wasClean: true };
  checkClose(info, expected);
  if (conn.ws.readyState !== 3)
    fail(`readyState ${conn.ws.readyState} after the close event, expected 3 (CLOSED)`);
}

async function closeByClientNoCode(ctx) {
  const conn = await ctx.open("/");
  conn.ws.close();
  ctx.progress = "close() sent, waiting for the close event";
  const info = await conn.closed;
  // An empty close frame is echoed as an empty one (1005 at the client); RFC 6455 §5.5.1 only
  // says "typically echoes", so a server answering 1000 is tolerated.
  if (!info.wasClean || (info.code !== 1005 && info.code !== 1000) || info.reason !== "") {
    fail(`close event ${fmtClose(info)}, expected code 1005 (or 1000), reason "", wasClean true`);
  }
  return info.code === 1000 ? { detail: "server answered 1000 to an empty close frame" } : undefined;
}

async function closeByServer(ctx) {
  const conn = new Conn(ctx.create(`${ctx.base}/close?code=4001&reason=server%20bye`, undefined));
  ctx.conns.push(conn);
  ctx.progress = "waiting for the server's close";
  const info = await conn.closed;
  if (!conn.didOpen) fail(`no open event before the close event (${fmtClose(info)})`);
  checkClose(info, { code: 4001, reason: "server bye", wasClean: true });
  if (conn.ws.readyState !== 3)
    fail(`readyState ${conn.ws.readyState} after the close event, expected 3 (CLOSED)`);
}

function checkClose(info, expected) {
  if (info.code !== expected.code || info.reason !== expected.reason || info.wasClean !== expected.wasClean) {
    fail(`close event ${fmtClose(info)}, expected ${fmtClose(expected)}`);
  }
}

async function pingPong(ctx) {
  const conn = await ctx.open("/");
  const ws = conn.ws;
  if (typeof ws.ping !== "function") {
    await conn.closeAndWait();
    return { na: true, detail: "no ping API" };
  }
  const payload = new TextEncoder().encode("ping ✓");
  let detail;
  if (typeof ws.on === "function" && typeof ws.once === "function") {
    // The `ws` package: ping(data) and a 'pong' event with the payload.
    const pong = new Promise((resolve) => ws.once("pong", resolve));
    const started = performance.now();
    ws.ping(payload);
    ctx.progress = "ping sent, waiting for the 'pong' event";
    const data = new Uint8Array(await pong);
    if (checksum(data) !== checksum(payload) || data.byteLength !== payload.byteLength) {
      fail(`pong payload differs from the ping's (${data.byteLength} bytes)`);
    }
    detail = `rtt ${(performance.now() - started).toFixed(2)} ms ('pong' event)`;
  } else {
    // Our WebSocket: ping() resolves with the round-trip time.
    let pongEvent = false;
    ws.addEventListener("pong", () => (pongEvent = true));
    const returned = ws.ping(payload);
    if (returned && typeof returned.then === "function") {
      ctx.progress = "ping sent, waiting for ping() to resolve";
      const rtt = await returned;
      if (typeof rtt !== "number" || !(rtt >= 0))
        fail(`ping() resolved with ${String(rtt)}, expected a round-trip time`);
      detail = `rtt ${rtt.toFixed(2)} ms (ping() promise)`;
    } else {
      // A ping() that reports nothing back (e.g. Bun's): wait briefly for a 'pong' event.
      ctx.progress = "ping sent, waiting for a 'pong' event";
      const deadline = performance.now() + 2000;
      while (!pongEvent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (!pongEvent) {
        await conn.closeAndWait();
        return { na: true, detail: "ping() returns nothing and no 'pong' event arrives" };
      }
      detail = "'pong' event";
    }
  }
  // The connection still echoes after the ping.
  ws.send("after ping");
  if ((await conn.next()) !== "after ping") fail("no echo after the ping");
  await conn.closeAndWait();
  return { detail };
}
