// Loading one of our adapters (@ws/node, @ws/deno, @ws/bun) for a client runner: a clear skip
// reason when the package does not exist yet or is not built, the load error otherwise.
/* global Deno */

const ROOT = new URL("../../../../", import.meta.url);

function exists(url) {
  try {
    if (globalThis.Deno) {
      Deno.statSync(url);
      return true;
    }
    // Node and Bun: a synchronous check through process.getBuiltinModule (Node >= 20.16, Bun).
    const fs = process.getBuiltinModule("node:fs");
    return fs.existsSync(url);
  } catch {
    return false;
  }
}

function readJson(url) {
  if (globalThis.Deno) return JSON.parse(Deno.readTextFileSync(url));
  return JSON.parse(process.getBuiltinModule("node:fs").readFileSync(url, "utf8"));
}

/** The file an `exports` entry points to for the given conditions (first match wins). */
function pick(entry, conditions) {
  if (typeof entry === "string") return entry;
  if (!entry || typeof entry !== "object") return undefined;
  if ("." in entry) return pick(entry["."], conditions);
  for (const condition of conditions) if (condition in entry) return pick(entry[condition], conditions);
  return undefined;
}

/**
 * @param {string} name   the package name, e.g. "@ws/node"
 * @param {string} folder its folder under packages/, e.g. "node"
 * @param {string[]} conditions export conditions to follow, in order
 * @param {string} [specifier] import this (e.g. the bare package name) once the entry file is
 *   known to exist, instead of the file itself
 * @returns {Promise<{ WebSocket?: any, skip?: string, note?: string }>}
 */
export async function loadOurs(name, folder, conditions, specifier) {
  const dir = new URL(`packages/${folder}/`, ROOT);
  if (!exists(new URL("package.json", dir))) {
    return { skip: `${name} does not exist yet (no packages/${folder}/package.json)` };
  }
  const pkg = readJson(new URL("package.json", dir));
  // Deno reads deno.json / jsr.json exports first (TypeScript source); others package.json's.
  let target;
  if (globalThis.Deno) {
    for (const file of ["deno.json", "deno.jsonc", "jsr.json"]) {
      if (exists(new URL(file, dir))) {
        try {
          target = pick(readJson(new URL(file, dir)).exports, ["."]);
        } catch {
          // jsonc with comments: fall through to package.json
        }
        if (target) break;
      }
    }
  }
  target ??= pick(pkg.exports, conditions) ?? pkg.module ?? pkg.main;
  if (!target)
    return { skip: `${name}: no entry point for conditions ${conditions.join(", ")} in its package.json` };
  const file = new URL(target, dir);
  if (!exists(file)) {
    return {
      skip: `${name} is not built (${target} is missing under packages/${folder}): run \`pnpm --filter ${name} build\``,
    };
  }
  const mod = await import(specifier ?? file.href);
  if (typeof mod.WebSocket !== "function") throw new Error(`${name} (${target}) exports no WebSocket class`);
  return { WebSocket: mod.WebSocket, note: `${name} ${pkg.version} (${target})` };
}
