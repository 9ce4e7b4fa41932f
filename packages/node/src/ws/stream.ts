/**
 * `createWebSocketStream`: a Node `Duplex` over a `ws`-compatible socket, as in `ws`: what is
 * written is sent as messages, received messages are read as chunks.
 *
 * Node `Duplex`: https://nodejs.org/api/stream.html#class-streamduplex
 *
 * @module
 */
import { Duplex, type DuplexOptions } from "node:stream";
import type { WebSocket } from "./websocket.ts";

export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let paused = false;
  const duplex: Duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
    read() {
      if (paused) {
        paused = false;
        ws.resume();
      }
    },
    write(chunk: Buffer, _encoding, callback) {
      if (ws.readyState === ws.CONNECTING) {
        ws.once("open", () => ws.send(chunk, callback));
        return;
      }
      ws.send(chunk, callback);
    },
    final(callback) {
      if (ws.readyState === ws.CONNECTING) ws.once("open", () => ws.close());
      else ws.close();
      callback();
    },
    destroy(error, callback) {
      ws.terminate();
      callback(error);
    },
  });
  ws.on("message", (data) => {
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    // Receive backpressure: the session pauses its transport until the reader asks for more.
    if (!duplex.push(chunk) && !paused) {
      paused = true;
      ws.pause();
    }
  });
  ws.on("error", (error) => duplex.destroy(error));
  ws.once("close", () => {
    if (!duplex.destroyed) duplex.push(null);
  });
  return duplex;
}
