// The HTTP/2 example of README.md, verbatim between the markers (readme.test.ts checks that
// they are equal), so that the README's code is type-checked with the tests.
// README:BEGIN
import { readFileSync } from "node:fs";
import { createSecureServer } from "node:http2";
import { connect, WebSocketServer } from "@ws/node";

const server = createSecureServer({
  cert: readFileSync("cert.pem"),
  key: readFileSync("key.pem"),
  allowHTTP1: true, // HTTP/1.1 upgrades on the same port
  settings: { enableConnectProtocol: true }, // RFC 8441 §3, in the very first SETTINGS frame
});
const wss = new WebSocketServer({ server, path: "/chat", protocols: ["chat"] });
wss.on("connection", async (ws, request) => {
  console.log(request.httpVersion, ws.httpVersion); // "2.0" "2" (an Extended CONNECT stream)
  for await (const message of ws) ws.send(message);
});
server.listen(8443);

// One HTTP/2 connection per origin, shared by every socket opened with `http2`.
const ws = await connect("wss://localhost:8443/chat", {
  http2: "auto", // HTTP/1.1 when the server does not offer RFC 8441
  ca: readFileSync("cert.pem"),
  protocols: ["chat"],
});
console.log(ws.httpVersion); // "2"
// README:END
