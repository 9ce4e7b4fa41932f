#!/usr/bin/env node
// The chat demo (`pnpm start` at the repository root builds @ws/node, then runs this):
//   PORT=8080 HOST=127.0.0.1 node apps/demo/src/server.mjs [--redis redis://127.0.0.1:6379]
// Serves the chat page on http://HOST:PORT/ and the WebSocket endpoint ws://HOST:PORT/chat
// (subprotocol `chat`). PORT=0 picks a free port; the line printed when listening tells which.
// SIGINT / SIGTERM close every connection with 1001 (Going Away) and exit.
//
// It imports the built `@ws/node` (dist/): `pnpm start` builds it first.
import { parseArgs } from "node:util";
import { startChatServer } from "./chat.mjs";

// --redis URL: rooms span every server process that uses the same Redis (see the README).
const { values } = parseArgs({ options: { redis: { type: "string" } } });

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `PORT must be a TCP port number (0-65535, 0 for any free port), not ${JSON.stringify(process.env.PORT)}`,
  );
  process.exit(2);
}

let chat;
try {
  chat = await startChatServer({ port, host, redis: values.redis });
} catch (error) {
  if (error?.code === "EADDRINUSE") {
    console.error(
      `Port ${port} on ${host} is already in use: stop what uses it or pick another, e.g. PORT=8081`,
    );
  } else {
    console.error("Cannot start the chat demo:", error);
  }
  process.exit(1);
}
console.log(
  `Chat demo listening on ${chat.url}${values.redis === undefined ? "" : ` (rooms shared through ${values.redis})`}`,
);
console.log(
  `  open ${chat.url}/ in a browser (WebSocket endpoint ${chat.url.replace(/^http/, "ws")}/chat); Ctrl+C stops`,
);

let stopping = false;
/** @param {NodeJS.Signals} signal */
function stop(signal) {
  if (stopping) {
    console.log("Stopping at once.");
    process.exit(130);
  }
  stopping = true;
  console.log(`${signal}: closing every connection (1001 Going Away) …`);
  chat.close(2000).then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
