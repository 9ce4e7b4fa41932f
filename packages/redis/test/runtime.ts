/** The adapter of the runtime the tests run on: @ws/node, @ws/deno or @ws/bun (same API). */
import type { WebSocketServer as NodeServer, WebSocket as NodeSocket } from "@ws/node";

export type Server = NodeServer;
export type Socket = NodeSocket;

interface Adapter {
  WebSocketServer: new (options: Record<string, unknown>) => Server;
  connect(url: string, options?: Record<string, unknown>): Promise<Socket>;
}

const name = "Deno" in globalThis ? "@ws/deno" : "Bun" in globalThis ? "@ws/bun" : "@ws/node";
export const runtime: string = name.slice(4);
export const adapter: Adapter = (await import(name)) as Adapter;
