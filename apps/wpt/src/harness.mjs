// Runs one WPT .any.js file (one variant) in this process, with testharness.js from the WPT
// checkout, against one WebSocket implementation, and prints the results as one line:
//   WPT-RESULT {"status":…,"tests":[{"name":…,"status":…,"message":…}],"errors":[…]}
// Started by cli.mjs on Node, Deno or Bun:
//   <runtime> harness.mjs --impl ours|native --wpt DIR --file websockets/X.any.js
//     --page URL --ws-port N --wss-port N [--timeout MS]
// The page URL (with the variant as its query) is the test's `location`; on Deno it is also
// given with --location, so that it is the runtime's own API base URL.
/* global Deno, Bun */

const args = {};
const argv = globalThis.Deno ? Deno.args : process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, "")] = argv[i + 1];

const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";

function readText(path) {
  if (globalThis.Deno) return Deno.readTextFileSync(path);
  return process.getBuiltinModule("node:fs").readFileSync(path, "utf8");
}

function exit(code) {
  if (globalThis.Deno) Deno.exit(code);
  else process.exit(code);
}

/** The implementation under test: our adapter for this runtime, or the runtime's own class. */
async function loadImplementation(impl) {
  if (impl === "native") return { WebSocket: globalThis.WebSocket, CloseEvent: globalThis.CloseEvent };
  const entry = {
    node: "@ws/node",
    deno: new URL("../../../packages/deno/src/mod.ts", import.meta.url).href,
    bun: new URL("../../../packages/bun/src/index.ts", import.meta.url).href,
  }[runtime];
  const module = await import(entry);
  return { WebSocket: module.WebSocket, CloseEvent: module.CloseEvent ?? globalThis.CloseEvent };
}

/** wptserve's `sub` pipe, for the substitutions the websockets/ files use. */
function substitute(source) {
  return source
    .replaceAll("{{host}}", "127.0.0.1")
    .replaceAll("{{ports[ws][0]}}", args["ws-port"])
    .replaceAll("{{ports[wss][0]}}", args["wss-port"])
    .replaceAll("{{ports[h2][0]}}", args["wss-port"]);
}

/**
 * The scripts of a test file: its `// META: script=` entries, then the file. Older files ask
 * for `constants.js?pipe=sub` (a stale copy that hard-codes ports 80/443); that name is served
 * from its successor, constants.sub.js.
 */
function scriptsOf(file) {
  const source = readText(`${args.wpt}/${file}`);
  const dir = file.slice(0, file.lastIndexOf("/") + 1);
  const scripts = [];
  for (const match of source.matchAll(/^\/\/ META: script=(\S+)/gm)) {
    let name = match[1];
    if (name === "constants.js?pipe=sub") name = "constants.sub.js";
    const path = name.startsWith("/") ? name.slice(1) : dir + name.replace(/\?.*$/, "");
    const text = readText(`${args.wpt}/${path}`);
    scripts.push(path.includes(".sub.") || name.includes("pipe=sub") ? substitute(text) : text);
  }
  scripts.push(source);
  return scripts;
}

const errors = [];
function recordError(error) {
  errors.push(String(error?.stack ?? error));
}
if (globalThis.Deno) {
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    recordError(event.error ?? event.message);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    recordError(event.reason);
  });
} else {
  process.on("uncaughtException", recordError);
  process.on("unhandledRejection", recordError);
}

const implementation = await loadImplementation(args.impl);
globalThis.self = globalThis;
// As WebIDL defines an interface object on the global: writable, configurable, not enumerable.
for (const name of ["WebSocket", "CloseEvent"]) {
  if (implementation[name] !== undefined) {
    Object.defineProperty(globalThis, name, {
      value: implementation[name],
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}
// idlharness decides which interfaces are exposed from the global object's kind; Deno's is a
// `Window`, Node's and Bun's are of no kind it knows: let them count as one too (the
// websockets IDL is exposed on Window and Worker alike).
if (!("Window" in globalThis)) {
  Object.defineProperty(globalThis, "Window", {
    value: function Window() {},
    configurable: true,
    writable: true,
  });
}
if (!globalThis.Deno) {
  // Node and Bun have no `location`; a URL has every member the files read.
  Object.defineProperty(globalThis, "location", { value: new URL(args.page), configurable: true });
  // idlharness fetches /interfaces/*.idl relative to the page.
  const fetch = globalThis.fetch;
  globalThis.fetch = (input, init) =>
    fetch(typeof input === "string" ? new URL(input, args.page) : input, init);
}

// One script, as the page's <script> elements share one global lexical scope (`const` in
// constants.sub.js is read by the test file).
const harness = readText(`${args.wpt}/resources/testharness.js`);
const prelude = [
  harness,
  // testharness.js of 2020 (the era of most websockets/*.any.js) had assert_throws(code, …);
  // newer ones call it assert_throws_dom and still accept the legacy code names.
  "if (typeof assert_throws === 'undefined') var assert_throws = assert_throws_dom;",
  "add_completion_callback(globalThis.__wptDone);",
];

globalThis.__wptDone = (tests, status) => {
  const result = {
    status: status.status,
    message: status.message ?? null,
    tests: tests.map((test) => ({ name: test.name, status: test.status, message: test.message ?? null })),
    errors,
  };
  const line = `WPT-RESULT ${JSON.stringify(result)}\n`;
  if (globalThis.Deno) {
    Deno.stdout.writeSync(new TextEncoder().encode(line));
    exit(0);
  } else {
    process.stdout.write(line, () => exit(0));
  }
};

setTimeout(
  () => {
    // Shell environments have no harness timeout: end the file here (unfinished tests TIMEOUT).
    globalThis.timeout();
  },
  Number(args.timeout ?? 10000),
);

try {
  // biome-ignore lint/security/noGlobalEval: testharness.js and the WPT files are classic scripts sharing one global scope, as a page's <script> elements do.
  globalThis.eval([...prelude, ...scriptsOf(args.file)].join("\n;\n"));
} catch (error) {
  recordError(error);
  // A script error ends the file, as an uncaught error does in a browser page.
  if (typeof globalThis.done === "function") globalThis.done();
}
