// Client runner: our WebSocket from @ws/node (its built dist/), on Node 20.
//   node apps/interop/src/clients/ours-node.mjs --url ws://127.0.0.1:PORT
import { clientMain } from "./cli.mjs";
import { loadOurs } from "./ours.mjs";

await clientMain({
  client: "ours-node",
  load: () => loadOurs("@ws/node", "node", ["node", "import", "default"], "@ws/node"),
});
