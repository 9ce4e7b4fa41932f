import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    setupFiles: ["test/setup.mjs"],
    // The runs below start real processes and speak to them over loopback TCP.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
