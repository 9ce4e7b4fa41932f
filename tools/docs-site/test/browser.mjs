#!/usr/bin/env node
// Opens the built site (site/) in headless Chromium (tools/test-support/chromium.mjs:
// Debian's /usr/bin/chromium, a fresh profile per run, no browser download), served from a loopback
// port: the home page, every guide, the API pages of the main classes and the hierarchy load
// without a script error, a console error or a failed request, the navigation is drawn, and the
// search finds WebSocketServer.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumMissing, launchChromium } from "../../test-support/chromium.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const site = join(root, "site");
const missing = chromiumMissing();
if (missing !== undefined) {
  // Skipped, not passed: say so loudly.
  console.log(`docs-site browser test: skipped: ${missing}`);
  console.log("ok | 0 passed | 0 failed | 1 ignored"); // read by tools/test-summary.mjs
  process.exit(0);
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
const server = createServer((request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
  // The site has no favicon; the browser asks for one anyway.
  if (path === "/favicon.ico") {
    response.writeHead(204).end();
    return;
  }
  const file = join(site, path.endsWith("/") ? `${path}index.html` : path);
  if (!file.startsWith(site) || !existsSync(file)) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  response.end(readFileSync(file));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/`;

const pages = [
  "index.html",
  "modules.html",
  "hierarchy.html",
  ...readdirSync(join(site, "documents")).map((name) => `documents/${name}`),
  "classes/_ws_node.WebSocketServer.html",
  "classes/_ws_session.WebSocket.html",
  "classes/_ws_codec.index.Connection.html",
  "classes/_ws_deno.WebSocketServer.html",
  "classes/_ws_bun.WebSocketServer.html",
];

const browser = await launchChromium();
const problems = [];
try {
  const page = await browser.newPage();
  /** @type {string[]} */
  let errors = [];
  page.on("pageerror", (error) => errors.push(`script error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
  page.on("response", (response) => {
    if (response.status() >= 400) errors.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  for (const path of pages) {
    errors = [];
    if (!existsSync(join(site, path))) {
      problems.push(`${path}: missing from the site`);
      continue;
    }
    await page.goto(base + path, { waitUntil: "load" });
    const title = (await page.locator("h1").first().textContent())?.trim() ?? "";
    // The navigation tree is drawn by the site's script from its data.
    await page.waitForFunction(
      () => document.querySelectorAll(".site-menu a, .tsd-navigation a").length > 5,
      null,
      {
        timeout: 10_000,
      },
    );
    if (title === "") errors.push("no h1");
    for (const error of errors) problems.push(`${path}: ${error}`);
    console.log(`${errors.length === 0 ? "✓" : "✗"} ${path}: "${title}"`);
  }
  // The search (index built by TypeDoc, loaded by the page's script).
  await page.goto(`${base}index.html`, { waitUntil: "load" });
  await page.locator("#tsd-search-trigger, #tsd-search-field, [aria-label='Search']").first().click();
  await page.keyboard.type("WebSocketServer");
  const results = page.locator("#tsd-search-results li, .results li");
  await results.first().waitFor({ timeout: 10_000 });
  const found = await results.allTextContents();
  if (!found.some((text) => text.includes("WebSocketServer")))
    problems.push(`search: ${JSON.stringify(found)}`);
  else console.log(`✓ search "WebSocketServer": ${found.length} results`);
} catch (error) {
  problems.push(error instanceof Error ? error.message : String(error));
} finally {
  await browser.close();
  server.close();
}
// The closing line tools/test-summary.mjs reads (deno test's format): one test per page, plus the search.
const failedPages = new Set(problems.map((problem) => problem.split(":")[0]));
const result = `${Math.max(0, pages.length + 1 - failedPages.size)} passed | ${failedPages.size} failed`;
if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.log(`FAILED | ${result}`);
  process.exit(1);
}
console.log(`ok | ${result}`);
