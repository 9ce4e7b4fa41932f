import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@ws/source"] },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Property and fuzz suites run for seconds; a timeout here only catches hangs. Keep it in
    // step with `bun test --timeout` in package.json (deno test has no per-test timeout).
    testTimeout: 60_000,
  },
});
