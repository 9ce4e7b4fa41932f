/**
 * An echo server and a client: text and binary messages come back unchanged.
 *
 *   node dist/echo.js      (PORT=… to choose the port; default 8080)
 */
import { connect, WebSocketServer } from "@ws/node";

const port = Number(process.env.PORT ?? 8080);

const server = new WebSocketServer({ port, host: "127.0.0.1" });
server.on("connection", (ws) => {
  // A server's sockets deliver binary messages as Uint8Array (binaryType "uint8array").
  ws.onmessage = (event) => ws.send(event.data);
});
await new Promise<void>((resolve) => server.once("listening", () => resolve()));

const ws = await connect(`ws://127.0.0.1:${port}`, { binaryType: "arraybuffer" });
ws.send("hello");
ws.send(new Uint8Array([1, 2, 3]));
let received = 0;
for await (const message of ws) {
  // Iteration yields strings and Uint8Arrays whatever binaryType is.
  console.log(typeof message === "string" ? `text: ${message}` : `binary: ${message.length} bytes`);
  if (++received === 2) ws.close(1000, "done");
}
await server.close();
