// The CLI: exit codes and result files.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../src/process.mjs";
import { FIXTURES } from "./helpers.mjs";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "autobahn-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** @param {string[]} args */
async function cli(args) {
  try {
    const { stdout } = await run("node", ["apps/autobahn/src/cli.mjs", ...args], {
      cwd: REPO_ROOT,
      timeout: 120_000,
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = /** @type {{ code?: number, stdout?: string, stderr?: string }} */ (err);
    return { code: e.code ?? -1, stdout: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

const common = [
  "--targets-file",
  join(FIXTURES, "targets.ws.json"),
  "--profile",
  "quick",
  "--results-dir",
  dir,
  "--summary",
  join(dir, "RESULTS.md"),
];

describe("cli", () => {
  it("exits 0 and writes JSON, the matrix and the summary when nothing FAILED", async () => {
    const r = await cli(["server", "--target", "ws", "--cases", "1.1.*,2.*", ...common]);
    expect(r.code, r.stdout).toBe(0);
    // A run filtered with --cases is "partial": own file, in the matrix, not in the summary.
    const saved = JSON.parse(readFileSync(join(dir, "server-ws-partial.json"), "utf8"));
    expect(saved.results).toHaveLength(19);
    expect(readFileSync(join(dir, "results.md"), "utf8")).toMatch(/server-ws-partial/);
    expect(readFileSync(join(dir, "RESULTS.md"), "utf8")).toMatch(/No runs recorded/);
  });
  it("exits 1 when a case FAILED", async () => {
    const r = await cli(["server", "--target", "raw-broken", "--cases", "7.9.1", ...common]);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/7\.9\.1\s+FAILED/);
    const matrix = readFileSync(join(dir, "results.md"), "utf8");
    expect(matrix).toMatch(/server-raw-broken-partial/);
    expect(matrix).toMatch(/server-ws-partial/);
  });
  it("runs client mode", async () => {
    const r = await cli(["client", "--target", "ws-client", "--cases", "1.1.*", ...common]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/client-ws-client-partial: 8 cases/);
  });
  it("exits 2 on usage errors", async () => {
    expect((await cli(["sideways"])).code).toBe(2);
    expect((await cli(["server", "--target", "nope", ...common])).code).toBe(2);
    expect((await cli(["server", "--target", "ws-client", ...common])).code).toBe(2);
    expect((await cli(["server", "--targets-file", join(dir, "missing.json")])).code).toBe(2);
  });
});
