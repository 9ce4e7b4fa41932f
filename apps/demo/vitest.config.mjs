import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    // The tests start the demo server (a child process or in process) and headless Chromium.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
