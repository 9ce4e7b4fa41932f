/**
 * Issue 12, "Never crash": the careless program of `tools/test-support/careless.ts` (unawaited
 * `ping()` while the peer leaves by FIN and by RST, `ping()` after close, unawaited failing
 * `connect()`/`opened`/`sendStream()`, throwing listeners on both sides) runs on Bun in a child
 * process and must exit 0.
 */
import { expect, it } from "bun:test";
import { fileURLToPath } from "node:url";

it("careless code does not crash the process", async () => {
  const child = Bun.spawn(
    [
      process.execPath,
      "--conditions=@ws/source",
      fileURLToPath(new URL("../../../tools/test-support/careless.ts", import.meta.url)),
      fileURLToPath(new URL("../src/index.ts", import.meta.url)),
    ],
    { cwd: fileURLToPath(new URL("..", import.meta.url)), stdout: "pipe", stderr: "pipe" },
  );
  const timer = setTimeout(() => child.kill(), 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  expect(stderr).not.toMatch(/unhandled/i);
  expect(stdout).toContain("careless: ok");
  expect(code).toBe(0);
  expect(stderr).toContain("LISTENER_ERROR");
});
