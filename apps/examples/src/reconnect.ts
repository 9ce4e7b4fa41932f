/**
 * A client that reconnects: after a failed attempt (connection refused, handshake rejected) or
 * a connection that ended without a normal close (1006 after a network error, 1001 or 1012 when
 * the server goes away or restarts), it waits with exponential backoff and jitter, then tries
 * again. Here the client starts before the server, and the server restarts once.
 *
 *   node dist/reconnect.js      (PORT=… to choose the port; default 8080)
 */
import { connect, type WebSocket, WebSocketServer } from "@ws/node";

const port = Number(process.env.PORT ?? 8080);
const url = `ws://127.0.0.1:${port}`;

/** Keeps a connection to `url` open, calling `onOpen` for each new one, until `stop()`. */
function keepConnected(onOpen: (ws: WebSocket) => void): { stop: () => void } {
  let stopped = false;
  let current: WebSocket | undefined;
  let attempt = 0;
  const run = async (): Promise<void> => {
    while (!stopped) {
      try {
        const ws = await connect(url, { handshakeTimeout: 5000 });
        current = ws;
        attempt = 0;
        onOpen(ws);
        const event = await new Promise<{ code: number }>((resolve) => {
          ws.addEventListener("close", resolve, { once: true });
        });
        if (event.code === 1000 || stopped) return; // closed on purpose: do not come back
        console.log(`connection lost (${event.code}), reconnecting`);
      } catch (error) {
        console.log(`attempt ${attempt + 1} failed: ${(error as Error).message}`);
      }
      // 100 ms, 200 ms, 400 ms … up to 5 s, with jitter so that clients do not come back together.
      const delay = Math.min(5000, 100 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
  void run();
  return {
    stop: () => {
      stopped = true;
      current?.close(1000);
    },
  };
}

function startServer(): WebSocketServer {
  const server = new WebSocketServer({ port, host: "127.0.0.1" });
  server.on("connection", (ws) => ws.send("welcome"));
  return server;
}

let welcomes = 0;
let server: WebSocketServer | undefined;
const done = new Promise<void>((resolve) => {
  const client = keepConnected((ws) => {
    ws.addEventListener("message", async (event) => {
      console.log("server says:", event.data);
      if (++welcomes === 1) {
        // The server restarts: its sockets are closed with 1001, the client comes back.
        await server?.close();
        server = startServer();
      } else {
        client.stop();
        resolve();
      }
    });
  });
});
// The server starts a little after the client's first attempts.
setTimeout(() => {
  server = startServer();
}, 300);
await done;
await server?.close();
