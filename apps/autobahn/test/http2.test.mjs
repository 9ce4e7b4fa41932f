// The runner's HTTP/2 connections (src/http2.mjs) when several runs share the module, as in the
// conformance test, which runs its targets side by side in one process.

import { afterEach, describe, expect, it } from "vitest";
import { closeConnections, createConnectServer, openStream } from "../src/http2.mjs";

/** @type {(() => Promise<void>)[]} */
const cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * An h2c server that answers every Extended CONNECT with 200 and counts its connections.
 * @returns {Promise<{ port: number, sessions: () => number }>}
 */
async function connectServer() {
  const server = createConnectServer((stream) => {
    stream.respond({ ":status": 200 });
  });
  /** @type {Set<import("node:http2").ServerHttp2Session>} */
  const open = new Set();
  let sessions = 0;
  server.on("session", (session) => {
    sessions++;
    open.add(session);
    session.on("close", () => open.delete(session));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  cleanups.push(async () => {
    for (const session of open) session.destroy();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  return { port: address.port, sessions: () => sessions };
}

/**
 * The stream {@link openStream} opened, reset when the test ends.
 * @param {Awaited<ReturnType<typeof openStream>>} opened
 */
function streamOf(opened) {
  if ("error" in opened) throw new Error(opened.error);
  cleanups.push(async () => {
    opened.stream.destroy();
  });
  return opened.stream;
}

describe("HTTP/2 connections of concurrent runs", () => {
  it("closing one target's connection leaves another target's connection and its new stream alone", async () => {
    const a = await connectServer();
    const b = await connectServer();
    cleanups.push(() => closeConnections(b.port));
    const streamA = streamOf(await openStream(a.port, { transport: "h2c", timeoutMs: 2000 }));
    streamOf(await openStream(b.port, { transport: "h2c", timeoutMs: 2000 }));
    // Run A ends while a case of run B is opening its stream on B's shared connection, and
    // another case of run B starts just after: a GOAWAY on B's connection would refuse the first
    // stream (REFUSED_STREAM, the failure CI saw) and move the second to a new connection.
    const pending = openStream(b.port, { transport: "h2c", timeoutMs: 2000 });
    const closing = closeConnections(a.port);
    const later = openStream(b.port, { transport: "h2c", timeoutMs: 2000 });
    for (const opened of [await pending, await later]) {
      expect("error" in opened ? opened.error : "opened").toBe("opened");
      streamOf(opened);
    }
    // All three of B's streams went over its one connection.
    expect(b.sessions()).toBe(1);
    // A's graceful close waits for A's last stream.
    streamA.destroy();
    await closing;
  });
});
