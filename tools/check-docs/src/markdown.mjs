// Extracts the fenced code blocks of a Markdown file (CommonMark fences: ``` or ~~~, indented up
// to three spaces or inside list items), with the info string split into a language and tags,
// and the directives of an HTML comment on the line(s) right above the fence:
//
//   <!-- check-docs: skip (why) -->                 not checked (the reason is required)
//   <!-- check-docs: prelude `declare const socket: import("node:net").Socket;` -->
//                                                   code prepended when checking (hidden context)
//
// Tags after the language: `run` (run the block after checking it), `deno` / `bun` / `node`
// (the runtime, when the imports do not say).

/**
 * @typedef {{ file: string, line: number, lang: string, tags: string[], code: string,
 *   prelude: string, skip: string | undefined }} CodeBlock
 */

const FENCE = /^( {0,3}|\s*(?:[-*+]|\d+[.)])?\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/;
const DIRECTIVE = /<!--\s*check-docs:\s*(skip|prelude)\s*(.*?)\s*-->/g;

/**
 * @param {string} file a path for messages
 * @param {string} text the Markdown
 * @returns {CodeBlock[]}
 */
export function codeBlocks(file, text) {
  const lines = text.split("\n");
  /** @type {CodeBlock[]} */
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? "");
    if (open === null) continue;
    const indent = (open[1] ?? "").length;
    const fence = open[2] ?? "```";
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? "";
      if (
        line.trim().startsWith(fence[0]?.repeat(fence.length) ?? fence) &&
        line.trim().replace(/[`~]/g, "") === ""
      )
        break;
      body.push(line.slice(Math.min(indent, line.length - line.trimStart().length)));
    }
    let prelude = "";
    /** @type {string | undefined} */
    let skip;
    for (let k = i - 1; k >= 0 && (lines[k] ?? "").trim().startsWith("<!--"); k--) {
      for (const match of (lines[k] ?? "").matchAll(DIRECTIVE)) {
        const argument = match[2] ?? "";
        if (match[1] === "skip") skip = argument.replace(/^\(|\)$/g, "") || "";
        else prelude += `${argument.replace(/^`|`$/g, "")}\n`;
      }
    }
    blocks.push({
      file,
      line: i + 1,
      lang: (open[3] ?? "").toLowerCase(),
      tags: (open[4] ?? "").split(/[\s,]+/).filter(Boolean),
      code: body.join("\n"),
      prelude,
      skip,
    });
    i = j;
  }
  return blocks;
}
