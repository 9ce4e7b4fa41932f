// The command line of every echo server of the contract in ARCHITECTURE.md
// (apps/echo/targets.json), written once: `--port <port> [--host <host>] [--deflate]
// [--deflate-engine portable|zlib-async] [--tls]` (`--tls` only where the entry point serves
// TLS: node-h2.mjs), one line
// printed when listening, SIGTERM/SIGINT close every connection with 1001 and exit. It uses
// node:process and node:util, which Node, Deno and Bun all provide, so the per-runtime entry
// points (node.mjs, deno.ts, bun.ts) only pick the adapter.
import process from "node:process";
import { parseArgs } from "node:util";

/**
 * @param {string} name the adapter, for the listening line
 * @param {(options: { port: number, host: string, perMessageDeflate: boolean | { engine: object }, tls?: boolean }) => Promise<{ port: number, server: { close(code?: number): Promise<void> } }>} startEchoServer
 */
export async function runEchoCli(name, startEchoServer) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      deflate: { type: "boolean" },
      tls: { type: "boolean" },
      "deflate-engine": { type: "string" },
      "report-buffered": { type: "boolean" },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`usage: ${name} echo server --port <port> [--host <host>] [--deflate]`);
    process.exit(2);
  }
  const host = values.host ?? "127.0.0.1";
  // --deflate: accept permessage-deflate (RFC 7692) with every parameter combination a client
  // offers (the client's window bits and no_context_takeover requests are honoured as asked).
  // --deflate-engine (benchmarks, apps/bench/targets.json): another engine than the adapter's
  // default, `portable` (pure JavaScript) or `zlib-async` (node:zlib through its public
  // asynchronous streams only, without the synchronous step).
  const engineName = values["deflate-engine"];
  if (engineName !== undefined && engineName !== "portable" && engineName !== "zlib-async") {
    console.error(`${name} echo server: --deflate-engine must be portable or zlib-async`);
    process.exit(2);
  }
  const perMessageDeflate =
    values.deflate === true && engineName !== undefined
      ? { engine: await benchEngine(engineName) }
      : values.deflate === true;
  const tls = values.tls === true;
  // `tls` is passed only when asked for: the adapters' own servers take a `tls` option of
  // their own (certificate and key), which `false` must not reach.
  const echo = await startEchoServer({ port, host, perMessageDeflate, ...(tls ? { tls } : {}) });
  console.log(`${name} echo server listening on ${tls ? "wss" : "ws"}://${host}:${echo.port}`);
  // --report-buffered (apps/hostile): the most bytes the open connections held at once, sampled
  // every 20 ms, as the server's memory budget counts them (each socket's `bufferedAmount` plus
  // `inboundBufferedAmount`), printed when the server stops. Not on by default: it walks every
  // connection.
  const sampler = values["report-buffered"] === true ? bufferedSampler(echo.server) : undefined;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (sampler !== undefined) console.log(`buffered peak: ${sampler.stop()} bytes`);
    // Close every connection with 1001 (Going Away), then exit.
    echo.server.close(1000).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/**
 * Samples the bytes the server's open connections buffer, in both directions.
 * @param {{ clients?: Iterable<{ session?: { state: string, bufferedAmount: number, inboundBufferedAmount: number } }> }} server
 */
function bufferedSampler(server) {
  let peak = 0;
  const timer = setInterval(() => {
    let held = 0;
    for (const ws of server.clients ?? []) {
      const session = ws.session;
      if (session !== undefined && session.state !== "closed")
        held += session.bufferedAmount + session.inboundBufferedAmount;
    }
    peak = Math.max(peak, held);
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** @param {"portable" | "zlib-async"} name */
async function benchEngine(name) {
  const { createPortableEngine, createZlibEngine } = await import("@ws/deflate");
  if (name === "portable") return createPortableEngine();
  const zlib = await import("node:zlib");
  return createZlibEngine(zlib, { syncDeflateMaxSize: 0, syncInflateMaxSize: 0 });
}
