// The client's HTTP CONNECT proxy support (RFC 9110 §9.3.6), against a tiny proxy written here
// on node:net: it reads the CONNECT head itself, so what the client sends is checked byte for
// byte, and it counts the bytes it tunnels, so a test knows the tunnel carried the connection.
import { type AddressInfo, createServer, connect as netConnect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connect, WebSocketError } from "../src/index.ts";
import { cleanup, defer, nextEvent, startEchoServer } from "./helpers.ts";

afterEach(cleanup);

interface ProxyLog {
  /** The CONNECT request heads received, as text. */
  readonly heads: string[];
  /** Tunnels opened. */
  tunnels: number;
  /** Bytes tunneled client → upstream and upstream → client. */
  up: number;
  down: number;
  /** Client sockets the proxy has seen closed. */
  closed: number;
}

/**
 * A CONNECT proxy on 127.0.0.1. `route(authority)` names the upstream port for a CONNECT target
 * (so a name that does not resolve can only be reached through the proxy), or returns a
 * response head to refuse with.
 */
async function netProxy(
  route: (authority: string) => number | string,
): Promise<{ url: string; log: ProxyLog }> {
  const log: ProxyLog = { heads: [], tunnels: 0, up: 0, down: 0, closed: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => {
      log.closed++;
      sockets.delete(client);
    });
    client.on("error", () => {});
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.off("data", onData);
      const head = buffered.subarray(0, end).toString("latin1");
      const rest = buffered.subarray(end + 4);
      log.heads.push(head);
      const [method, authority] = head.split("\r\n")[0]?.split(" ") ?? [];
      const target = method === "CONNECT" ? route(authority ?? "") : "HTTP/1.1 405 Method Not Allowed";
      if (typeof target === "string") {
        client.end(`${target}\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const upstream = netConnect({ host: "127.0.0.1", port: target }, () => {
        log.tunnels++;
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (rest.length > 0) {
          log.up += rest.length;
          upstream.write(rest);
        }
        client.on("data", (bytes: Buffer) => {
          log.up += bytes.length;
          upstream.write(bytes);
        });
        upstream.on("data", (bytes: Buffer) => {
          log.down += bytes.length;
          client.write(bytes);
        });
        client.on("end", () => upstream.end());
        upstream.on("end", () => client.end());
      });
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
    };
    client.on("data", onData);
  });
  defer(server, (s) => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => s.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log };
}

describe("HTTP CONNECT proxy (node:net proxy)", () => {
  it("opens the WebSocket through the tunnel, with a correct CONNECT head", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    // `echo.internal` does not resolve: only the proxy knows where it is.
    const { url, log } = await netProxy((authority) =>
      authority === "echo.internal:9999" ? echo.port : "HTTP/1.1 502 Bad Gateway",
    );
    const ws = defer(await connect("ws://echo.internal:9999/chat", { proxy: url }), (c) => c.terminate());
    ws.send("through the tunnel");
    expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe("through the tunnel");
    expect(log.tunnels).toBe(1);
    expect(log.heads).toHaveLength(1);
    const lines = log.heads[0]?.split("\r\n") ?? [];
    expect(lines[0]).toBe("CONNECT echo.internal:9999 HTTP/1.1");
    expect(lines).toContain("Host: echo.internal:9999");
    expect(lines.some((line) => line.toLowerCase().startsWith("proxy-authorization"))).toBe(false);
    // The upgrade request and a frame went up the tunnel; the 101 and the echo came down it.
    expect(log.up).toBeGreaterThan(100);
    expect(log.down).toBeGreaterThan(100);
    ws.close(1000);
    await nextEvent(ws, "close");
  });

  it("sends Proxy-Authorization (Basic) from the proxy URL's credentials", async () => {
    const echo = defer(await startEchoServer(), (s) => s.close());
    const { url, log } = await netProxy(() => echo.port);
    const withCredentials = url.replace("http://", "http://alice:s%3Acret@");
    const ws = defer(await connect(`ws://127.0.0.1:${echo.port}/`, { proxy: withCredentials }), (c) =>
      c.terminate(),
    );
    expect(ws.readyState).toBe(1);
    expect(log.heads[0]?.split("\r\n")).toContain(
      `Proxy-Authorization: Basic ${Buffer.from("alice:s:cret").toString("base64")}`,
    );
  });

  it("reports 407 Proxy Authentication Required as a typed error and opens no tunnel", async () => {
    const { url, log } = await netProxy(
      () => 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"',
    );
    const error = await connect("ws://echo.internal:9999/", { proxy: url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebSocketError);
    expect((error as WebSocketError).code).toBe("CONNECTION_FAILED");
    expect((error as Error).message).toMatch(/proxy answered 407 Proxy Authentication Required/);
    expect(log.tunnels).toBe(0);
    // The client drops its connection to the proxy.
    for (let i = 0; i < 100 && log.closed === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log.closed).toBe(1);
  });
});
