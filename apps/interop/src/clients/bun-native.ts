// Client runner: Bun's built-in WebSocket.
//   bun run apps/interop/src/clients/bun-native.ts --url ws://...
import { clientMain } from "./cli.mjs";

await clientMain({ client: "bun-native", load: async () => ({ WebSocket: globalThis.WebSocket }) });
