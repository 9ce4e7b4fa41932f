// Replaces a generated section of the root README.md, between the markers
//   <!-- NAME:start -->  and  <!-- NAME:end -->
// so that tables produced by test runs (the interop matrix, the conformance summary) appear in
// the README and are regenerated, not edited by hand. Missing markers: nothing is written.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const README = join(dirname(fileURLToPath(import.meta.url)), "..", "README.md");

/**
 * @param {string} name the marker name
 * @param {string} markdown the new content of the section
 * @returns {boolean} whether the README was changed
 */
export function replaceReadmeSection(name, markdown) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = readFileSync(README, "utf8");
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) return false;
  const next = `${text.slice(0, from + start.length)}\n${markdown.trim()}\n${text.slice(to)}`;
  if (next === text) return false;
  writeFileSync(README, next);
  return true;
}

/**
 * The first Markdown table in `markdown` (consecutive lines starting with `|`).
 * @param {string} markdown
 * @returns {string}
 */
export function firstTable(markdown) {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.startsWith("|"));
  if (start === -1) return "";
  let end = start;
  while (end < lines.length && lines[end]?.startsWith("|")) end++;
  return lines.slice(start, end).join("\n");
}
