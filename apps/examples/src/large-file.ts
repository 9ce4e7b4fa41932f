/**
 * Streaming a large file as one message, without holding it in memory on either side: the
 * client sends the file's chunks with `sendStream()` (one frame per chunk, waiting for the send
 * queue between chunks); the server, opened with `streamMessages: true`, reads the message in
 * pieces as they arrive and counts them. Backpressure works both ways.
 *
 *   node dist/large-file.js      (PORT=… to choose the port; default 8080)
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, WebSocketServer } from "@ws/node";

const port = Number(process.env.PORT ?? 8080);
const SIZE = 32 * 1024 * 1024;

const dir = await mkdtemp(join(tmpdir(), "ws-example-"));
const file = join(dir, "large.bin");
await writeFile(file, new Uint8Array(SIZE).fill(7));

const server = new WebSocketServer({ port, host: "127.0.0.1", streamMessages: true });
server.on("connection", async (ws) => {
  let bytes = 0;
  let pieces = 0;
  for await (const piece of ws.pieces()) {
    bytes += piece.data.length; // a binary piece is a Uint8Array; write it to disk, hash it …
    pieces++;
    if (piece.last) {
      ws.send(`received ${bytes} bytes in ${pieces} pieces`);
      ws.close(1000);
    }
  }
});
await new Promise<void>((resolve) => server.once("listening", () => resolve()));

const ws = await connect(`ws://127.0.0.1:${port}`);
await ws.sendStream(createReadStream(file), { binary: true });
for await (const message of ws) console.log(message);
await server.close();
await rm(dir, { recursive: true, force: true });
