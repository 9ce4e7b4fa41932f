/**
 * Every TypeScript code block of the pub/sub documentation (the READMEs of @ws/session, the
 * three adapters and this package) is type-checked as a module against the built packages,
 * so an example cannot drift from the API.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const here = new URL("..", import.meta.url);
const READMES = ["session", "node", "deno", "bun", "redis"];

/** The ```ts blocks of a Markdown text. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
}

describe("README code blocks", () => {
  it("type-check against the packages' published types", () => {
    const dir = new URL(".tmp/readme/", here);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const name of READMES) {
      const markdown = readFileSync(new URL(`../${name}/README.md`, here), "utf8");
      codeBlocks(markdown).forEach((code, i) => {
        const file = `${name}-${i + 1}.ts`;
        writeFileSync(new URL(file, dir), `export {};\n${code}`);
        files.push(file);
      });
    }
    expect(files.filter((file) => file.startsWith("session-")).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((file) => file.startsWith("redis-")).length).toBeGreaterThanOrEqual(1);
    writeFileSync(
      new URL("tsconfig.json", dir),
      JSON.stringify({
        extends: "../../../../tsconfig.base.json",
        // The published types (dist/), as a user sees them, not the sources.
        compilerOptions: { noEmit: true, types: ["node"], lib: ["ES2022", "DOM"], customConditions: [] },
        files,
      }),
    );
    const tsc = new URL("node_modules/typescript/bin/tsc", here).pathname;
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", new URL("tsconfig.json", dir).pathname], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string };
      output = `${failure.stdout ?? ""}${failure.stderr ?? ""}`;
    }
    expect(output).toBe("");
  }, 120_000);
});
