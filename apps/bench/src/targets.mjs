// Targets: where their commands come from, and starting / stopping the servers under test.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: target commands are run from there (the targets.json contract). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Target files, in order of precedence when two define the same name. */
export const TARGET_FILES = [
  { file: "apps/echo/targets.json", optional: true },
  { file: "apps/bench/targets.json", optional: false },
];

/** Not a WebSocket server; only run when asked for (--ceiling or --targets tcp-ceiling). */
export const CEILING = "tcp-ceiling";

/**
 * Variants of a target with another setting, named `target@variant` (e.g. `node@portable`:
 * another permessage-deflate engine): only run when named in --targets.
 * @param {string} name
 */
export const isVariant = (name) => name.includes("@");

/** Our runtime adapters and the native server of the same runtime they are compared with. */
export const NATIVE_PAIRS = /** @type {const} */ ([
  ["deno", "deno-native"],
  ["bun", "bun-native"],
]);

/** Display order (others follow in file order). */
const ORDER = ["ws", "ws-nobu", "node", "deno-native", "deno", "bun-native", "bun"];

/**
 * @typedef {object} TargetSpec
 * @property {string} name
 * @property {string} command with a {port} placeholder
 * @property {string} source the targets file it came from
 */

/**
 * Read every targets file that exists. A missing or broken apps/echo/targets.json is a note,
 * not an error (it is written by another team and may not exist yet). The HTTP/2 targets
 * (`*-h2`, `*-h2-tls`: RFC 8441, which this HTTP/1.1 load generator does not speak) are left
 * out unless `includeHttp2`; `h2.mjs` measures them.
 * @param {{ includeHttp2?: boolean }} [options]
 * @returns {{ targets: Map<string, TargetSpec>, notes: string[] }}
 */
export function loadTargets(options = {}) {
  /** @type {Map<string, TargetSpec>} */
  const targets = new Map();
  /** @type {string[]} */
  const notes = [];
  for (const { file, optional } of TARGET_FILES) {
    const path = resolve(REPO_ROOT, file);
    if (!existsSync(path)) {
      if (optional) {
        notes.push(`${file} does not exist (yet): its targets are skipped`);
        continue;
      }
      throw new Error(`${file} is missing`);
    }
    /** @type {unknown} */
    let parsed;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      if (!optional) throw err;
      notes.push(`${file} could not be read: ${/** @type {Error} */ (err).message}`);
      continue;
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      const msg = `${file}: expected an object of name -> command`;
      if (!optional) throw new Error(msg);
      notes.push(msg);
      continue;
    }
    for (const [name, command] of Object.entries(parsed)) {
      if (typeof command !== "string" || !command.includes("{port}")) {
        notes.push(`${file}: target ${name} is not a command string with {port}; skipped`);
        continue;
      }
      if (targets.has(name)) {
        notes.push(`${file}: target ${name} is also in ${targets.get(name)?.source}; that one is used`);
        continue;
      }
      if (options.includeHttp2 !== true && /-h2(-tls)?$/.test(name)) {
        notes.push(`${file}: target ${name} is served over HTTP/2 (measured by src/h2.mjs); skipped`);
        continue;
      }
      targets.set(name, { name, command, source: file });
    }
  }
  return { targets, notes };
}

/**
 * Which targets to run: the ones asked for (default: all but the ceiling), plus the baseline
 * and, for deno/bun, their native servers (so the ratios can be shown).
 * @param {Map<string, TargetSpec>} available
 * @param {{ names: string[] | null, baseline: string, ceiling: boolean }} options
 * @returns {{ selected: TargetSpec[], notes: string[] }}
 */
export function selectTargets(available, { names, baseline, ceiling }) {
  /** @type {string[]} */
  const notes = [];
  const unknown = (names ?? []).filter((n) => !available.has(n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown target(s) ${unknown.join(", ")}; available: ${[...available.keys()].join(", ")}`,
    );
  }
  const wanted = new Set(names ?? [...available.keys()].filter((n) => n !== CEILING && !isVariant(n)));
  if (ceiling && available.has(CEILING)) wanted.add(CEILING);
  if (!available.has(baseline)) throw new Error(`baseline ${baseline} is not a known target`);
  if (!wanted.has(baseline)) {
    wanted.add(baseline);
    notes.push(`added the baseline ${baseline}`);
  }
  for (const [ours, native] of NATIVE_PAIRS) {
    if (wanted.has(ours) && !wanted.has(native) && available.has(native)) {
      wanted.add(native);
      notes.push(`added ${native} to compare ${ours} with`);
    }
  }
  const fileOrder = [...available.keys()];
  const rank = (/** @type {string} */ n) =>
    n === baseline
      ? -1
      : n === CEILING
        ? 1000
        : ORDER.includes(n)
          ? ORDER.indexOf(n)
          : 100 + fileOrder.indexOf(n);
  const selected = [...wanted]
    .sort((a, b) => rank(a) - rank(b))
    .map((n) => /** @type {TargetSpec} */ (available.get(n)));
  return { selected, notes };
}

/**
 * A free TCP port on 127.0.0.1.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * The command prefix that pins to `cpu` and sets the niceness (`taskset` and `nice` both exec
 * their command, so the PID stays the server's).
 * @param {{ cpu: number | null, nice: number | null }} options
 * @returns {string[]}
 */
export function launchPrefix({ cpu, nice }) {
  return [
    ...(nice === null ? [] : ["nice", "-n", String(nice)]),
    ...(cpu === null ? [] : ["taskset", "-c", String(cpu)]),
  ];
}

/**
 * Whether this process may run children at niceness `nice` (negative needs privileges).
 * @param {number} nice
 */
export function canNice(nice) {
  try {
    const err = execFileSync("nice", ["-n", String(nice), "true"], {
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 2000,
    });
    return err === "" || err === null;
  } catch {
    return false;
  }
}

/**
 * Set the niceness of the autogroup `pid` leads (Linux with sched_autogroup: a process started
 * in a new session gets its own group, and CPU is shared between groups first, so a process's
 * own niceness only matters inside its group). Returns false when not possible.
 * @param {number} pid
 * @param {number} nice
 */
export function setAutogroupNice(pid, nice) {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return true;
  } catch {
    return false;
  }
}

/** @returns {boolean} */
export function hasTaskset() {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore", timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

/** Every server process started by this process, for the exit handler. @type {Set<ServerProcess>} */
const live = new Set();
process.on("exit", () => {
  for (const s of live) s.killNow();
});

export class ServerProcess {
  /**
   * Start `sh -c command` (optionally under `nice` and `taskset -c cpu`) in its own process
   * group, from the repository root.
   * @param {string} command the command with the port filled in
   * @param {{ cpu: number | null, nice: number | null }} options
   */
  constructor(command, options) {
    this.command = command;
    const argv = [...launchPrefix(options), "sh", "-c", command];
    this.child = spawn(/** @type {string} */ (argv[0]), argv.slice(1), {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(this);
    // detached: a new session, hence (with sched_autogroup) its own scheduling group.
    if (options.nice !== null && this.child.pid !== undefined) setAutogroupNice(this.child.pid, options.nice);
    this.output = "";
    this.firstLine = /** @type {string | null} */ (null);
    /** @type {number | null} */
    this.exitCode = null;
    this.exited = new Promise((resolveExit) => {
      this.child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal === null ? -1 : 128);
        live.delete(this);
        resolveExit(this.exitCode);
      });
      this.child.once("error", (err) => {
        this.output += `\nspawn error: ${err.message}`;
        this.exitCode = -1;
        live.delete(this);
        resolveExit(-1);
      });
    });
    /** @param {Buffer} chunk */
    const collect = (chunk) => {
      if (this.output.length < 64 * 1024) this.output += chunk.toString("utf8");
    };
    let stdout = "";
    this.child.stdout?.on("data", (/** @type {Buffer} */ chunk) => {
      collect(chunk);
      if (this.firstLine === null) {
        stdout += chunk.toString("utf8");
        const nl = stdout.indexOf("\n");
        if (nl >= 0) this.firstLine = stdout.slice(0, nl).trim();
      }
    });
    this.child.stderr?.on("data", collect);
  }

  get pid() {
    return this.child.pid ?? null;
  }

  /**
   * Wait for the one line the contract promises, then for the port to accept connections.
   * @param {number} port
   * @param {number} timeoutMs
   */
  async waitReady(port, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== null) {
        throw new Error(`exited with code ${this.exitCode} before it was ready\n${this.output.slice(-2000)}`);
      }
      if (this.firstLine !== null && (await canConnect(port))) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(
      `not ready within ${timeoutMs} ms (no line on stdout or port closed)\n${this.output.slice(-2000)}`,
    );
  }

  /** SIGTERM to the process group we created, SIGKILL after `graceMs`. */
  async stop(graceMs = 3000) {
    const pid = this.pid;
    if (pid === null || this.exitCode !== null) return;
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = new Promise((r) => setTimeout(r, graceMs, "timeout"));
    if ((await Promise.race([this.exited, timer])) === "timeout") {
      this.killNow();
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 1000))]);
    }
  }

  killNow() {
    const pid = this.pid;
    if (pid === null || this.exitCode !== null) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** @param {number} port @returns {Promise<boolean>} */
function canConnect(port) {
  return new Promise((resolveConnect) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const done = (/** @type {boolean} */ okay) => {
      s.destroy();
      resolveConnect(okay);
    };
    s.setTimeout(500, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}
