/** The README's code that is kept in test/examples (type-checked there) cannot drift from it. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

function between(text: string, begin: string, end: string): string {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start === -1 || stop === -1) throw new Error(`markers ${begin} / ${end} not found`);
  return text.slice(start + begin.length, stop).trim();
}

describe("README", () => {
  it("shows test/examples/http2-readme.ts as its HTTP/2 example", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const example = readFileSync(new URL("./examples/http2-readme.ts", import.meta.url), "utf8");
    expect(readme).toContain(`\`\`\`ts\n${between(example, "// README:BEGIN", "// README:END")}\n\`\`\``);
  });
});
