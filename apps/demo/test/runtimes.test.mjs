// The demo on Deno and Bun: the same server (node:http + @ws/node, which both runtimes run
// through their Node compatibility) started by each runtime's npm-provided binary; two chat
// clients join a room and exchange a message, then the server stops cleanly on SIGTERM.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { chatClient, ofType } from "./helpers.mjs";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SERVER = fileURLToPath(new URL("../src/server.mjs", import.meta.url));
const RUNTIMES = {
  deno: [
    `${ROOT}node_modules/deno/deno`,
    ["run", "--allow-net=127.0.0.1", "--allow-read", "--allow-env", SERVER],
  ],
  bun: [`${ROOT}node_modules/bun/bin/bun.exe`, [SERVER]],
};

/** @param {string} binary @param {string[]} args */
function start(binary, args) {
  const child = spawn(binary, args, {
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening in time:\n${output}`)), 20_000);
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = /Chat demo listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before listening:\n${output}`));
    });
  });
  return { child, url, exited };
}

for (const [name, [binary, args]] of Object.entries(RUNTIMES)) {
  describe(`the demo on ${name}`, () => {
    // The npm packages provide these binaries; a missing one means the install is incomplete.
    it.skipIf(!existsSync(binary))(
      `serves chat rooms (${name} binary from npm)`,
      async () => {
        const server = start(binary, args);
        try {
          const url = await server.url;
          const ada = await chatClient(url);
          const bob = await chatClient(url);
          ada.send({ type: "join", room: "lobby", nick: "ada" });
          await ada.next(ofType("welcome"));
          bob.send({ type: "join", room: "lobby", nick: "bob" });
          await bob.next(ofType("welcome"));
          ada.send({ type: "message", text: `hello from ${name}` });
          const seen = await bob.next((m) => m.type === "message" && m.text === `hello from ${name}`);
          expect(seen.nick).toBe("ada");
          server.child.kill("SIGTERM");
          expect(await ada.closed).toMatchObject({ code: 1001 });
          expect(await server.exited).toBe(0);
        } finally {
          if (server.child.exitCode === null) server.child.kill("SIGKILL");
        }
      },
      60_000,
    );
  });
}
