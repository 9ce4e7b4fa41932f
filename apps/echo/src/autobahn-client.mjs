// The Autobahn client protocol, written once for every runtime's WebSocket class
// (ARCHITECTURE.md, "Contracts other tools rely on"): GET <url>/getCaseCount reads a number;
// for each case i, connect to <url>/runCase?case=i&agent=<agent> and echo every message until
// the server closes; finally <url>/updateReports?agent=<agent>. The per-runtime entry points
// (autobahn-client-node.mjs, -deno.ts, -bun.ts) only pick the WebSocket class and read argv.

/**
 * Runs every case against the fuzzing server at `base`; resolves with the case count.
 * `options` are extra options of each `WebSocket` (e.g. `{ http2: true }` on Node).
 * @param {{ WebSocket: any, base: string, agent: string, debug?: boolean, options?: object }} options
 * @returns {Promise<number>}
 */
export async function runAutobahnClient({ WebSocket, base, agent, debug = false, options = {} }) {
  const root = base.replace(/\/+$/, "");
  /**
   * Opens `url`, calls `onMessage(ws, data)` for each message, resolves when it closes.
   * @param {string} url @param {(ws: any, data: unknown) => void} onMessage
   */
  const session = (url, onMessage) =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, undefined, {
        ...options,
        binaryType: "uint8array",
        handshakeTimeout: 60_000,
      });
      ws.onmessage = (/** @type {{ data: unknown }} */ event) => onMessage(ws, event.data);
      ws.onerror = (/** @type {{ message?: string }} */ event) => {
        if (debug) console.error(url, event.message);
      };
      ws.onclose = resolve;
    });

  let count = 0;
  await session(`${root}/getCaseCount`, (_ws, data) => {
    count = Number(data);
  });
  if (!Number.isInteger(count) || count <= 0)
    throw new Error(`cannot read the case count from ${root}/getCaseCount`);
  for (let i = 1; i <= count; i++) {
    await session(`${root}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`, (ws, data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data);
    });
  }
  await session(`${root}/updateReports?agent=${encodeURIComponent(agent)}`, () => {});
  return count;
}
