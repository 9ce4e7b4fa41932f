/**
 * A broadcast chat: every text message a client sends goes to every connected client (the
 * server's `clients` set), sender included. Three clients join; one speaks; all hear it.
 *
 *   node dist/chat.js      (PORT=… to choose the port; default 8080)
 */
import { connect, type WebSocket, WebSocketServer } from "@ws/node";

const port = Number(process.env.PORT ?? 8080);

const server = new WebSocketServer({ port, host: "127.0.0.1", protocols: ["chat"] });
server.on("connection", (ws, request) => {
  const name = new URL(request.url ?? "/", "http://localhost").searchParams.get("name") ?? "anonymous";
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return; // text only
    for (const client of server.clients) {
      if (client.readyState === client.OPEN) client.send(`${name}: ${event.data}`);
    }
  });
});
await new Promise<void>((resolve) => server.once("listening", () => resolve()));

/** Joins the chat and resolves with the first line heard. */
async function join(name: string): Promise<{ ws: WebSocket; heard: Promise<string> }> {
  const ws = await connect(`ws://127.0.0.1:${port}/?name=${name}`, { protocols: ["chat"] });
  const heard = new Promise<string>((resolve) => {
    ws.addEventListener("message", (event) => resolve(String(event.data)), { once: true });
  });
  return { ws, heard };
}

const people = await Promise.all(["ada", "grace", "linus"].map(join));
people[0]?.ws.send("hello, everyone");
for (const [i, person] of people.entries()) console.log(`client ${i} heard "${await person.heard}"`);
await server.close(); // closes every socket with 1001 (Going Away)
