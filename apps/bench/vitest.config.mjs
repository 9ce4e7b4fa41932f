import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    // The smoke test starts real processes and speaks to them over loopback TCP.
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
