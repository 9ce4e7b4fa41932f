// The interop matrix: every echo server (ours from apps/echo/targets.json, the references from
// apps/interop/targets.json) × every client (ours, ws, Node 24, Deno, Bun, Chromium), the same
// scenarios for each pair, one pair at a time. Writes apps/interop/MATRIX.md after a full run
// and apps/interop/results/last-run.json (with timings) after every run.
//
// Narrow a run with INTEROP_SERVERS=node,ws and/or INTEROP_CLIENTS=ws,chromium (then MATRIX.md
// is left alone).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP,
  clientTargets,
  renderMatrix,
  runProcessClient,
  serverTargets,
  startChromium,
  startServer,
  verdict,
} from "../src/harness.mjs";

const pick = (list, env) => {
  const wanted = process.env[env]?.split(",").filter(Boolean);
  return wanted ? list.filter((item) => wanted.includes(item.id)) : list;
};
const servers = pick(serverTargets(), "INTEROP_SERVERS");
const clients = pick(clientTargets(), "INTEROP_CLIENTS");
const filtered = Boolean(process.env.INTEROP_SERVERS || process.env.INTEROP_CLIENTS);

/** `${server.id}|${client.id}` → the client's report. */
const cells = new Map();
/** server id → what went wrong with the server itself (crashes, failed starts). */
const serverNotes = new Map();
/** client id → runtime and version, for the matrix's footer. */
const runtimes = new Map();
/** `${server}|${client}` → wall time in ms. */
const timings = new Map();

/** @type {Awaited<ReturnType<typeof startChromium>> | undefined} */
let chromium;
let chromiumError;

beforeAll(async () => {
  const client = clients.find((c) => c.id === "chromium");
  if (!client || client.unavailable) return;
  try {
    chromium = await startChromium();
    runtimes.set("chromium", `chromium ${chromium.version} (playwright-core)`);
  } catch (error) {
    chromiumError = error;
  }
});

afterAll(async () => {
  await chromium?.close();
  for (const server of servers) {
    for (const client of clients) {
      const report = cells.get(`${server.id}|${client.id}`);
      if (report?.runtime && !runtimes.has(client.id)) {
        runtimes.set(client.id, [report.runtime, report.note].filter(Boolean).join(", "));
      }
    }
  }
  for (const server of servers) {
    if (server.command) runtimes.set(`server ${server.label}`, `\`${server.command}\``);
  }
  const run = { servers, clients, cells, serverNotes, runtimes };
  const resultsDir = join(APP, "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, "last-run.json"),
    `${JSON.stringify(
      {
        filtered,
        pairs: [...cells].map(([key, report]) => ({
          pair: key,
          ms: timings.get(key),
          verdict: verdict(report).text,
          report,
        })),
        serverNotes: Object.fromEntries(serverNotes),
      },
      null,
      2,
    )}\n`,
  );
  if (!filtered) writeFileSync(join(APP, "MATRIX.md"), renderMatrix(run));
  const summary = [...timings].map(
    ([key, ms]) => `${key.padEnd(32)} ${String(ms).padStart(6)} ms  ${verdict(cells.get(key)).text}`,
  );
  console.log(`interop pairs:\n${summary.join("\n")}`);
});

for (const server of servers) {
  describe(`server ${server.label}`, () => {
    /** @type {Awaited<ReturnType<typeof startServer>> | undefined} */
    let running;
    let startError;

    beforeAll(async () => {
      if (server.skip) return;
      try {
        running = await startServer(server);
      } catch (error) {
        startError = error;
        serverNotes.set(server.id, `failed to start: ${error instanceof Error ? error.message : error}`);
      }
    });

    afterAll(async () => {
      await running?.stop();
    });

    for (const client of clients) {
      it(`× ${client.id}`, async (ctx) => {
        const key = `${server.id}|${client.id}`;
        if (server.skip) ctx.skip(server.skip);
        if (client.unavailable) {
          cells.set(key, { client: client.id, skipped: client.unavailable });
          ctx.skip(`${client.id}: ${client.unavailable}`);
        }
        if (startError || !running) {
          cells.set(key, { client: client.id, error: `server did not start: ${startError?.message}` });
          throw startError ?? new Error("server did not start");
        }
        if (!running.alive) {
          // It died during an earlier client: start it again so one crash is one red cell.
          running = await startServer(server);
        }
        const started = performance.now();
        let report;
        if (client.id === "chromium") {
          if (!chromium) {
            report = {
              client: "chromium",
              error: `could not launch Chromium: ${chromiumError?.message ?? chromiumError}`,
            };
          } else {
            report = await chromium.run(running.url);
          }
        } else {
          report = await runProcessClient(client, running.url);
        }
        timings.set(key, Math.round(performance.now() - started));
        // Let a crash that the last scenario caused show up before checking.
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (!running.alive) {
          const note = `exited during the ${client.id} client; stderr tail: ${running.stderr.slice(-1500)}`;
          serverNotes.set(server.id, [serverNotes.get(server.id), note].filter(Boolean).join(" | "));
          report = { ...report, error: [report.error, `the server ${note}`].filter(Boolean).join("; ") };
        }
        cells.set(key, report);
        if (report.skipped) ctx.skip(`${client.id}: ${report.skipped}`);
        expect(report.error, "client error").toBeUndefined();
        const failures = (report.results ?? []).filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
        expect(failures, `failing scenarios for ${server.label} × ${client.id}`).toEqual([]);
        expect(report.results?.length ?? 0).toBeGreaterThan(0);
      });
    }
  });
}
