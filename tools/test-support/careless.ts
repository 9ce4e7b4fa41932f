/**
 * A program written the careless way (issue 12, "Never crash, never hang"), run as a child
 * process by each adapter's tests: unawaited `ping()` while the peer goes away by FIN and by
 * RST, `ping()` after close, unawaited `connect()`/`opened`/`sendStream()` that fail, and
 * listeners that throw (sync and async) on both sides. It must exit 0 with no unhandled
 * rejection or uncaught exception (the runtime's default for both ends the process non-zero),
 * and a second connection must still echo after the first one's listeners threw.
 *
 * Usage: `<runtime> careless.ts <path of the adapter's entry module>`; prints `careless: ok`
 * and the count of errors the server reported.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type AddressInfo, createServer, type Socket } from "node:net";

type Adapter = typeof import("../../packages/node/src/index.ts");
const adapter = (await import(process.argv[2] as string)) as Adapter;
const { WebSocket, WebSocketServer, connect } = adapter;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw peer that completes the handshake, then ends (FIN) or resets (RST) on the first frame. */
async function rawPeer(how: "fin" | "rst"): Promise<{ port: number; close: () => void }> {
  const server = createServer((socket: Socket) => {
    let upgraded = false;
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      if (!upgraded) {
        const key = /sec-websocket-key:\s*(\S+)/i.exec(chunk.toString("latin1"))?.[1] ?? "";
        const accept = createHash("sha1")
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest("base64");
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        upgraded = true;
        return;
      }
      // The client's ping arrived: go away before answering it.
      if (how === "rst" && typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
      else socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

function closed(ws: InstanceType<typeof WebSocket>): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve();
    else ws.addEventListener("close", () => resolve(), { once: true });
  });
}

// 1. Unawaited ping() while the peer goes away, by FIN and by RST.
for (const how of ["fin", "rst"] as const) {
  const peer = await rawPeer(how);
  const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/`);
  ws.onopen = () => {
    ws.ping(); // The usual keep-alive: no await, no catch.
    ws.ping();
  };
  await closed(ws);
  // 2. ping() after close, unawaited.
  ws.ping();
  peer.close();
}

// 3. A server whose sockets' listeners throw, and a client whose listeners throw.
let reported = 0;
const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
server.on("error", () => {
  reported++;
});
await new Promise<void>((resolve) => server.once("listening", () => resolve()));
const port = (server.address() as AddressInfo).port;
server.on("connection", (socket) => {
  socket.onmessage = (event) => {
    if (event.data === "throw") throw new Error("onmessage threw");
    socket.send(event.data as string);
  };
  socket.addEventListener("message", (event) => {
    if ((event as MessageEvent).data === "throw") throw new Error("a message listener threw");
  });
  socket.addEventListener("message", async (event) => {
    if ((event as MessageEvent).data === "throw") throw new Error("an async message listener threw");
  });
  socket.addEventListener("close", () => {
    throw new Error("a close listener threw");
  });
  socket.ping(); // Unawaited, on the server side: this peer leaves without answering it.
});

const careless = new WebSocket(`ws://127.0.0.1:${port}/`);
careless.onopen = () => {
  careless.send("throw");
  throw new Error("an open listener threw");
};
careless.onmessage = () => {
  throw new Error("a client onmessage threw");
};
careless.onclose = () => {
  throw new Error("a client close listener threw");
};
careless.onerror = () => {
  throw new Error("an error listener threw");
};
await sleep(50);
// The server still serves another connection while the first is open and after it went.
const fresh = await connect(`ws://127.0.0.1:${port}/`);
const echoed = new Promise((resolve) => fresh.addEventListener("message", (event) => resolve(event.data)));
fresh.send("hello");
if ((await echoed) !== "hello") throw new Error("the fresh connection got no echo");
careless.terminate();
await closed(careless);
fresh.close();
await closed(fresh);

// 4. Promises nobody awaits, that fail: connect(), opened, sendStream().
connect("ws://127.0.0.1:1/");
const refused = new WebSocket("ws://127.0.0.1:1/");
void refused.opened; // made, then forgotten
refused.sendStream(["a", "b"]);
await closed(refused);

await server.close();
await sleep(50);
console.log(`careless: ok, server reported ${reported}`);
