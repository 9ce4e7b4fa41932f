// Codec micro-benchmark: @ws/codec against ws's Receiver/Sender on the same input, in the same
// run, reported as ratios (ours / ws; > 1 means we are faster). ws is measured twice: with
// bufferutil (its native masking addon, which its README recommends and real deployments
// install: "ws+bu") and without it ("ws"), each a row of its own.
//
//   pnpm --filter @ws/codec bench            (builds first)
//   node packages/codec/bench/codec-bench.mjs [--time 500] [--filter decode] [--sizes "1 MiB"]
//   bun packages/codec/bench/codec-bench.mjs; deno run -A packages/codec/bench/codec-bench.mjs
//
// Decode fragmented: a 256 KiB message in frames of 1 byte to 64 KiB, the same way.
// Decode: masked client frames (what a server receives) fed as 64 KiB socket-sized chunks to a
// server-role Connection (frame decoding + unmasking + message assembly), against ws's Receiver
// with allowSynchronousEvents (the same work). Encode: a message to masked (client) and
// unmasked (server) frame bytes, against ws's Sender.frame; a client's text message likewise.
// Unmask: applyMask against bufferutil's unmask, a byte loop and a plain memory copy; its
// "floor" row is the WebAssembly path's two copies per block without the XOR.
// Every decode and masked encode row hands out a fresh array per message, ours and ws's alike
// (ws allocates with Buffer.allocUnsafe, which skips zeroing; a pure codec has only
// new Uint8Array): a fresh large array costs its page faults, which no copy avoids. The
// "floor" rows (64 KiB and up) measure just that, a new array and one copy of the bytes, in the
// same rounds: their ratio to ws+bu is the most any such decoder or encoder could reach. The
// masked encode rows also write into one reused array (sendBinaryInto, for callers that own
// memory they fill again), with floors for one copy into unzeroed and into reused memory: at
// 1 MiB a fresh array's first touch of its pages, not zeroing, is most of the cost. UTF-8: decodeUtf8 (validate +
// decode in one pass) against ws's way (buffer.isUtf8 + toString).
import { isUtf8 } from "node:buffer";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { applyMask, encodeFrame, encodeFrameParts } from "../dist/frame/index.js";
import { SIMD_BLOCK, simdMaskAvailable } from "../dist/frame/mask-simd.js";
import { Connection, NEED_DATA } from "../dist/index.js";
import { decodeUtf8 } from "../dist/message/index.js";

// Two copies of ws: ws reads WS_NO_BUFFER_UTIL when it is loaded, so the second is loaded
// afresh (outside the module cache) with it set.
const require = createRequire(import.meta.url);
const wsRoot = dirname(require.resolve("ws/package.json"));
// By path: Bun answers the bare specifier "ws" with its own client-only shim.
const wsBu = require(`${wsRoot}/index.js`);
const bufferUtil = createRequire(`${wsRoot}/index.js`)("bufferutil");
for (const id of Object.keys(require.cache)) if (id.startsWith(wsRoot)) delete require.cache[id];
const noBufferUtil = process.env.WS_NO_BUFFER_UTIL;
process.env.WS_NO_BUFFER_UTIL = "1";
const wsPlain = require(`${wsRoot}/index.js`);
if (noBufferUtil === undefined) delete process.env.WS_NO_BUFFER_UTIL;
console.log(
  `runtime ${typeof Bun !== "undefined" ? `bun ${Bun.version}` : typeof Deno !== "undefined" ? `deno ${Deno.version.deno}` : `node ${process.version}`};`,
  `bufferutil native: ${!String(bufferUtil.mask).includes("output[offset + i]")};`,
  `two ws copies: ${wsBu !== wsPlain}; WebAssembly SIMD masking: ${simdMaskAvailable()}`,
);

const args = process.argv.slice(2);
const TIME_MS = Number(args[args.indexOf("--time") + 1]) || 400;
const FILTER = args.includes("--filter") ? args[args.indexOf("--filter") + 1] : "";

// --sizes "64 KiB,1 MiB" keeps those rows only (the codec targets are at 64 KiB and 1 MiB).
const SIZE_FILTER = args.includes("--sizes") ? args[args.indexOf("--sizes") + 1].split(",") : undefined;
const SIZES = [
  ["16 B", 16],
  ["1 KiB", 1024],
  ["64 KiB", 65536],
  ["1 MiB", 1 << 20],
].filter(([label]) => SIZE_FILTER === undefined || SIZE_FILTER.includes(label));
const CHUNK = 65536;
const STREAM_BYTES = 16 << 20;

/** Runs fn repeatedly for TIME_MS after a warm-up; returns operations per second (best of 3). */
function measure(fn, opsPerCall) {
  return compare([fn], opsPerCall)[0];
}

/**
 * Measures several functions side by side: rounds of TIME_MS each, interleaved (a, b, c, a, b,
 * c, …) so that the load of a shared machine hits them alike; the best of 5 rounds each. A
 * function that returns a number has timed itself: that many milliseconds count instead of the
 * wall time of the call (the decode runs leave out making their input, see `timedFeed`).
 */
function compare(fns, opsPerCall) {
  for (const fn of fns) {
    const warmUntil = performance.now() + TIME_MS / 2;
    while (performance.now() < warmUntil) fn();
  }
  const best = fns.map(() => 0);
  for (let round = 0; round < 5; round++) {
    fns.forEach((fn, index) => {
      let calls = 0;
      let timed = 0;
      const start = performance.now();
      let now = start;
      while (now - start < TIME_MS) {
        const self = fn();
        const after = performance.now();
        timed += typeof self === "number" ? self : after - now;
        calls++;
        now = after;
      }
      best[index] = Math.max(best[index], (calls * opsPerCall) / (timed / 1000));
    });
  }
  return best;
}

/**
 * Feeds `pieces` to `feed` as a socket delivers them, each in a fresh buffer (Node's and Bun's
 * sockets hand over every read in memory of its own, and the Deno adapter never reads into
 * memory it handed out; both decoders unmask in place), and returns the milliseconds spent in
 * `feed` only. The copy that makes each fresh buffer is
 * the socket's work, not the decoder's: counted, it was more than half of the time for both
 * sides and pulled every ratio toward 1. Each buffer is made right before it is fed, so it is
 * in the cache as a just-read socket buffer is.
 */
function timedFeed(pieces, feed) {
  let timed = 0;
  for (const piece of pieces) {
    const chunk = Buffer.from(piece);
    const start = performance.now();
    feed(chunk);
    timed += performance.now() - start;
  }
  return timed;
}

function chunks(bytes, size) {
  const out = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, Math.min(bytes.length, i + size)));
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const rows = [];
/**
 * Reports ours against ws with bufferutil and ws without it, each run once. With `floorFn` (the
 * least work any codec must do for the row: a fresh array and one copy of the bytes, with no
 * framing or masking at all), it runs in the same rounds and a "floor" row gives its ratio to
 * ws+bu: the most any implementation that hands out a fresh array could reach on this runtime.
 */
function reportWs(group, size, unit, oursFn, runFor, opsPerCall, floorFn) {
  const floorRow = (floor, bu) => {
    if (floorFn !== undefined) report("  floor: new array + copy", size, unit, floor, bu, "ws+bu");
  };
  const extra = floorFn === undefined ? [] : [floorFn];
  if (wsPlain === wsBu) {
    // This runtime's module cache gave the same copy back (Bun): one row, run the bench again
    // with WS_NO_BUFFER_UTIL=1 for ws without bufferutil.
    const [ours, theirs, floor] = compare([oursFn, runFor(wsBu), ...extra], opsPerCall);
    report(group, size, unit, ours, theirs, process.env.WS_NO_BUFFER_UTIL ? "ws" : "ws+bu");
    floorRow(floor, theirs);
    return;
  }
  const [ours, bu, plain, floor] = compare([oursFn, runFor(wsBu), runFor(wsPlain), ...extra], opsPerCall);
  report(group, size, unit, ours, bu, "ws+bu");
  report(group, size, unit, ours, plain, "ws");
  floorRow(floor, bu);
}
function report(group, size, unit, ours, theirs, theirsName = "ws") {
  const row = { group, size, unit, ours, theirs, theirsName, ratio: ours / theirs };
  rows.push(row);
  const fmt = (n) =>
    n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
  console.log(
    `${group.padEnd(22)} ${size.padEnd(7)} ${group.includes("floor") ? "floor" : "ours "}${fmt(ours).padStart(9)} ${unit}  ${theirsName.padEnd(10)} ${fmt(theirs).padStart(9)} ${unit}  ratio ${row.ratio.toFixed(2)}×`,
  );
}

const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

// ---- Decode: masked binary frames (client → server) -----------------------------------------
if ("decode".includes(FILTER) || FILTER === "") {
  for (const [label, size] of SIZES) {
    const payload = new Uint8Array(size).map((_, i) => i & 0xff);
    const frame = concat(encodeFrame({ opcode: 2, payload, maskingKey: key }));
    const count = Math.max(1, Math.floor(STREAM_BYTES / frame.length));
    const stream = new Uint8Array(frame.length * count);
    for (let i = 0; i < count; i++) stream.set(frame, i * frame.length);
    const pieces = chunks(stream, CHUNK);
    // A socket hands over each read in a fresh buffer (see timedFeed).
    const oursRun = () => {
      const conn = new Connection({ role: "server" });
      let messages = 0;
      const timed = timedFeed(pieces, (chunk) => {
        conn.receive(chunk);
        for (let e = conn.nextEvent(); e !== NEED_DATA; e = conn.nextEvent()) messages++;
      });
      if (messages !== count) throw new Error(`decoded ${messages} of ${count}`);
      return timed;
    };
    const wsRun = (ws) => () => {
      const receiver = new ws.Receiver({ isServer: true, maxPayload: 0, allowSynchronousEvents: true });
      let messages = 0;
      receiver.on("message", () => messages++);
      const timed = timedFeed(pieces, (chunk) => receiver.write(chunk));
      if (messages !== count) throw new Error(`ws decoded ${messages} of ${count}`);
      return timed;
    };
    // The floor: each payload copied from the chunks it lies in into a new array of its own,
    // as a decoder that hands out whole messages must at least do (no parsing, no unmasking).
    const segments = pieces.map(() => []);
    {
      let chunkIndex = 0;
      let chunkOffset = 0;
      const headerSize = frame.length - size;
      for (let f = 0; f < count; f++) {
        let skip = headerSize;
        let filled = 0;
        while (skip > 0 || filled < size) {
          const room = pieces[chunkIndex].length - chunkOffset;
          const take = skip > 0 ? Math.min(skip, room) : Math.min(size - filled, room);
          if (skip > 0) skip -= take;
          else {
            segments[chunkIndex].push(chunkOffset, take, filled === 0 ? size : 0, filled);
            filled += take;
          }
          chunkOffset += take;
          if (chunkOffset === pieces[chunkIndex].length) {
            chunkIndex++;
            chunkOffset = 0;
          }
        }
      }
    }
    const floorRun = () => {
      let out;
      let messages = 0;
      let index = 0;
      const timed = timedFeed(pieces, (chunk) => {
        const list = segments[index++];
        for (let s = 0; s < list.length; s += 4) {
          const [from, take, fresh, to] = [list[s], list[s + 1], list[s + 2], list[s + 3]];
          if (fresh > 0) {
            out = new Uint8Array(fresh);
            messages++;
          }
          out.set(chunk.subarray(from, from + take), to);
        }
      });
      if (messages !== count) throw new Error("floor");
      return timed;
    };
    // Smaller frames lie in one chunk, and a decoder hands them out as views: no floor there.
    reportWs(
      "decode masked binary",
      label,
      "msg/s",
      oursRun,
      wsRun,
      count,
      size >= CHUNK ? floorRun : undefined,
    );
  }
  // Text messages (UTF-8 validated) from a server (unmasked).
  for (const [label, size] of SIZES.filter(([, n]) => n <= 65536)) {
    const text = "aé€😀".repeat(Math.ceil(size / 10)).slice(0, Math.max(1, Math.floor(size / 2.5)));
    const payload = new TextEncoder().encode(text);
    const frame = concat(encodeFrame({ opcode: 1, payload }));
    const count = Math.max(1, Math.floor(STREAM_BYTES / 4 / frame.length));
    const stream = new Uint8Array(frame.length * count);
    for (let i = 0; i < count; i++) stream.set(frame, i * frame.length);
    const wsStream = Buffer.from(stream);
    const oursRun = () => {
      const conn = new Connection({ role: "client" });
      let messages = 0;
      for (let i = 0; i < stream.length; i += CHUNK) {
        conn.receive(stream.subarray(i, Math.min(stream.length, i + CHUNK)));
        for (let e = conn.nextEvent(); e !== NEED_DATA; e = conn.nextEvent()) messages++;
      }
      if (messages !== count) throw new Error("text decode");
    };
    const wsRun = () => {
      const receiver = new wsBu.Receiver({ isServer: false, maxPayload: 0, allowSynchronousEvents: true });
      let messages = 0;
      // ws hands text over as bytes; a user calls toString() to get the string we deliver.
      receiver.on("message", (data) => {
        data.toString();
        messages++;
      });
      for (let i = 0; i < wsStream.length; i += CHUNK)
        receiver.write(wsStream.subarray(i, Math.min(wsStream.length, i + CHUNK)));
      if (messages !== count) throw new Error("ws text decode");
    };
    report("decode text → string", `${label}`, "msg/s", ...compare([oursRun, wsRun], count), "ws+bu");
  }
}

// ---- Decode fragmented: one message in many frames (RFC 6455 §5.4) --------------------------
// 256 KiB messages in fragments of 1 byte to 64 KiB, masked (client → server), fed as 64 KiB
// chunks: what a message in tiny fragments costs per byte, against ws's Receiver.
if ("fragmented".includes(FILTER) || FILTER === "") {
  const MESSAGE = 256 * 1024;
  for (const [opcode, kind] of [
    [2, "binary"],
    [1, "text"],
  ]) {
    for (const [label, size] of [
      ["1 B", 1],
      ["64 B", 64],
      ["4 KiB", 4096],
      ["64 KiB", 65536],
    ]) {
      const payload = new TextEncoder()
        .encode("aé€😀".repeat(MESSAGE / 10).slice(0, MESSAGE))
        .subarray(0, MESSAGE);
      // Whole code points only (the cut above may split one); binary does not care.
      const body =
        opcode === 1
          ? new TextEncoder().encode(new TextDecoder().decode(payload).replace(/\uFFFD$/, ""))
          : payload;
      const frames = [];
      for (let at = 0; at < body.length; at += size) {
        const end = Math.min(body.length, at + size);
        frames.push(
          concat(
            encodeFrame({
              opcode: at === 0 ? opcode : 0,
              payload: body.subarray(at, end),
              fin: end === body.length,
              maskingKey: key,
            }),
          ),
        );
      }
      const pieces = chunks(concat(frames), CHUNK);
      const oursRun = () => {
        // No fragment count limit (older versions defaulted to 65536): the assembly cost alone.
        const conn = new Connection({ role: "server", limits: { maxFragments: Infinity } });
        let messages = 0;
        const timed = timedFeed(pieces, (chunk) => {
          conn.receive(chunk);
          for (let e = conn.nextEvent(); e !== NEED_DATA; e = conn.nextEvent()) {
            if (e.type !== kind) throw new Error(`fragmented decode: ${e.type}`);
            messages++;
          }
        });
        if (messages !== 1) throw new Error("fragmented decode");
        return timed;
      };
      const wsRun = (ws) => () => {
        const receiver = new ws.Receiver({ isServer: true, maxPayload: 0, allowSynchronousEvents: true });
        let messages = 0;
        receiver.on("message", (data, isBinary) => {
          if (!isBinary) data.toString();
          messages++;
        });
        const timed = timedFeed(pieces, (chunk) => receiver.write(chunk));
        if (messages !== 1) throw new Error("ws fragmented decode");
        return timed;
      };
      reportWs(`decode 256 KiB ${kind} in`, label, "msg/s", oursRun, wsRun, 1);
    }
  }
}

// ---- Encode ---------------------------------------------------------------------------------
if ("encode".includes(FILTER) || FILTER === "") {
  for (const masked of [true, false]) {
    for (const [label, size] of SIZES) {
      const payload = new Uint8Array(size).map((_, i) => i & 0xff);
      const wsPayload = Buffer.from(payload);
      const conn = new Connection({ role: masked ? "client" : "server" });
      const reps = Math.max(1, Math.floor((1 << 20) / (size + 16)));
      const oursRun = () => {
        for (let i = 0; i < reps; i++) conn.send({ type: "binary", data: payload });
      };
      const options = { fin: true, mask: masked, opcode: 2, readOnly: true, rsv1: false };
      const wsRun = (ws) => () => {
        for (let i = 0; i < reps; i++) ws.Sender.frame(wsPayload, options);
      };
      // The floor of a masked frame: a new array of the frame's size and one copy of the payload,
      // 64 bytes in. Not 14, where the payload of a frame this large lies: both buffers are
      // page-aligned, so the copy's target would lie 14 bytes after its source modulo 4 KiB,
      // where JavaScriptCore's copy runs several times slower ("4K aliasing", see mask-simd.ts;
      // Bun at 64 KiB), and any codec can place its frame in a larger array to avoid that.
      const floorRun =
        masked && size >= CHUNK
          ? () => {
              for (let i = 0; i < reps; i++) new Uint8Array(size + 64).set(payload, 64);
            }
          : undefined;
      reportWs(
        `encode ${masked ? "masked" : "unmasked"} binary`,
        label,
        "msg/s",
        oursRun,
        wsRun,
        reps,
        floorRun,
      );
      // The bare framing function against ws's bare framing function (no connection state).
      const maskingKey = masked ? key : undefined;
      const bareRun = () => {
        for (let i = 0; i < reps; i++) encodeFrameParts(2, true, 0, payload, maskingKey);
      };
      const [bare, bareWs] = compare([bareRun, wsRun(wsBu)], reps);
      report(`  encodeFrameParts ${masked ? "masked" : "unmasked"}`, label, "msg/s", bare, bareWs, "ws+bu");
      if (masked) {
        // A caller that owns memory it fills again (Connection.sendBinaryInto into one array,
        // reused), against ws's fresh Buffer per frame: what the fresh memory costs. From
        // 64 KiB, floors in the same rounds: one copy into memory not zero-filled
        // (Buffer.allocUnsafeSlow, what ws's allocUnsafe does at these sizes; on Deno it
        // zero-fills) and one copy into the reused array.
        const reused = new Uint8Array(size + 64);
        const intoRun = () => {
          for (let i = 0; i < reps; i++) conn.sendBinaryInto(payload, reused, 0);
        };
        const floors =
          size >= CHUNK
            ? [
                () => {
                  for (let i = 0; i < reps; i++) Buffer.allocUnsafeSlow(size + 64).set(payload, 64);
                },
                () => {
                  for (let i = 0; i < reps; i++) reused.set(payload, 64);
                },
              ]
            : [];
        const [into, intoWs, unzeroed, reusedCopy] = compare([intoRun, wsRun(wsBu), ...floors], reps);
        report("  sendBinaryInto reused", label, "msg/s", into, intoWs, "ws+bu");
        if (floors.length > 0) {
          report("  floor: unzeroed + copy", label, "msg/s", unzeroed, intoWs, "ws+bu");
          report("  floor: reused + copy", label, "msg/s", reusedCopy, intoWs, "ws+bu");
        }
      }
    }
  }
  for (const [label, size] of SIZES.filter(([, n]) => n <= 1024)) {
    const text = "x".repeat(size);
    const conn = new Connection({ role: "server" });
    const reps = Math.max(1, Math.floor((1 << 20) / (size + 16)));
    const oursRun = () => {
      for (let i = 0; i < reps; i++) conn.send({ type: "text", data: text });
    };
    const options = { fin: true, mask: false, opcode: 1, readOnly: false, rsv1: false };
    // ws.send(string) does Buffer.from(string) then Sender.frame.
    const wsRun = () => {
      for (let i = 0; i < reps; i++) wsBu.Sender.frame(Buffer.from(text), options);
    };
    report("encode text (server)", label, "msg/s", ...compare([oursRun, wsRun], reps), "ws+bu");
  }
  // A client's text message: ws.send(string) makes a Buffer of the string and masks it in place.
  for (const [label, size] of SIZES) {
    const text = "x".repeat(size);
    const conn = new Connection({ role: "client" });
    const reps = Math.max(1, Math.floor((1 << 20) / (size + 16)));
    const oursRun = () => {
      for (let i = 0; i < reps; i++) conn.send({ type: "text", data: text });
    };
    const options = { fin: true, mask: true, opcode: 1, readOnly: false, rsv1: false };
    const wsRun = (ws) => () => {
      for (let i = 0; i < reps; i++) ws.Sender.frame(text, options);
    };
    reportWs("encode masked text", label, "msg/s", oursRun, wsRun, reps);
  }
}

// ---- Unmask ---------------------------------------------------------------------------------
if ("unmask".includes(FILTER) || FILTER === "") {
  for (const [label, size] of SIZES) {
    const data = new Uint8Array(size).map((_, i) => i & 0xff);
    const reps = Math.max(1, Math.floor((4 << 20) / size));
    const target = new Uint8Array(size);
    const buffer = Buffer.from(data);
    const bufferKey = Buffer.from(key);
    // A WebAssembly page as the scratch, the block half a 4 KiB page away from the data, as
    // the WebAssembly path places it (see scratchStart in mask-simd.ts): an arbitrary array
    // could sit at the data's address modulo 4 KiB, where copies run several times slower.
    const scratch = new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer, 2048, SIMD_BLOCK);
    const [ours, native, byteLoop, copy, copiesOnly] = compare(
      [
        () => {
          for (let i = 0; i < reps; i++) applyMask(data, key);
        },
        () => {
          for (let i = 0; i < reps; i++) bufferUtil.unmask(buffer, bufferKey);
        },
        () => {
          for (let r = 0; r < reps; r++) for (let i = 0; i < size; i++) data[i] ^= key[i & 3];
        },
        () => {
          for (let i = 0; i < reps; i++) target.set(data);
        },
        // The WebAssembly path's copies without its XOR: each block copied into a scratch
        // array and back (WebAssembly reaches only its own memory). No masking in WebAssembly
        // can beat this.
        () => {
          for (let i = 0; i < reps; i++) {
            for (let at = 0; at < size; at += SIMD_BLOCK) {
              const end = Math.min(size, at + SIMD_BLOCK);
              const block = scratch.subarray(0, end - at);
              block.set(data.subarray(at, end));
              data.set(block, at);
            }
          }
        },
      ],
      reps * size,
    );
    report("unmask", label, "B/s", ours, native, "bufferutil");
    report("unmask", label, "B/s", ours, byteLoop, "byte loop");
    report("unmask vs memcpy", label, "B/s", ours, copy, "memcpy");
    report("  floor: copy in + out", label, "B/s", copiesOnly, copy, "memcpy");
  }
}

// ---- UTF-8 validation -----------------------------------------------------------------------
if ("utf8".includes(FILTER) || FILTER === "") {
  for (const [label, size] of SIZES) {
    for (const [kind, unit] of [
      ["ascii", "a"],
      ["mixed", "aé€😀"],
    ]) {
      const bytes = new TextEncoder().encode(unit.repeat(Math.ceil(size / unit.length))).subarray(0, size);
      // Cut back to a code point boundary.
      let end = bytes.length;
      while (end > 0 && (bytes[end - 1] & 0xc0) === 0x80) end--;
      if (end > 0 && bytes[end - 1] >= 0xc0) end--;
      const input = bytes.subarray(0, end);
      const buf = Buffer.from(input);
      const reps = Math.max(1, Math.floor((4 << 20) / size));
      const ours = measure(() => {
        for (let i = 0; i < reps; i++) decodeUtf8(input);
      }, reps * input.length);
      const theirs = measure(() => {
        for (let i = 0; i < reps; i++) if (isUtf8(buf)) buf.toString();
      }, reps * input.length);
      report(`utf-8 validate+decode ${kind}`, label, "B/s", ours, theirs, "ws way");
    }
  }
}

if (args.includes("--json")) console.log(JSON.stringify(rows));
