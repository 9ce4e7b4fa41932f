#!/usr/bin/env node
// The Node echo server of the contract in ARCHITECTURE.md (apps/echo/targets.json):
//   node apps/echo/src/node.mjs --port <port> [--deflate]
// Serves on 127.0.0.1:<port>: every text/binary message echoed unchanged, subprotocols `chat`
// and `superchat` (the first one the client offers), the client's close code and reason echoed,
// permessage-deflate with --deflate, messages up to 64 MiB, `/close?code=C&reason=R` closed by the server at once with that code
// and reason. Prints one line when listening; stops on SIGTERM.
//
// It imports the built `@ws/node` (dist/): run `pnpm build` first.
import { parseArgs } from "node:util";
import { startEchoServer } from "@ws/node";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    deflate: { type: "boolean" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node apps/echo/src/node.mjs --port <port> [--deflate]");
  process.exit(2);
}
// --deflate: accept permessage-deflate (RFC 7692) with every parameter combination a client
// offers (no server-side limits: the client's window bits and no_context_takeover requests
// are honoured as asked).
const echo = await startEchoServer({ port, host: values.host, perMessageDeflate: values.deflate === true });
console.log(`@ws/node echo server listening on ws://${values.host}:${echo.port}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // Close every connection with 1001 (Going Away), waiting at most 1 s, then exit.
  echo.server.close(1000).finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
