#!/usr/bin/env node
// Runs this package's permessage-deflate tests (the codec's extension and the engine contract)
// in headless Chromium with the portable engine:
//   node test/browser/run.mjs        (from packages/deflate; `pnpm test` runs it after vitest)
// The tests are bundled with rolldown (`vitest` → ./vitest-shim.ts, ../engines.ts →
// ../engines.browser.ts: no node:zlib in a browser), loaded into a blank page of the system's
// Chromium (CHROMIUM_PATH, default /usr/bin/chromium; never a downloaded one) with a fresh
// temporary profile, and their outcomes printed. Skipped, with a note, when there is no Chromium.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { build } from "rolldown";

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.log(`browser tests skipped: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  process.exit(0);
}

const bundle = await build({
  input: join(here, "entry.ts"),
  write: false,
  platform: "browser",
  resolve: { conditionNames: ["@ws/source", "import", "browser", "default"] },
  plugins: [
    {
      name: "browser-test-aliases",
      resolveId(source, importer) {
        if (source === "vitest") return join(here, "vitest-shim.ts");
        // The test files are imported for their side effects (registering tests), which the
        // package's `"sideEffects": false` would otherwise let the bundler drop.
        if (source.endsWith(".test.ts") && importer !== undefined)
          return { id: resolve(dirname(importer), source), moduleSideEffects: true };
        if (
          source === "./engines.ts" &&
          importer !== undefined &&
          resolve(dirname(importer)) === resolve(here, "..")
        )
          return join(here, "..", "engines.browser.ts");
        return null;
      },
    },
  ],
  output: { format: "iife" },
});
const code = bundle.output.map((chunk) => ("code" in chunk ? chunk.code : "")).join("\n");

const profile = mkdtempSync(join(tmpdir(), "ws-deflate-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
  ],
});
let failed = 0;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto("about:blank");
  await page.addScriptTag({ content: code });
  const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
  const outcomes = await page.evaluate(() => globalThis.runTests());
  for (const outcome of outcomes) {
    const mark = outcome.status === "passed" ? "✓" : outcome.status === "skipped" ? "↓" : "×";
    console.log(`${mark} ${outcome.name}`);
    if (outcome.status === "failed") {
      failed++;
      console.log(`  ${outcome.error.replaceAll("\n", "\n  ")}`);
    }
  }
  const passed = outcomes.filter((o) => o.status === "passed").length;
  const skipped = outcomes.filter((o) => o.status === "skipped").length;
  console.log(`\nChromium (${version}): ${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (outcomes.length === 0) failed++;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
