import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    // The quick patterns start a real server process and attack it over loopback TCP.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // One file at a time: each attacks or soaks a real server, and the fresh-echo checks of one
    // must not measure the load of another.
    fileParallelism: false,
  },
});
