import { defineConfig } from "vitest/config";

export default defineConfig({
  // Fuzz the sources of the workspace packages, never a stale dist (`ssr` is the Node environment).
  resolve: { conditions: ["@ws/source"] },
  ssr: { resolve: { conditions: ["@ws/source", "node"] } },
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000 },
});
