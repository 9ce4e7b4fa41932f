import { defineConfig } from "vitest/config";

export default defineConfig({
  // Test the sources of the workspace packages, never a stale dist (`ssr` is the Node environment).
  resolve: { conditions: ["@ws/source"] },
  ssr: { resolve: { conditions: ["@ws/source", "node"] } },
  // Each test starts (and some restart) a redis-server.
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000 },
});
