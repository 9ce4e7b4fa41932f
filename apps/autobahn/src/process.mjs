// Starting and stopping the implementation under test.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: commands in targets files are run from there. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * A free TCP port on 127.0.0.1: listen on port 0, read the port, close.
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
 * Read a targets file ({ "name": "<command>" }).
 * @param {string} file
 * @returns {Record<string, string>}
 */
export function loadTargets(file) {
  const parsed = JSON.parse(readFileSync(file, "utf8"));
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error(`${file}: expected an object of name -> command`);
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, command] of Object.entries(parsed)) {
    if (typeof command !== "string") throw new Error(`${file}: target ${name} is not a command string`);
    out[name] = command;
  }
  return out;
}

/**
 * Replace {name} placeholders.
 * @param {string} command
 * @param {Record<string, string>} values
 */
export function fillCommand(command, values) {
  return command.replace(/\{(\w+)\}/g, (all, name) => values[name] ?? all);
}

/** @type {Set<TargetProcess>} targets still running, killed if the runner exits early */
const live = new Set();
process.on("exit", () => {
  for (const t of live) t.kill("SIGKILL");
});

/** Stop every target this process started (used by the CLI's signal handlers). */
export async function stopAllTargets() {
  await Promise.all([...live].map((t) => t.stop(1000)));
}

export class TargetProcess {
  /**
   * Spawn `sh -c command` in its own process group (so we can stop exactly what we started).
   * @param {string} command
   */
  constructor(command) {
    this.command = command;
    this.child = spawn("sh", ["-c", command], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.output = "";
    this.stdoutLines = 0;
    /** @type {number | null} */
    this.exitCode = null;
    live.add(this);
    this.exited = new Promise((resolveExit) => {
      this.child.once("exit", (code, signal) => {
        live.delete(this);
        this.exitCode = code ?? (signal === null ? -1 : 128);
        resolveExit(this.exitCode);
      });
      this.child.once("error", (err) => {
        live.delete(this);
        this.output += `\nspawn error: ${err.message}`;
        this.exitCode = -1;
        resolveExit(-1);
      });
    });
    /** @param {Buffer} chunk */
    const collect = (chunk) => {
      if (this.output.length < 64 * 1024) this.output += chunk.toString("utf8");
    };
    this.child.stdout?.on("data", (/** @type {Buffer} */ chunk) => {
      if (chunk.includes(0x0a)) this.stdoutLines++;
      collect(chunk);
    });
    this.child.stderr?.on("data", collect);
  }

  get pid() {
    return this.child.pid ?? null;
  }

  /**
   * Wait until the process printed a line or accepts TCP connections on `port`.
   * @param {number | null} port
   * @param {number} timeoutMs
   */
  async waitReady(port, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== null)
        throw new Error(
          `target exited with code ${this.exitCode} before it was ready: ${this.command}\n${this.output.slice(-2000)}`,
        );
      if (this.stdoutLines > 0) return; // the contract: one line on stdout when listening
      if (port !== null && (await canConnect(port))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`target not ready within ${timeoutMs} ms: ${this.command}\n${this.output.slice(-2000)}`);
  }

  /**
   * The process that does the work: `sh -c` normally execs the command; if it forked instead,
   * take its first child (Linux /proc).
   */
  workerPid() {
    const pid = this.pid;
    if (pid === null) return null;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (comm !== "sh" && comm !== "dash" && comm !== "bash") return pid;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
      return children[0] === undefined || children[0] === "" ? pid : Number(children[0]);
    } catch {
      return pid;
    }
  }

  /** Resident set size of the worker in bytes (Linux), or null. */
  rss() {
    const pid = this.workerPid();
    if (pid === null) return null;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m === null ? null : Number(m[1]) * 1024;
    } catch {
      return null;
    }
  }

  /**
   * Signal the process group we created (its id is our child's pid), nothing else.
   * @param {NodeJS.Signals} signal
   */
  kill(signal) {
    const pid = this.pid;
    if (pid === null || this.exitCode !== null) return false;
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM to the process group we created, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000) {
    if (!this.kill("SIGTERM")) return;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(r, graceMs, "timeout");
    });
    const outcome = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      this.kill("SIGKILL");
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 1000).unref())]);
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
