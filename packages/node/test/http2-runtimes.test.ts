// Deno and Bun: @ws/node's HTTP/2 server and client on their node:http2, against Node's (each
// runtime once as the server and once as the client, one over TLS, one over h2c). What the
// Deno and Bun READMEs say about RFC 8441 is what this measures.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, defer } from "./helpers.ts";

afterEach(cleanup);

const root = fileURLToPath(new URL("../../../", import.meta.url));
const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const RUNTIMES = {
  node: [process.execPath, "--conditions=@ws/source"],
  // The binary itself, not the node_modules/.bin shim: the shim runs it as a child process, so
  // killing the shim at cleanup left the Deno server running.
  deno: [`${root}node_modules/deno/deno`, "run", "-A", "--conditions=@ws/source"],
  bun: [`${root}node_modules/bun/bin/bun.exe`, "--conditions=@ws/source"],
} as const;
type Runtime = keyof typeof RUNTIMES;

function run(
  runtime: Runtime,
  script: string,
  args: string[],
  tls: boolean,
): { child: ChildProcess; output: () => string } {
  const [command, ...flags] = RUNTIMES[runtime];
  const child = spawn(command, [...flags, `${fixtures}${script}`, ...args], {
    env: { ...process.env, PROBE_TLS: tls ? "1" : "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  defer(child, (c) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once("exit", resolve));
    c.kill("SIGKILL");
    return exited;
  });
  return { child, output: () => output };
}

async function waitFor(output: () => string, pattern: RegExp): Promise<RegExpExecArray> {
  for (let i = 0; i < 300; i++) {
    const match = pattern.exec(output());
    if (match !== null) return match;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${pattern} in:\n${output()}`);
}

// Node 20 cannot run the TypeScript sources the fixtures import: Node's side runs from
// Node >= 22.18 only (test:node24); Deno and Bun strip types themselves.
const nodeStripsTypes = Number(process.versions.node.split(".")[0]) >= 23;

describe.skipIf(!nodeStripsTypes)("RFC 8441 on Deno and Bun through node:http2", () => {
  it.each([
    ["deno", "node", true],
    ["node", "deno", false],
    ["bun", "node", true],
    ["node", "bun", false],
  ] as const)(
    "%s server, %s client (TLS: %s)",
    async (serverRuntime, clientRuntime, tls) => {
      const server = run(serverRuntime, "h2-probe-server.mjs", [], tls);
      const port = (await waitFor(server.output, /PORT (\d+)/))[1] as string;
      const client = run(clientRuntime, "h2-probe-client.mjs", [port], tls);
      const line = (await waitFor(client.output, /^\{.*\}$/m))[0];
      const seen = JSON.parse(line);
      expect(seen).toEqual({
        versions: ["2", "2", "2"],
        replies: ["2.0:2", "2.0:2", "2.0:2"],
        extensions: "permessage-deflate",
        big: `2.0:${1 << 20}`,
        closed: [4000, true],
        echoesWhileStalled: 10,
        clientBufferedWhileStalled: expect.any(Number),
        slowDone: `got ${32 << 20}`,
      });
      // Flow control held the stalled stream's bytes at the client, not in the server.
      expect(seen.clientBufferedWhileStalled).toBeGreaterThan(24 << 20);
      const buffered = Number((await waitFor(server.output, /SLOWBUF (\d+)/))[1]);
      expect(buffered).toBeLessThan(4 << 20);
    },
    60_000,
  );
});
