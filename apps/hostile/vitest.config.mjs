import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    // The quick patterns start a real server process and attack it over loopback TCP.
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
