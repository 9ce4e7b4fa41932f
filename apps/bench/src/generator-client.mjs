// The orchestrator's side of the load generator process (src/generator.mjs).

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { launchPrefix, setAutogroupNice } from "./targets.mjs";

const GENERATOR = fileURLToPath(new URL("./generator.mjs", import.meta.url));

export class GeneratorProcess {
  /**
   * Start the generator with an IPC channel, optionally pinned to `cpu` and reniced (`taskset`
   * and `nice` exec node, which keeps the channel).
   * @param {{ cpu: number | null, nice: number | null }} options
   */
  constructor(options) {
    const argv = [...launchPrefix(options), process.execPath, GENERATOR];
    // detached: its own session and so its own scheduling group (see setAutogroupNice); it
    // exits when the IPC channel closes, and the exit handler below kills it.
    this.child = spawn(/** @type {string} */ (argv[0]), argv.slice(1), {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      detached: true,
    });
    if (options.nice !== null && this.child.pid !== undefined) setAutogroupNice(this.child.pid, options.nice);
    this.nextId = 1;
    /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
    this.pending = new Map();
    this.exited = false;
    this.child.on(
      "message",
      (/** @type {{ id: number, ok: boolean, result?: unknown, error?: string }} */ m) => {
        const p = this.pending.get(m.id);
        if (p === undefined) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(m.error ?? "generator job failed"));
      },
    );
    this.child.once("exit", (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`generator exited (${code ?? signal})`));
      this.pending.clear();
    });
    this.killOnExit = () => this.kill();
    process.on("exit", this.killOnExit);
  }

  get pid() {
    return this.child.pid ?? null;
  }

  /**
   * Run one job; rejects after `timeoutMs` (the caller then replaces the generator).
   * @template T
   * @param {{ type: string, [k: string]: unknown }} job
   * @param {number} timeoutMs
   * @returns {Promise<T>}
   */
  run(job, timeoutMs) {
    if (this.exited) return Promise.reject(new Error("generator is not running"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`generator job ${job.type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, job });
    });
  }

  kill() {
    process.off("exit", this.killOnExit);
    if (!this.exited && this.child.pid !== undefined) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // gone
      }
    }
  }

  async stop() {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once("exit", r));
    this.child.disconnect();
    await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
    this.kill();
  }
}
