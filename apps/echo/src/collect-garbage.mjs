// @ts-self-types="./collect-garbage.d.mts"
// The memory benchmark's control path of the echo contract (ARCHITECTURE.md, "Contracts other
// tools rely on"): a connection to `/gc` gets, after a full garbage collection in the server
// process, one text message `{"heapUsed":N}` (bytes of JavaScript heap in use after it), and is
// then closed (1000). apps/bench asks for it before each memory reading, so that garbage the
// handshakes left and the collector has not reached yet is not counted as the connections'.
// Written once for every server of the benchmark (ours on each runtime and the reference ones),
// so every target is measured the same way.
import process from "node:process";
import * as v8 from "node:v8";
import * as vm from "node:vm";

/** @type {(() => void) | undefined} */
let fullGc;

function collector() {
  if (fullGc !== undefined) return fullGc;
  const bun = /** @type {{ Bun?: { gc(force: boolean): void } }} */ (globalThis).Bun;
  if (bun !== undefined) {
    // JavaScriptCore: `Bun.gc(true)` is a synchronous full collection (https://bun.com/reference/bun/gc).
    fullGc = () => bun.gc(true);
  } else {
    // V8 (Node, Deno): `gc` is exposed only with --expose-gc; a new context made after setting
    // the flag has it (node:v8 setFlagsFromString, node:vm; both in Node and in Deno).
    const exposed = /** @type {{ gc?: () => void }} */ (globalThis).gc;
    if (typeof exposed === "function") fullGc = exposed;
    else {
      v8.setFlagsFromString("--expose-gc");
      fullGc = /** @type {() => void} */ (vm.runInNewContext("gc"));
    }
  }
  return fullGc;
}

/**
 * Runs a full, synchronous garbage collection and returns the JavaScript heap in use after it,
 * in bytes (`process.memoryUsage().heapUsed`: V8's used heap; on Bun, JavaScriptCore's heap size).
 * @returns {number}
 */
export function collectGarbage() {
  const gc = collector();
  // Twice: objects a first pass frees (weak references, finalizers) are reclaimed by the second.
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The message a `/gc` connection gets. @returns {string} */
export function garbageReport() {
  return JSON.stringify({ heapUsed: collectGarbage() });
}
