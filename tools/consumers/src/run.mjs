#!/usr/bin/env node
// Builds small consumer projects from the packed tarballs, as users get the packages from npm,
// and runs them, offline:
//
// 1. `pnpm pack` @ws/codec, @ws/session and @ws/node (workspace ranges rewritten as on release);
// 2. each project gets the tarballs unpacked into its node_modules (what `npm install` would
//    do, without a registry), TypeScript and @types/node from this workspace;
// 3. `tsc` builds it with the project's own tsconfig (strict, no DOM lib: a Node project), and
//    Node runs the output: an echo round trip over loopback on a free port.
//
// The packages are ESM-only (no dual build): ESM projects import them; CommonJS projects
// `require()` them through Node's require(esm) (Node >= 20.19, the packages' `engines`), which
// TypeScript allows with `module: nodenext`; with `module: node16` TypeScript refuses a static
// import of ESM from CommonJS, so that project uses `await import()` and `import type`, as the
// guide says; `moduleResolution: node10` finds the types through `types` and `typesVersions`.
//
// `@ws/deno` from npm: a project type-checked by `tsc` with Deno's own declarations
// (`deno types`), then run by Deno from its `node_modules`. And no packed declaration file
// may keep a relative `.ts` specifier (tools/dts-specifiers.mjs rewrites them at build time;
// TypeScript 5 maps them to `.d.ts` files, older versions and other tools do not).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const toolDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(toolDir, "..", "..");
const require = createRequire(join(toolDir, "package.json"));
const tsc = require.resolve("typescript/bin/tsc");
const typesNode = dirname(require.resolve("@types/node/package.json"));
const PACKAGES = ["codec", "session", "deflate", "node", "deno"];
const deno = join(root, "node_modules", ".bin", "deno");

/** Compiles only when A and B are the same type (an `any` does not pass). */
const EQUAL = `type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function same<A, B>(_proof: Equal<A, B>): void {}`;

/** The program every project runs; `IMPORTS` is replaced per project. */
const PROGRAM = (imports, body = "") => `${imports}
${EQUAL}

async function main(): Promise<void> {
${body}
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  server.on("connection", (ws) => {
    ws.addEventListener("message", (event) => {
      same<typeof event.data, string | Uint8Array>(true);
      ws.send(event.data);
    });
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as { port: number };
  const client = await connect(\`ws://127.0.0.1:\${port}\`, { binaryType: "arraybuffer" });
  const closed = new Promise<number>((resolve) => {
    client.onclose = (event) => {
      same<typeof event.wasClean, boolean>(true);
      resolve(event.code);
    };
  });
  const echoed = new Promise<string>((resolve) => {
    client.onmessage = (event) => {
      same<typeof event.data, string | ArrayBuffer>(true);
      resolve(String(event.data));
    };
  });
  client.send("hello");
  const reply = await echoed;
  client.close(1000);
  const code = await closed;
  await server.close();
  const header = encodeFrame({ opcode: Opcode.Text, payload: new Uint8Array(0), fin: true })[0];
  console.log(reply === "hello" && code === 1000 && header instanceof Uint8Array ? "ok" : "wrong");
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

const STATIC = `import { connect, WebSocketServer } from "@ws/node";
import { encodeFrame, Opcode } from "@ws/codec/frame";`;

/** @type {{ name: string, type?: string, compilerOptions: object, main: string, runtime?: "deno" }[]} */
const PROJECTS = [
  {
    name: "esm-nodenext",
    type: "module",
    compilerOptions: { module: "nodenext" },
    main: PROGRAM(STATIC),
  },
  {
    name: "cjs-nodenext",
    compilerOptions: { module: "nodenext" },
    main: PROGRAM(STATIC),
  },
  {
    name: "cjs-node16",
    compilerOptions: { module: "node16" },
    main: PROGRAM(
      `import type { WebSocket } from "@ws/node" with { "resolution-mode": "import" };`,
      `  const { connect, WebSocketServer } = await import("@ws/node");
  const { encodeFrame, Opcode } = await import("@ws/codec/frame");
  const typed: WebSocket | undefined = undefined;
  void typed;`,
    ),
  },
  {
    name: "cjs-node10",
    compilerOptions: { module: "commonjs", moduleResolution: "node10" },
    main: PROGRAM(STATIC),
  },
  {
    name: "deno-esm-nodenext",
    type: "module",
    runtime: "deno",
    compilerOptions: { module: "nodenext" },
    main: PROGRAM(`import { connect, WebSocketServer } from "@ws/deno";
import { encodeFrame, Opcode } from "@ws/codec/frame";`),
  },
];

const work = mkdtempSync(join(tmpdir(), "ws-consumers-"));
const failures = [];
try {
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  // The workspace's own pnpm (a root devDependency): turbo does not pass npm_execpath on.
  const pnpm = process.execPath;
  const pnpmArgs = [join(root, "node_modules", "pnpm", "bin", "pnpm.cjs")];
  /** @type {Map<string, string>} */
  const packed = new Map();
  for (const name of PACKAGES) {
    const dir = join(root, "packages", name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    execFileSync(pnpm, [...pnpmArgs, "pack", "--pack-destination", tarballs], { cwd: dir, stdio: "pipe" });
    packed.set(name, join(tarballs, `ws-${name}-${pkg.version}.tgz`));
  }
  // The declaration files as packed: no relative `.ts` specifier left.
  const unpacked = join(work, "unpacked");
  const dists = [];
  for (const [name, tarball] of packed) {
    const target = join(unpacked, name);
    mkdirSync(target, { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
    dists.push(join(target, "dist"));
  }
  const specifiers = spawnSync(
    process.execPath,
    [join(root, "tools", "dts-specifiers.mjs"), "--check", ...dists],
    {
      encoding: "utf8",
    },
  );
  if (specifiers.status !== 0) failures.push(`packed declaration files: ${specifiers.stderr.trim()}`);
  else console.log("packed declaration files: no relative .ts specifiers");
  for (const project of PROJECTS) {
    const dir = join(work, project.name);
    const modules = join(dir, "node_modules");
    mkdirSync(join(modules, "@ws"), { recursive: true });
    mkdirSync(join(modules, "@types"));
    mkdirSync(join(dir, "src"));
    // What `npm install ./tarballs/*.tgz` does, offline: each tarball's package/ becomes the package.
    for (const [name, tarball] of packed) {
      const target = join(modules, "@ws", name);
      mkdirSync(target);
      execFileSync("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
    }
    symlinkSync(typesNode, join(modules, "@types", "node"), "dir");
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: project.name, private: true, ...(project.type ? { type: project.type } : {}) }),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022"],
          strict: true,
          types: ["node"],
          outDir: "out",
          rootDir: "src",
          skipLibCheck: true,
          ...project.compilerOptions,
        },
        include: ["src"],
      }),
    );
    writeFileSync(join(dir, "src", "main.ts"), project.main);
    // Deno's global declarations (`Deno.Conn` … in @ws/deno's types), from the deno binary.
    if (project.runtime === "deno")
      writeFileSync(join(dir, "src", "deno.d.ts"), execFileSync(deno, ["types"]));
    const build = spawnSync(process.execPath, [tsc, "-p", dir, "--pretty", "false"], { encoding: "utf8" });
    if (build.status !== 0) {
      failures.push(`${project.name}: tsc failed\n${build.stdout}${build.stderr}`);
      continue;
    }
    const command =
      project.runtime === "deno"
        ? [
            deno,
            "run",
            "--no-lock",
            "--node-modules-dir=manual",
            "--allow-net=127.0.0.1",
            "--allow-read",
            "--allow-env",
            join(dir, "out", "main.js"),
          ]
        : [process.execPath, join(dir, "out", "main.js")];
    const [bin = "", ...rest] = command;
    const run = spawnSync(bin, rest, { encoding: "utf8", cwd: dir, timeout: 20_000 });
    if (run.status !== 0 || run.stdout.trim() !== "ok") {
      failures.push(`${project.name}: running it failed (exit ${run.status})\n${run.stdout}${run.stderr}`);
      continue;
    }
    console.log(
      `${project.name}: built with tsc (${JSON.stringify(project.compilerOptions)}) and ran on ${project.runtime ?? "node"}: ok`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
// The closing line tools/test-summary.mjs reads (deno test's format): one test per project.
const result = `${PROJECTS.length + 1 - failures.length} passed | ${failures.length} failed`;
if (failures.length > 0) {
  console.error(failures.join("\n"));
  console.log(`FAILED | ${result}`);
  process.exit(1);
}
console.log(`ok | ${result}`);
