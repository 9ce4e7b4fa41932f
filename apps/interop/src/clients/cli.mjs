// Shared entry for the client runners: parses `--url ws://127.0.0.1:N [--only a,b]`, runs the
// scenarios with the given WebSocket constructor and prints one JSON line on stdout:
//   { client, runtime, results: [{ name, ok, na?, detail, ms }] }   or   { client, runtime, skipped }
// Progress goes to stderr, one line per scenario. Plain ESM on globals only, so Node, Deno and
// Bun all run it.
import { runScenarios } from "../scenarios.mjs";

/* global Deno, Bun */

function argv() {
  if (globalThis.Deno) return Deno.args;
  return process.argv.slice(2);
}

function exit(code) {
  if (globalThis.Deno) Deno.exit(code);
  else process.exit(code);
}

function writeOut(line) {
  if (globalThis.Deno) {
    Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
    return Promise.resolve();
  }
  return new Promise((resolve) => process.stdout.write(`${line}\n`, () => resolve(undefined)));
}

function writeErr(line) {
  if (globalThis.Deno) Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`));
  else process.stderr.write(`${line}\n`);
}

export function runtimeName() {
  if (globalThis.Deno) return `deno ${Deno.version.deno}`;
  if (globalThis.Bun) return `bun ${Bun.version}`;
  return `node ${process.versions.node}`;
}

/**
 * @param {{
 *   client: string,
 *   load: () => Promise<{ WebSocket?: any, createSocket?: (url: string, protocols?: string[]) => any, skip?: string, note?: string }>,
 * }} spec
 */
export async function clientMain(spec) {
  const args = argv();
  const get = (flag) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const url = get("--url");
  const only = get("--only")?.split(",").filter(Boolean);
  if (!url) {
    writeErr(`usage: <runtime> ${spec.client} --url ws://127.0.0.1:PORT [--only name,name]`);
    exit(2);
    return;
  }
  const runtime = runtimeName();
  let loaded;
  try {
    loaded = await spec.load();
  } catch (error) {
    await writeOut(
      JSON.stringify({
        client: spec.client,
        runtime,
        error: `cannot load the client: ${error instanceof Error ? error.stack : error}`,
      }),
    );
    exit(0);
    return;
  }
  if (loaded.skip) {
    await writeOut(JSON.stringify({ client: spec.client, runtime, skipped: loaded.skip }));
    exit(0);
    return;
  }
  const results = await runScenarios({
    WebSocket: loaded.WebSocket,
    createSocket: loaded.createSocket,
    url,
    only,
    onResult: (r) =>
      writeErr(
        `${spec.client}: ${r.ok ? (r.na ? "n/a " : "ok  ") : "FAIL"} ${r.name} ${r.ms} ms ${r.detail}`,
      ),
  });
  await writeOut(JSON.stringify({ client: spec.client, runtime, note: loaded.note, results }));
  exit(0);
}
