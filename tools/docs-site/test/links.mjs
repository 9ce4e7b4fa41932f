#!/usr/bin/env node
// Checks the built site (site/, from `pnpm run docs`): every page of the guides in docs/ is there,
// and every relative link and resource (href, src) of every HTML page resolves to a file, and
// its #fragment to an element with that id in the target. External links are listed, not
// fetched (the tests run offline).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const site = join(root, "site");

/** @param {string} dir @returns {string[]} */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

if (!existsSync(join(site, "index.html"))) {
  console.error(`no site at ${site}: run pnpm run docs first`);
  process.exit(1);
}

const problems = [];
const all = files(site);
const pages = all.filter((file) => file.endsWith(".html"));

// Each guide is a page of the site (TypeDoc names it after its title).
const documents = all.filter((file) => file.includes(`${join(site, "documents")}/`));
const guides = readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md"));
if (documents.length < guides.length) {
  problems.push(`site/documents has ${documents.length} pages for ${guides.length} guides in docs/`);
}

/** @type {Map<string, string>} */
const texts = new Map();
const textOf = (file) => {
  let text = texts.get(file);
  if (text === undefined) {
    text = readFileSync(file, "utf8");
    texts.set(file, text);
  }
  return text;
};

let checked = 0;
const external = new Set();
for (const page of pages) {
  const html = textOf(page);
  for (const match of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
    const link = (match[1] ?? "").replaceAll("&amp;", "&");
    if (link === "" || link === "#") continue;
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
      if (/^https?:/i.test(link)) external.add(link);
      continue;
    }
    checked++;
    const [pathAndQuery = "", fragment] = link.split("#");
    const path = decodeURIComponent(pathAndQuery.split("?")[0] ?? "");
    const target = path === "" ? page : join(dirname(page), path);
    const where = relative(site, page);
    if (!existsSync(target) || statSync(target).isDirectory()) {
      problems.push(`${where}: broken link ${link}`);
      continue;
    }
    // hierarchy.html draws its tree with a script, from data: its ids do not exist in the file.
    const scripted = target === join(site, "hierarchy.html");
    if (fragment !== undefined && fragment !== "" && /\.(html|svg)$/.test(target) && !scripted) {
      const id = decodeURIComponent(fragment);
      const text = textOf(target);
      if (!text.includes(`id="${id}"`) && !text.includes(`name="${id}"`)) {
        problems.push(`${where}: ${link}: no element with id "${id}" in ${relative(site, target)}`);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`\n${problems.length} broken link(s) in ${pages.length} pages`);
  console.log("FAILED | 0 passed | 1 failed"); // read by tools/test-summary.mjs
  process.exit(1);
}
console.log("ok | 1 passed | 0 failed"); // read by tools/test-summary.mjs: the link check
console.log(
  `${pages.length} pages, ${checked} relative links and resources resolve; ${external.size} external links (not fetched offline)`,
);
