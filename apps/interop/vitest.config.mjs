import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    // Real processes over loopback TCP, one server × client pair at a time.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
