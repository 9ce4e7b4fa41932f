/**
 * Authentication in `verify`: the server accepts an upgrade only with the right bearer token
 * (from the `Authorization` header; browsers cannot set headers, so they would send it as a
 * subprotocol or a cookie instead) and rejects the others with 401 before any WebSocket exists.
 *
 *   node dist/auth.js      (PORT=… to choose the port; default 8080)
 */
import { connect, HandshakeRejectedError, WebSocketServer } from "@ws/node";

const port = Number(process.env.PORT ?? 8080);
const TOKEN = "s3cret";

const server = new WebSocketServer({
  port,
  host: "127.0.0.1",
  // Runs before the 101; may be async (look the token up in a database …).
  verify: async (info) => {
    if (info.headers.authorization === `Bearer ${TOKEN}`) return true;
    return {
      status: 401,
      headers: { "WWW-Authenticate": 'Bearer realm="chat"' },
      body: "a valid bearer token is required",
    };
  },
});
server.on("connection", (ws) => ws.send("welcome"));
await new Promise<void>((resolve) => server.once("listening", () => resolve()));

const url = `ws://127.0.0.1:${port}`;
const ws = await connect(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
for await (const message of ws) {
  console.log("with the token:", message);
  ws.close();
}

try {
  await connect(url, { headers: { Authorization: "Bearer wrong" } });
  throw new Error("the server accepted a wrong token");
} catch (error) {
  if (!(error instanceof HandshakeRejectedError)) throw error;
  console.log("without it:", error.status, error.body);
}
await server.close();
