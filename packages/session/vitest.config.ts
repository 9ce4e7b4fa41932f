import { defineConfig } from "vitest/config";

export default defineConfig({
  // Test the sources of the workspace packages, never a stale dist (`ssr` is the Node environment).
  resolve: { conditions: ["@ws/source"] },
  ssr: { resolve: { conditions: ["@ws/source", "node"] } },
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
