#!/usr/bin/env node
// Compares raw-deflate engines for permessage-deflate with context takeover, on this machine:
//   node bench/engines.mjs            (from packages/deflate, after `pnpm build`)
// - time per message round trip (compress with a sync flush on a persistent stream, then
//   inflate on a persistent stream), 2 KiB, 16 KiB and 64 KiB JSON-like text (the echo
//   benchmark's messages), interleaved rounds, median;
// - compressed size ÷ message size;
// - memory per context: RSS and heap growth for 200 compressor + decompressor pairs that each
//   handled one 2 KiB message (each engine in a fresh process);
// - fflate, the other candidate: whether its sync-flushed output of consecutive messages
//   inflates as one stream (RFC 7692 §7.2.1 needs that), and whether it has a window option.
import { execFileSync } from "node:child_process";
import * as zlib from "node:zlib";
import * as fflate from "fflate";
import { jsonPayload } from "../../../apps/bench/src/frames.mjs";
import { createPortableEngine, createZlibEngine } from "../dist/index.js";

const ENGINES = {
  "zlib (sync step)": () => createZlibEngine(zlib),
  "zlib (public async streams)": () =>
    createZlibEngine(zlib, { syncDeflateMaxSize: 0, syncInflateMaxSize: 0 }),
  "portable (pako)": () => createPortableEngine(),
};
const SIZES = [2048, 16384, 65536];
const len = (parts) => parts.reduce((n, p) => n + p.length, 0);

function pair(engine) {
  const c = engine.createCompressor({ windowBits: 15, level: -1, memLevel: 8, noContextTakeover: false });
  const d = engine.createDecompressor({ windowBits: 15, noContextTakeover: false });
  return { c, d };
}

if (process.argv[2] === "--memory") {
  const engine = ENGINES[process.argv[3]]();
  const message = new Uint8Array(jsonPayload(2048, 1));
  globalThis.gc?.();
  const before = process.memoryUsage();
  const kept = [];
  for (let i = 0; i < 200; i++) {
    const { c, d } = pair(engine);
    d.decompress(await c.compress(message, true), true, 1 << 20);
    await d.decompress([], true, 1 << 20);
    kept.push(c, d);
  }
  globalThis.gc?.();
  const after = process.memoryUsage();
  console.log(
    JSON.stringify({
      rss: (after.rss - before.rss) / 200,
      heap: (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 200,
    }),
  );
  process.exit(0);
}

console.log(`node ${process.version}; machine shared: figures are noisy, compare within one run`);
const rounds = 5;
const results = {};
for (let round = 0; round < rounds; round++) {
  for (const size of SIZES) {
    const messages = Array.from({ length: 64 }, (_, v) => new Uint8Array(jsonPayload(size, v)));
    for (const [name, make] of Object.entries(ENGINES)) {
      const { c, d } = pair(make());
      let n = 0;
      let bytes = 0;
      const start = performance.now();
      while (performance.now() - start < 300) {
        const m = messages[n % messages.length];
        const compressed = await c.compress(m, true);
        if (n < 64) bytes += len(compressed);
        const inflated = await d.decompress(compressed, true, 1 << 24);
        if (len(inflated) !== m.length) throw new Error(`${name}: bad round trip`);
        n++;
      }
      const us = ((performance.now() - start) * 1000) / n;
      const key = `${size}\t${name}`;
      results[key] ??= { us: [], ratio: bytes / (Math.min(n, 64) * size) };
      results[key].us.push(us);
      c.close();
      d.close();
    }
  }
}
console.log("\nsize\tengine\tµs per round trip (median of 5)\tcompressed ÷ size");
for (const [key, { us, ratio }] of Object.entries(results)) {
  us.sort((a, b) => a - b);
  console.log(`${key}\t${us[Math.floor(us.length / 2)].toFixed(1)}\t${ratio.toFixed(3)}`);
}

console.log("\nmemory per context (one compressor + one decompressor, context takeover, 15 bits)");
for (const name of Object.keys(ENGINES)) {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", new URL(import.meta.url).pathname, "--memory", name],
    {
      encoding: "utf8",
    },
  );
  const { rss, heap } = JSON.parse(out);
  console.log(
    `${name}\tRSS ${(rss / 1024).toFixed(0)} KiB\tJS heap + array buffers ${(heap / 1024).toFixed(0)} KiB`,
  );
}

// fflate: three consecutive messages through one Deflate with flush(true) after each.
const parts = [];
const deflater = new fflate.Deflate({ level: 6, mem: 8 }, (chunk) => parts.push(chunk));
for (let v = 0; v < 3; v++) {
  deflater.push(new Uint8Array(jsonPayload(2048, v)));
  deflater.flush(true);
}
let verdict;
try {
  zlib.inflateRawSync(Buffer.concat(parts), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  verdict = "inflates";
} catch (error) {
  verdict = `does not inflate (${error.message})`;
}
console.log(
  `\nfflate ${"0.8"}: sync-flushed output of 3 messages on one stream ${verdict}; window option: none (DeflateOptions has no windowBits)`,
);
