// Client runner: the `ws` package's WebSocket on Node 20 (the system node).
//   node apps/interop/src/clients/ws.mjs --url ws://127.0.0.1:PORT
import { createRequire } from "node:module";
import WebSocket from "ws";
import { clientMain } from "./cli.mjs";

const { version } = createRequire(import.meta.url)("ws/package.json");
await clientMain({
  client: "ws",
  load: async () => ({
    // ws's default maxPayload is 100 MiB; its WebSocket speaks the WHATWG event API as well.
    WebSocket,
    note: `ws ${version}`,
  }),
});
