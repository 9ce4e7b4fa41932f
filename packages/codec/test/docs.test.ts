/**
 * Every exported symbol of every entry point carries TSDoc: `deno doc --lint` (the same rules
 * JSR applies) finds no missing documentation and no private types in public signatures.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";

const here = new URL("..", import.meta.url).pathname;
const deno = new URL("../../../node_modules/.bin/deno", import.meta.url).pathname;
const entries = [
  "index",
  "frame/index",
  "handshake/index",
  "message/index",
  "close/index",
  "connection/index",
  "extensions/index",
];
// Deno's test runner here has no permission to run processes; Node and Bun run this check.
const skip = "Deno" in globalThis || !existsSync(deno);

describe("documentation", () => {
  it.skipIf(skip)(
    "deno doc --lint finds no undocumented export",
    () => {
      let output = "";
      try {
        output = execFileSync(deno, ["doc", "--lint", ...entries.map((e) => `src/${e}.ts`)], {
          cwd: here,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, NO_COLOR: "1" },
        });
      } catch (error) {
        const failure = error as { stdout?: string; stderr?: string };
        output = `${failure.stdout ?? ""}${failure.stderr ?? ""}`;
      }
      expect(output.split("\n").filter((line) => line.startsWith("error"))).toEqual([]);
    },
    120_000,
  );
});
