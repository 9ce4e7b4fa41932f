#!/usr/bin/env node
// The Node echo server of the contract in ARCHITECTURE.md over HTTP/2 (RFC 8441), targets
// `node-h2` and `node-h2-tls` of apps/echo/targets.json:
//   node apps/echo/src/node-h2.mjs --port <port> [--tls] [--deflate]
// The same echo as `node`, served by @ws/node's WebSocketServer attached to a node:http2
// server that advertises SETTINGS_ENABLE_CONNECT_PROTOCOL: cleartext HTTP/2 with prior
// knowledge (h2c), or with --tls HTTP/2 over TLS (ALPN h2) with the test certificate in
// apps/echo/tls (for tests only). Each WebSocket is one Extended CONNECT stream.
// It imports the built `@ws/node` (dist/): run `pnpm build` first.
import { readFileSync } from "node:fs";
import { createSecureServer, createServer } from "node:http2";
import { WebSocketServer } from "@ws/node";
import { ECHO_SERVER_OPTIONS, serveEcho } from "./echo.mjs";
import { runEchoCli } from "./echo-cli.mjs";

await runEchoCli("@ws/node over HTTP/2", async (options) => {
  const settings = { enableConnectProtocol: true };
  // A conformance run puts every case on one HTTP/2 connection. Node answers a new stream with
  // RST_STREAM ENHANCE_YOUR_CALM while the session holds more than `maxSessionMemory` (10 MB by
  // default; the data queued on its streams counts), and the echo contract allows messages up to
  // 16 MiB: give the session room for one of them on its way back.
  const maxSessionMemory = 64;
  const server =
    options.tls === true
      ? createSecureServer({
          cert: readFileSync(new URL("../tls/cert.pem", import.meta.url)),
          key: readFileSync(new URL("../tls/key.pem", import.meta.url)),
          settings,
          maxSessionMemory,
        })
      : createServer({ settings, maxSessionMemory });
  const sessions = new Set();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  // The echo contract's options, attached to the HTTP/2 server instead of listening.
  const { host: _host, port: _port, ...echoOptions } = ECHO_SERVER_OPTIONS;
  const wss = new WebSocketServer({ ...echoOptions, server, perMessageDeflate: options.perMessageDeflate });
  wss.on("connection", serveEcho);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(undefined));
  });
  return {
    port: server.address().port,
    server: {
      // Every socket gets 1001, then the HTTP/2 connections are closed (GOAWAY) with the server.
      async close() {
        await wss.close();
        for (const session of sessions) session.close();
        await new Promise((resolve) => server.close(() => resolve(undefined)));
      },
    },
  };
});
