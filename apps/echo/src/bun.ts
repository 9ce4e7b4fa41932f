// The Bun echo server of the contract in ARCHITECTURE.md (apps/echo/targets.json), run from
// the TypeScript sources (no build):
//   node_modules/bun/bin/bun.exe --conditions=@ws/source apps/echo/src/bun.ts --port <port> [--deflate]
// Serves on 127.0.0.1:<port> with @ws/bun's startEchoServer: every text/binary message echoed
// unchanged, subprotocols `chat` and `superchat`, the client's close code and reason echoed,
// permessage-deflate with --deflate, messages up to 64 MiB, `/close?code=C&reason=R` closed by
// the server at once. Prints one line when listening; stops on SIGTERM.
import process from "node:process";
import { parseArgs } from "node:util";
import { startEchoServer } from "../../../packages/bun/src/index.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    deflate: { type: "boolean" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: bun apps/echo/src/bun.ts --port <port> [--deflate]");
  process.exit(2);
}
// --deflate: accept permessage-deflate (RFC 7692) with every parameter combination a client
// offers (no server-side limits: the client's window bits and no_context_takeover requests
// are honoured as asked).
const echo = await startEchoServer({ port, host: values.host, perMessageDeflate: values.deflate === true });
console.log(`@ws/bun echo server listening on ws://${values.host}:${echo.port}`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // Close every connection with 1001 (Going Away), waiting at most 1 s, then exit.
  echo.server.close(1000).finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
