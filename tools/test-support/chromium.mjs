// @ts-self-types="./chromium.d.mts"
// Headless Chromium for the browser tests and the interop matrix, launched in one place:
// Debian's /usr/bin/chromium (CHROMIUM_PATH names another; never a browser that playwright-core
// would download) driven by playwright-core, with a fresh temporary profile per launch
// (`launch()` makes one and deletes it on close) and the flags that keep it off the network and
// quiet on a shared machine. Plain JavaScript so that scripts run by Node without a build (the
// deflate package's browser tests, the docs site's test) use it too; its types are in
// chromium.d.mts.
import { existsSync } from "node:fs";

/** The Chromium binary: `CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why there is no Chromium to run (for a test's skip reason), or undefined when there is one. */
export function chromiumMissing() {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium, e.g. apt-get install -y chromium, or set CHROMIUM_PATH)`;
}

/**
 * The flags of every launch: no sandbox (tests run as root in containers), no GPU, and none of
 * the browser's own network traffic (QUIC, sync, background requests, component updates).
 */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-sync",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

/**
 * Launches headless Chromium with a fresh profile; `args` are added to the common flags (for
 * example `--ignore-certificate-errors`). Close the browser when done: that also deletes the
 * profile.
 * @param {readonly string[]} [args]
 */
export async function launchChromium(args = []) {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...FLAGS, ...args] });
}
