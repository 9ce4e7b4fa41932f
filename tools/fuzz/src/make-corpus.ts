/**
 * Writes the seed corpus (`corpus/<group>/<name>`): small valid inputs that reach every part of
 * the codec, which the fuzzer then mutates. Deterministic (fixed masking keys, fixed handshake
 * key), so re-running it changes nothing. Run with `pnpm --filter @ws-internal/fuzz corpus`.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { encodeClosePayload } from "@ws/codec/close";
import { Connection, type OutboundEvent } from "@ws/codec/connection";
import { concatBytes } from "./check.ts";
import { CORPUS_DIR } from "./corpus.ts";
import { negotiateDeflate, SEED_ACCEPT, SEED_KEY } from "./handshakes.ts";

const ascii = new TextEncoder();

function write(group: string, name: string, bytes: Uint8Array | string): void {
  const dir = new URL(`${group}/`, CORPUS_DIR);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(name, dir), typeof bytes === "string" ? ascii.encode(bytes) : bytes);
}

/** Message scripts: each becomes one seed per role. */
const SCRIPTS: Record<string, OutboundEvent[]> = {
  "text-close": [
    { type: "text", data: "Hello" },
    { type: "close", code: 1000, reason: "bye" },
  ],
  "utf8-mixed": [
    { type: "text", data: "héllo wörld € 𝄞 ✓" },
    { type: "binary", data: new Uint8Array([0, 1, 2, 255]) },
    { type: "close" },
  ],
  "fragmented-interleaved": [
    { type: "text-piece", data: "frag", last: false },
    { type: "ping", payload: new Uint8Array([1, 2, 3]) },
    { type: "text-piece", data: "ment€", last: false },
    { type: "pong", payload: new Uint8Array([]) },
    { type: "text-piece", data: "ed", last: true },
    { type: "close", code: 1001, reason: "going" },
  ],
  "length-16": [{ type: "binary", data: new Uint8Array(300).fill(0x41) }, { type: "ping" }],
  "length-64": [{ type: "binary", data: new Uint8Array(65_540).fill(0x42) }],
  "many-fragments": [
    ...Array.from(
      { length: 12 },
      (_, i): OutboundEvent => ({
        type: "binary-piece",
        data: new Uint8Array([i]),
        last: i === 11,
      }),
    ),
    { type: "close", code: 4000, reason: "" },
  ],
  "empty-messages": [
    { type: "text", data: "" },
    { type: "binary", data: new Uint8Array(0) },
    { type: "ping", payload: new Uint8Array(125).fill(7) },
  ],
};

function stream(role: "client" | "server", events: OutboundEvent[], connection?: Connection): Uint8Array {
  const conn = connection ?? new Connection({ role, random: (target) => target.fill(0x5a) });
  const parts: Uint8Array[] = [];
  for (const event of events) {
    const bytes = conn.send(event);
    if (bytes instanceof Promise) throw new Error("unexpected asynchronous send");
    parts.push(...bytes);
  }
  return concatBytes(parts);
}

async function asyncStream(conn: Connection, events: OutboundEvent[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const event of events) parts.push(...(await conn.send(event)));
  return concatBytes(parts);
}

for (const [name, events] of Object.entries(SCRIPTS)) {
  write("frames-masked", `${name}.bin`, stream("client", events));
  write("frames-unmasked", `${name}.bin`, stream("server", events));
}

// permessage-deflate streams under the negotiation the deflate targets use (threshold 0:
// every message compressed), both directions.
for (const [name, events] of Object.entries(SCRIPTS)) {
  const { client, server } = negotiateDeflate({ threshold: 0 });
  write(
    "deflate-masked",
    `${name}.bin`,
    await asyncStream(
      new Connection({ role: "client", extensions: client, random: (t) => t.fill(0x5a) }),
      events,
    ),
  );
  write(
    "deflate-unmasked",
    `${name}.bin`,
    await asyncStream(new Connection({ role: "server", extensions: server }), events),
  );
  for (const extension of [...client, ...server]) extension.close?.();
}
// An inflate bomb: 1 MiB of zeros compressed, as one message.
{
  const { client, server } = negotiateDeflate({ threshold: 0 });
  const conn = new Connection({ role: "client", extensions: client, random: (t) => t.fill(0x5a) });
  write(
    "deflate-masked",
    "bomb.bin",
    await asyncStream(conn, [{ type: "binary", data: new Uint8Array(1 << 20) }]),
  );
  for (const extension of [...client, ...server]) extension.close?.();
}

const REQUESTS: Record<string, string> = {
  "minimal.txt":
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${SEED_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  "full.txt":
    "GET /chat?room=1&x=%20 HTTP/1.1\r\nHost: server.example.com:8080\r\nUpgrade: WebSocket\r\n" +
    "Connection: keep-alive, Upgrade\r\nOrigin: http://example.com\r\n" +
    `Sec-WebSocket-Key: ${SEED_KEY}\r\nSec-WebSocket-Version: 13\r\n` +
    "Sec-WebSocket-Protocol: chat, superchat\r\n" +
    'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_max_window_bits="10", permessage-deflate\r\n' +
    "Cookie: a=b; c=d\r\nUser-Agent: fuzz\r\n\r\n",
  "lf-only.txt":
    "GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n" +
    `Sec-WebSocket-Key: ${SEED_KEY}\nSec-WebSocket-Version: 13\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\n\n`,
  "repeated-headers.txt":
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nConnection: close\r\n" +
    `Sec-WebSocket-Key: ${SEED_KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n` +
    "Sec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Extensions: x-unknown; a=1\r\n" +
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n\r\n",
  "version-8.txt":
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${SEED_KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n`,
};
for (const [name, text] of Object.entries(REQUESTS)) write("http-request", name, text);
// A request followed at once by a masked frame (the head parser's `rest`).
write(
  "http-request",
  "with-frame.bin",
  concatBytes([
    ascii.encode(REQUESTS["minimal.txt"] as string),
    stream("client", [{ type: "text", data: "early" }]),
  ]),
);

const ACCEPT_HEAD = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${SEED_ACCEPT}\r\n`;
const RESPONSES: Record<string, string> = {
  "101-minimal.txt": `${ACCEPT_HEAD}\r\n`,
  "101-protocol.txt": `${ACCEPT_HEAD}Sec-WebSocket-Protocol: chat\r\n\r\n`,
  "101-deflate.txt": `${ACCEPT_HEAD}Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n`,
  "101-deflate-quoted.txt": `${ACCEPT_HEAD}Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits="12"\r\nSec-WebSocket-Protocol: superchat\r\n\r\n`,
  "101-lf.txt": `${ACCEPT_HEAD.replaceAll("\r\n", "\n")}\n`,
  "400-body.txt":
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nbad request",
  "403-no-length.txt": "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nnot allowed here",
  "302-location.txt": "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/next\r\nContent-Length: 0\r\n\r\n",
  "200-chunked.txt": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
};
for (const [name, text] of Object.entries(RESPONSES)) write("http-response", name, text);
// A 101 followed at once by a server frame.
write(
  "http-response",
  "101-with-frame.bin",
  concatBytes([
    ascii.encode(RESPONSES["101-minimal.txt"] as string),
    stream("server", [{ type: "text", data: "hi" }]),
  ]),
);

const EXTENSIONS: Record<string, string> = {
  "deflate-plain.txt": "permessage-deflate",
  "deflate-params.txt": "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
  "deflate-quoted.txt": 'permessage-deflate; server_max_window_bits="15", permessage-deflate',
  "several.txt":
    "x-foo;a=1;b, permessage-deflate ; client_no_context_takeover ; server_no_context_takeover , bar",
  "quoted-escape.txt": 'x; a="b\\c"; d="12"',
};
for (const [name, text] of Object.entries(EXTENSIONS)) write("extensions", name, text);
const PROTOCOLS: Record<string, string> = {
  "one.txt": "chat",
  "two.txt": "chat, superchat",
  "spaces.txt": "  chat ,\tsuperchat,v1.json.api  ",
  "tokens.txt": "a!#$%&'*+-.^_`|~z, 0",
};
for (const [name, text] of Object.entries(PROTOCOLS)) write("protocols", name, text);

write("close", "empty.bin", new Uint8Array(0));
write("close", "normal.bin", encodeClosePayload(1000));
write("close", "reason.bin", encodeClosePayload(1001, "going away"));
write("close", "utf8.bin", encodeClosePayload(4999, "€ 𝄞 ✓"));
write("close", "long.bin", encodeClosePayload(3000, "x".repeat(123)));

console.log(`corpus written to ${CORPUS_DIR.pathname}`);
