import { defineConfig } from "vitest/config";

export default defineConfig({
  // Test the sources of the workspace packages, never a stale dist (`ssr` is the Node environment).
  resolve: { conditions: ["@ws/source"] },
  ssr: { resolve: { conditions: ["@ws/source", "node"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Property suites run for seconds; a timeout here only catches hangs. Keep it in step with
    // `bun test --timeout` in package.json (deno test has no per-test timeout).
    testTimeout: 60_000,
  },
});
