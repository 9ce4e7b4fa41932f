// End to end: the demo server as `pnpm start` runs it (a child process, PORT=0), two headless
// Chromium pages (tools/test-support/chromium.mjs: Debian's /usr/bin/chromium, no browser download):
// join, presence, a message across, live counts, then a server restart and the pages
// reconnecting by themselves. Skipped only where /usr/bin/chromium is missing.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis } from "../../../packages/redis/test/redis-server.ts";
import { chromiumMissing, launchChromium } from "../../../tools/test-support/chromium.mjs";

const missingChromium = chromiumMissing();
const hasChromium = missingChromium === undefined;
const SERVER = fileURLToPath(new URL("../src/server.mjs", import.meta.url));
const RESULTS = fileURLToPath(new URL("../test-results/", import.meta.url));

if (!hasChromium) {
  console.warn(`demo.e2e: skipped: ${missingChromium}`);
}

/**
 * Starts `node src/server.mjs` with PORT=port and resolves with its URL once it prints its line.
 * @param {number} port
 * @param {string[]} [args]
 */
function startServer(port, args = []) {
  const child = spawn(process.execPath, [SERVER, ...args], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start in time:\n${output}`)), 20_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /Chat demo listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return {
    child,
    url,
    exited,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

describe.skipIf(!hasChromium)("chat demo in Chromium", () => {
  /** @type {Awaited<ReturnType<typeof launchChromium>>} */
  let browser;
  /** @type {ReturnType<typeof startServer>} */
  let server;
  /** @type {string} */
  let url;

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    server = startServer(0);
    url = await server.url;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page in its own context (own localStorage), joined to `room` as `nick` on `base`. */
  async function joinedPage(nick, room, base = url) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const page = await context.newPage();
    const problems = [];
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      // The browser logs failed WebSocket connections while the server is down: expected.
      if (message.type() === "error" && !/WebSocket connection/.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
    await page.goto(`${base}/`);
    await page.locator('#conn[data-state="open"]').waitFor();
    await page.fill("#nick", nick);
    await page.fill("#room", room);
    await page.click("#join");
    await expectText(page, "#room-title", `#${room}`);
    await page.locator("#text:enabled").waitFor();
    return { page, problems };
  }

  /** Waits until `selector`'s text is `text` (or matches it). */
  async function expectText(page, selector, text) {
    const locator = page.locator(selector);
    await locator.first().waitFor();
    await expect
      .poll(async () => (await locator.allTextContents()).join("|"), { timeout: 15_000 })
      .toMatch(
        typeof text === "string" ? new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : text,
      );
  }

  async function say(page, text) {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }

  it("two pages chat in one room, see each other, count messages, and survive a server restart", async () => {
    const ada = await joinedPage("ada", "e2e-room");
    const bob = await joinedPage("bob", "e2e-room");

    // Presence: both see both; ada saw bob arrive.
    for (const { page } of [ada, bob]) await expectText(page, "#members .name", /^ada.*\|bob.*$/);
    await expectText(ada.page, "#member-count", "2");
    await expect
      .poll(() => ada.page.locator(".notice.join").allTextContents())
      .toContain("bob joined #e2e-room");

    // A message across, and the counts move on both pages.
    await say(ada.page, "Hello from ada, ça va?");
    await expectText(bob.page, ".msg .text", "Hello from ada, ça va?");
    await expectText(bob.page, ".msg .nick", "ada");
    await expectText(ada.page, ".msg.mine .text", "Hello from ada, ça va?");
    for (const { page } of [ada, bob]) {
      await expectText(page, "#room-count", "1");
      await expectText(page, "#total-count", "1");
    }
    await say(bob.page, "Hi ada! Welcome to #e2e-room.");
    await expectText(ada.page, ".msg .text", "Hello from ada, ça va?|Hi ada! Welcome to #e2e-room.");
    await expectText(ada.page, "#room-count", "2");
    await expectText(ada.page, "#rooms li", /#e2e-room\s*2 here · 2 msg/);
    await ada.page.screenshot({ path: `${RESULTS}chat.png` });

    // Restart the server on the same port: both pages see the drop (1001 Going Away) and
    // wait with backoff, then reconnect and rejoin by themselves.
    const port = new URL(url).port;
    const stopped = await server.stop();
    expect(stopped).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/SIGTERM: closing every connection/);
    for (const { page } of [ada, bob]) {
      await page.locator('#conn[data-state="waiting"]').waitFor({ timeout: 10_000 });
      await expect
        .poll(() => page.locator(".notice.bad").allTextContents())
        .toContainEqual(expect.stringMatching(/Disconnected \(closed 1001: server shutting down\)/));
      await expect.poll(() => page.locator("#text").isDisabled()).toBe(true);
    }
    await bob.page.screenshot({ path: `${RESULTS}chat-offline.png` });

    server = startServer(Number(port));
    expect(await server.url).toBe(url);
    for (const { page } of [ada, bob]) {
      await page.locator('#conn[data-state="open"]').waitFor({ timeout: 20_000 });
      await expectText(page, "#conn-text", "Connected");
      await expect.poll(() => page.locator(".notice.good").allTextContents()).toContain("Reconnected.");
      await expectText(page, "#members .name", /^ada.*\|bob.*$/);
      await page.locator("#text:enabled").waitFor();
    }

    // Chat again: the new server counts from zero; the old messages stay on the pages.
    await say(bob.page, "Back again");
    await expectText(
      ada.page,
      ".msg .text",
      "Hello from ada, ça va?|Hi ada! Welcome to #e2e-room.|Back again",
    );
    await expectText(ada.page, "#room-count", "1");
    await expectText(bob.page, "#total-count", "1");

    expect([...ada.problems, ...bob.problems]).toEqual([]);
  });

  it("a page whose connection drops (server still up) reconnects and rejoins", async () => {
    const cy = await joinedPage("cy", "solo");
    const dee = await joinedPage("dee", "solo");
    await expectText(dee.page, "#members .name", /^cy.*\|dee.*$/);
    // Drop cy's socket under the page (the page does not know who closed it).
    await cy.page.evaluate(() =>
      /** @type {any} */ (globalThis).chatDemo.socket.close(4000, "dropped by the test"),
    );
    await expect
      .poll(() => dee.page.locator(".notice").allTextContents())
      .toEqual(expect.arrayContaining(["cy left #solo", "cy joined #solo"]));
    await cy.page.locator('#conn[data-state="open"]').waitFor();
    await cy.page.locator("#text:enabled").waitFor();
    await say(cy.page, "still here");
    await expectText(dee.page, ".msg .text", "still here");
    expect([...cy.problems, ...dee.problems]).toEqual([]);
  });
  it("two pages on two server processes (--redis) share a room: a message typed in one appears in the other", async () => {
    const redis = await startRedis();
    const servers = [startServer(0, ["--redis", redis.url]), startServer(0, ["--redis", redis.url])];
    try {
      const [one, two] = await Promise.all(servers.map((each) => each.url));
      expect(one).not.toBe(two);
      const eve = await joinedPage("eve", "across", one);
      const fay = await joinedPage("fay", "across", two);
      await say(eve.page, "Hello from the first process");
      await expectText(fay.page, ".msg .text", "Hello from the first process");
      await expectText(fay.page, ".msg .nick", "eve");
      await say(fay.page, "And back from the second");
      await expectText(eve.page, ".msg .text", "Hello from the first process|And back from the second");
      await fay.page.screenshot({ path: `${RESULTS}chat-two-processes.png` });
      expect([...eve.problems, ...fay.problems]).toEqual([]);
    } finally {
      await Promise.all(servers.map((each) => each.stop()));
      await redis.stop();
    }
  });
});
