// NOT a WebSocket server: the load generator's ceiling. It answers the opening handshake with
// a 101 and then pipes every byte straight back, so the client receives its own (masked)
// frames. The benchmark's frame reader accepts masked frames for exactly this target. The
// server does no per-frame work at all, so the numbers measured against it are what the
// generator itself can drive on this machine.
//
// Usage: node apps/bench/servers/tcp-echo.mjs --port N [--deflate]   (--deflate is ignored)

import { createHash } from "node:crypto";
import net from "node:net";

const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = Number(portIndex >= 0 ? args[portIndex + 1] : Number.NaN);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: tcp-echo.mjs --port N");
  process.exit(2);
}
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEAD_LIMIT = 16 * 1024;

const server = net.createServer({ noDelay: true }, (socket) => {
  /** @type {Buffer} */
  let head = Buffer.alloc(0);
  socket.on("error", () => {});
  /** @param {Buffer} chunk */
  const onHead = (chunk) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (head.length > HEAD_LIMIT) socket.destroy();
      return;
    }
    socket.off("data", onHead);
    const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head.subarray(0, end).toString("latin1"))?.[1] ?? "";
    const accept = createHash("sha1")
      .update(key + GUID)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const rest = head.subarray(end + 4);
    if (rest.length > 0) socket.write(rest);
    socket.pipe(socket);
  };
  socket.on("data", onHead);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`raw TCP echo (generator ceiling, not a WebSocket server) listening on 127.0.0.1:${port}`);
});

process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 300).unref();
});
