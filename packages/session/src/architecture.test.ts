/**
 * ARCHITECTURE.md (at the repository root) stays true to the code: its state diagrams are the
 * output of the tables in the code, and the layering it describes holds (nothing imports upward).
 */
import { transitionsAsMermaid } from "@ws/codec/connection";
import { describe, expect, it } from "vitest";
import { sessionStatesAsMermaid } from "./session/states.ts";

const root = new URL("../../../", import.meta.url);
// Deno's test run of this package has no read permission (`deno test --allow-env src`).
const skip = "Deno" in globalThis;
// This package compiles without Node's types (its portability proof), so node:fs is loaded
// by name, with the two functions used typed here; Node and Bun run this test.
const fsModule: string = "node:fs";
const { readdirSync, readFileSync } = (skip ? {} : await import(fsModule)) as {
  readdirSync(dir: URL, options: { recursive: true }): string[];
  readFileSync(file: URL, encoding: "utf8"): string;
};

/** The module specifiers imported by the library sources (not tests) of `packages/<name>/src`. */
function importsOf(name: string): { file: string; specifier: string }[] {
  const dir = new URL(`packages/${name}/src/`, root);
  const found: { file: string; specifier: string }[] = [];
  for (const file of readdirSync(dir, { recursive: true })) {
    if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
    const text = readFileSync(new URL(file, dir), "utf8");
    for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm))
      found.push({ file, specifier: match[1] as string });
  }
  return found;
}

describe.skipIf(skip)("ARCHITECTURE.md", () => {
  const text = skip ? "" : readFileSync(new URL("ARCHITECTURE.md", root), "utf8");

  it("shows the codec's and the session's state diagrams generated from their tables", () => {
    expect(text).toContain(`\`\`\`mermaid\n${transitionsAsMermaid()}\n\`\`\``);
    expect(text).toContain(`\`\`\`mermaid\n${sessionStatesAsMermaid()}\n\`\`\``);
  });

  it("codec → session → adapters: nothing imports upward, the codec imports nothing", () => {
    const codec = importsOf("codec").filter(({ specifier }) => !specifier.startsWith("."));
    expect(codec).toEqual([]);
    // The scan sees imports at all (the session's of the codec).
    expect(importsOf("session").some(({ specifier }) => specifier === "@ws/codec")).toBe(true);
    const session = importsOf("session").filter(
      ({ specifier }) => specifier.startsWith("node:") || /^@ws\/(node|deno|bun)\b/.test(specifier),
    );
    expect(session).toEqual([]);
    // The engines: the codec and their libraries only; node:zlib only in node-zlib.ts.
    const deflate = importsOf("deflate").filter(
      ({ file, specifier }) =>
        !specifier.startsWith(".") &&
        !specifier.startsWith("@ws/codec") &&
        specifier !== "pako" &&
        !(specifier === "node:zlib" && file === "node-zlib.ts"),
    );
    expect(deflate).toEqual([]);
    expect(importsOf("deflate").some(({ specifier }) => specifier === "pako")).toBe(true);
  });
});
