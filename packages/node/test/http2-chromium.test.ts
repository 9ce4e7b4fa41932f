// Proof with a real browser: headless Chromium (tools/test-support/chromium.mjs: Debian's
// /usr/bin/chromium; no browser download) loads a page from our HTTPS HTTP/2 server and opens
// WebSockets to it. Chromium uses RFC 8441 only on an HTTP/2 connection it already has to the
// origin whose SETTINGS enabled the Extended CONNECT protocol: the page load makes it. The
// server checks that every socket arrived as an Extended CONNECT stream (not an HTTP/1.1
// upgrade), all on the page's connection. Skipped where /usr/bin/chromium is missing.
import { readFileSync } from "node:fs";
import { createSecureServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../../../tools/test-support/chromium.mjs";
import { type Http2ConnectRequest, type UpgradeRequest, WebSocketServer } from "../src/index.ts";
import { cleanup, defer } from "./helpers.ts";

const tlsDir = fileURLToPath(new URL("../../../apps/echo/tls/", import.meta.url));

afterEach(cleanup);

const PAGE = `<!doctype html><meta charset="utf-8"><title>h2 websockets</title>
<script>
  window.openSockets = (count) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => new Promise((resolve, reject) => {
        const ws = new WebSocket("wss://" + location.host + "/ws", ["chat"]);
        ws.onopen = () => ws.send("hello " + i);
        ws.onmessage = (event) => {
          resolve({ data: event.data, protocol: ws.protocol, extensions: ws.extensions });
          ws.close(1000, "done");
        };
        ws.onerror = () => reject(new Error("socket " + i + " failed"));
      })),
    );
</script>`;

describe.skipIf(chromiumMissing() !== undefined)("Chromium opens WebSockets over HTTP/2 (RFC 8441)", () => {
  it("sends Extended CONNECT streams on the page's HTTP/2 connection, several at once", async () => {
    const server = createSecureServer(
      {
        cert: readFileSync(`${tlsDir}cert.pem`),
        key: readFileSync(`${tlsDir}key.pem`),
        allowHTTP1: true,
        settings: { enableConnectProtocol: true },
      },
      (request, response) => {
        pageLoads.push({ httpVersion: request.httpVersion, session: request.stream?.session });
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end(PAGE);
      },
    );
    const pageLoads: { httpVersion: string; session: Http2Session | undefined }[] = [];
    let upgrades = 0;
    server.on("upgrade", () => upgrades++);
    const sessions = new Set<Http2Session>();
    server.on("session", (session) => sessions.add(session));
    defer(server, (s) => {
      const closed = new Promise((resolve) => s.close(resolve));
      for (const session of sessions) session.close();
      return closed;
    });
    const wss = defer(
      new WebSocketServer({ server, path: "/ws", protocols: ["chat"], perMessageDeflate: true }),
      (s) => s.close(100),
    );
    const requests: UpgradeRequest[] = [];
    // Captured at once: a stream forgets its session when it closes.
    const connections = new Set<Http2Session | undefined>();
    const closes: number[] = [];
    wss.on("connection", (ws, request) => {
      requests.push(request);
      connections.add((request as Http2ConnectRequest).stream?.session);
      ws.onmessage = (event) => ws.send(`echo: ${String((event as MessageEvent).data)}`);
      ws.onclose = (event) => closes.push((event as CloseEvent).code);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;

    const browser = defer(await launchChromium(["--ignore-certificate-errors"]), (b) => b.close());
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`https://localhost:${port}/`);
    const results = await page.evaluate(
      (count) => (window as unknown as { openSockets(count: number): Promise<unknown[]> }).openSockets(count),
      4,
    );

    expect(results).toEqual(
      [0, 1, 2, 3].map((i) => ({
        data: `echo: hello ${i}`,
        protocol: "chat",
        extensions: expect.stringMatching(/^permessage-deflate/),
      })),
    );
    // The page came over HTTP/2, and every socket is an Extended CONNECT stream on that very
    // connection: no HTTP/1.1 upgrade, one TCP + TLS connection for all.
    expect(pageLoads[0]?.httpVersion).toBe("2.0");
    expect(upgrades).toBe(0);
    expect(requests).toHaveLength(4);
    for (const request of requests) {
      expect(request.httpVersion).toBe("2.0");
      expect(request.method).toBe("CONNECT");
      expect(request.headers[":protocol"]).toBe("websocket");
      expect(request.headers.origin).toBe(`https://localhost:${port}`);
    }
    expect(connections.size).toBe(1);
    expect([...connections][0]).toBeDefined();
    expect([...connections][0]).toBe(pageLoads[0]?.session);
    await expect.poll(() => closes.length).toBe(4);
    expect(closes).toEqual([1000, 1000, 1000, 1000]);
  });
});
