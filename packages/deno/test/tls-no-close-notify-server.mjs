// A WebSocket server over Node's TLS (OpenSSL) that, once the close handshake is done, drops the
// connection without a TLS close_notify alert (`destroy()` instead of `end()`), as many servers
// do. Run by deno_test.ts (Deno's own TLS stack sends close_notify on close(), so it cannot play
// this peer): `node tls-no-close-notify-server.mjs CERT_FILE KEY_FILE`; prints the port.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:tls";

const [certFile, keyFile] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (socket) => {
  let head = "";
  let upgraded = false;
  socket.on("data", (chunk) => {
    if (upgraded) {
      // The client's close frame: the close handshake is done. Drop the connection.
      socket.destroy();
      server.close();
      return;
    }
    head += chunk.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    upgraded = true;
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head)[1];
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.write(Buffer.from([0x88, 0x02, 0x03, 0xe8])); // a close frame, 1000
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
