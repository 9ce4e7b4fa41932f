import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    // The tests start the targets and redis-server as real processes (loopback only).
    testTimeout: 150_000,
    hookTimeout: 30_000,
  },
});
