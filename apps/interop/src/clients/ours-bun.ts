// Client runner: our WebSocket from @ws/bun, on Bun.
//   bun run apps/interop/src/clients/ours-bun.ts --url ws://127.0.0.1:PORT
import { clientMain } from "./cli.mjs";
import { loadOurs } from "./ours.mjs";

await clientMain({
  client: "ours-bun",
  load: () => loadOurs("@ws/bun", "bun", ["bun", "import", "default"]),
});
