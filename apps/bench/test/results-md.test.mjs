// RESULTS.md sections: each run rewrites its own and keeps the others.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { demoteHeadings, splitSections, writeResultsSection } from "../src/results-md.mjs";
import { analyse } from "../src/soak.mjs";

describe("RESULTS.md sections", () => {
  const dir = mkdtempSync(join(tmpdir(), "ws-bench-md-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the other sections when one is rewritten", () => {
    const file = join(dir, "RESULTS.md");
    writeFileSync(file, "# Main\n\nold main\n");
    writeResultsSection("soak", "## Soak\n\nfirst", file);
    writeResultsSection("deflate", "## Deflate\n\nd1", file);
    writeResultsSection("soak", "## Soak\n\nsecond", file);
    writeResultsSection("main", "# Main\n\nnew main", file);
    const text = readFileSync(file, "utf8");
    expect(splitSections(text)).toEqual({
      main: "# Main\n\nnew main",
      deflate: "## Deflate\n\nd1",
      soak: "## Soak\n\nsecond",
    });
    expect(text.indexOf("new main")).toBeLessThan(text.indexOf("d1"));
    expect(text.indexOf("d1")).toBeLessThan(text.indexOf("second"));
  });

  it("demotes headings", () => {
    expect(demoteHeadings("# A\ntext\n## B")).toBe("## A\ntext\n### B");
  });
});

describe("soak trend", () => {
  it("calls a flat series flat and a growing one growing", () => {
    const flat = [0, 1, 2, 3, 4, 5, 6].map((i) => ({
      messages: i * 100_000,
      rssKiB: 80_000 + (i % 2) * 300,
    }));
    expect(analyse(flat, 100_000)?.verdict).toBe("flat");
    const growing = [0, 1, 2, 3, 4, 5, 6].map((i) => ({ messages: i * 100_000, rssKiB: 80_000 + i * 5_000 }));
    const t = analyse(growing, 100_000);
    expect(t?.verdict).toBe("grows");
    expect(t?.slopeKiBPer100k).toBeCloseTo(5_000);
  });
});
