// Client runner: Deno's built-in WebSocket.
//   deno run --no-config --no-lock --allow-net apps/interop/src/clients/deno-native.ts --url ws://...
import { clientMain } from "./cli.mjs";

await clientMain({ client: "deno-native", load: async () => ({ WebSocket: globalThis.WebSocket }) });
