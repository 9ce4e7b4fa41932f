#!/usr/bin/env node
// Runs this package's permessage-deflate tests (the codec's extension and the engine contract)
// in headless Chromium with the portable engine:
//   node test/browser/run.mjs        (from packages/deflate; `pnpm test` runs it after vitest)
// The tests are bundled with rolldown (`vitest` → ./vitest-shim.ts, ../engines.ts →
// ../engines.browser.ts: no node:zlib in a browser), loaded into a blank page of the system's
// Chromium (tools/test-support/chromium.mjs: CHROMIUM_PATH, default /usr/bin/chromium; never a
// downloaded one; a fresh temporary profile), and their outcomes printed. Skipped, with a note,
// when there is no Chromium.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";
import { chromiumMissing, launchChromium } from "../../../../tools/test-support/chromium.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const missing = chromiumMissing();
if (missing !== undefined) {
  console.log(`browser tests skipped: ${missing}`);
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

const browser = await launchChromium();
let failed = 0;
try {
  const page = await browser.newPage();
  await page.goto("about:blank");
  await page.addScriptTag({ content: code });
  const version = browser.version();
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
  await browser.close();
}
process.exit(failed === 0 ? 0 : 1);
