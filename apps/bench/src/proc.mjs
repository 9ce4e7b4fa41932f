// Linux /proc readings: the process tree of a target, its resident memory and CPU time.
// Every function returns null (or an empty list) rather than throwing when a process is gone.

import { readdirSync, readFileSync } from "node:fs";

/**
 * `pid` and all its descendants (Linux, /proc/<pid>/task/<tid>/children), parents first.
 * A target that honours the contract `exec`s its server, so this is a single PID; the tree
 * makes the numbers right even when a wrapper (a shell, an npm shim) stays in between.
 * @param {number} pid
 * @returns {number[]}
 */
export function processTree(pid) {
  /** @type {number[]} */
  const out = [];
  /** @type {number[]} */
  const queue = [pid];
  while (queue.length > 0 && out.length < 64) {
    const p = /** @type {number} */ (queue.shift());
    if (out.includes(p)) continue;
    /** @type {string[]} */
    let tasks;
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // gone
    }
    out.push(p);
    for (const tid of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${tid}/children`, "utf8").trim().split(/\s+/)) {
          if (c !== "") queue.push(Number(c));
        }
      } catch {
        // thread gone
      }
    }
  }
  return out;
}

/** @param {number} pid @returns {string | null} */
export function processName(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * Resident set size of one process in KiB (VmRSS), or null.
 * @param {number} pid
 * @returns {number | null}
 */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * Summed VmRSS of a process tree in KiB, or null when the root is gone.
 * @param {number} pid
 * @returns {number | null}
 */
export function treeRssKiB(pid) {
  let sum = 0;
  let any = false;
  for (const p of processTree(pid)) {
    const r = rssKiB(p);
    if (r !== null) {
      sum += r;
      any = true;
    }
  }
  return any ? sum : null;
}

/**
 * A process tree's RSS read three times 100 ms apart: the median, in KiB (null if unreadable).
 * @param {number} pid
 */
export async function steadyRss(pid) {
  /** @type {number[]} */
  const reads = [];
  for (let i = 0; i < 3; i++) {
    const r = treeRssKiB(pid);
    if (r !== null) reads.push(r);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  reads.sort((a, b) => a - b);
  return reads.length === 0 ? null : /** @type {number} */ (reads[Math.floor(reads.length / 2)]);
}

/**
 * User + system CPU time of one process (all its threads) in clock ticks, or null.
 * @param {number} pid
 * @returns {number | null}
 */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces and parentheses).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * Summed CPU ticks of a process tree.
 * @param {number} pid
 * @returns {number | null}
 */
export function treeCpuTicks(pid) {
  let sum = 0;
  let any = false;
  for (const p of processTree(pid)) {
    const t = cpuTicks(p);
    if (t !== null) {
      sum += t;
      any = true;
    }
  }
  return any ? sum : null;
}

/**
 * Busy time of the whole machine (all CPUs) in clock ticks: total minus idle and iowait, from
 * the first line of /proc/stat. Null when unavailable.
 * @returns {number | null}
 */
export function systemBusyTicks() {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is in user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return total - (f[3] ?? 0) - (f[4] ?? 0);
  } catch {
    return null;
  }
}
