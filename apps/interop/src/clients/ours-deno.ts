// Client runner: our WebSocket from @ws/deno, on Deno.
//   deno run --allow-net --allow-read apps/interop/src/clients/ours-deno.ts --url ws://127.0.0.1:PORT
import { clientMain } from "./cli.mjs";
import { loadOurs } from "./ours.mjs";

await clientMain({
  client: "ours-deno",
  load: () => loadOurs("@ws/deno", "deno", ["deno", "import", "default"]),
});
