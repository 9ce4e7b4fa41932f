import { defineConfig } from "vitest/config";

export default defineConfig({
  // Test the sources of the workspace packages, never a stale dist (`ssr` is the Node environment).
  resolve: { conditions: ["@ws/source"] },
  ssr: { resolve: { conditions: ["@ws/source", "node"] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 20000,
    hookTimeout: 20000,
    // Type tests (`*.test-d.ts`): `tsc` checks them with tsconfig.json, a type regression fails.
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"], tsconfig: "tsconfig.json" },
  },
});
