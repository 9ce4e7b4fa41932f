/**
 * The codec on its own: a WebSocket server and client over raw TCP sockets (`node:net`), with
 * nothing but `@ws/codec` for the protocol. The server answers the opening handshake
 * (RFC 6455 §4.2), echoes text messages and answers the close handshake; the client sends the
 * upgrade request (§4.1), checks the 101, sends "hello", then closes with 1000.
 *
 *   node dist/codec-raw-socket.js      (PORT=… to choose the port; default 8080)
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { Connection, closeReplyFor, HandshakeError, NEED_DATA, PENDING, pongFor } from "@ws/codec";
import {
  buildAcceptResponse,
  buildRejectResponse,
  buildUpgradeRequest,
  checkUpgradeRequest,
  checkUpgradeResponse,
  generateKey,
  HttpHeadParser,
} from "@ws/codec/handshake";

const port = Number(process.env.PORT ?? 8080);

/**
 * Writes what `Connection.send()` returns: the buffers at once, or, with an asynchronous
 * extension (permessage-deflate on a thread pool), once the promise of them settles.
 */
function write(socket: Socket, frames: Uint8Array[] | Promise<Uint8Array[]>): Promise<void> {
  if (Array.isArray(frames)) {
    for (const frame of frames) socket.write(frame);
    return Promise.resolve();
  }
  return frames.then((list) => {
    for (const frame of list) socket.write(frame);
  });
}

/** Writes the close frame (when one is still due), then ends the TCP connection. */
function closeWith(
  conn: Connection,
  socket: Socket,
  frames: () => Uint8Array[] | Promise<Uint8Array[]>,
): void {
  const sent = conn.canSendClose ? write(socket, frames()) : Promise.resolve();
  void sent.then(() => socket.end()); // RFC 6455 §7.1.1: the server closes the TCP connection first
}

/** Feeds bytes to a connection and handles every event it yields. */
function pump(conn: Connection, socket: Socket, onText: (text: string) => void): (chunk: Uint8Array) => void {
  return (chunk) => {
    conn.receive(chunk);
    for (let event = conn.nextEvent(); event !== NEED_DATA && event !== PENDING; event = conn.nextEvent()) {
      switch (event.type) {
        case "text":
          onText(event.data);
          break;
        case "ping":
          void write(socket, conn.send(pongFor(event)));
          break;
        case "close":
          closeWith(conn, socket, () => conn.send(closeReplyFor(event)));
          break;
        case "failed":
          closeWith(conn, socket, () => conn.send({ type: "close", code: event.error.closeCode }));
          break;
      }
    }
  };
}

const server = createServer((socket) => {
  const parser = new HttpHeadParser("request");
  const onHead = (chunk: Buffer): void => {
    const head = parser.push(chunk);
    if (head === undefined) return; // the head is not complete yet
    socket.off("data", onHead);
    let accepted: ReturnType<typeof checkUpgradeRequest>;
    try {
      accepted = checkUpgradeRequest(head);
    } catch (error) {
      // 400, 426 (with Sec-WebSocket-Version: 13) … as the error says; anything else is our bug.
      socket.end(buildRejectResponse(error instanceof HandshakeError ? error : { status: 500 }));
      return;
    }
    socket.write(buildAcceptResponse(accepted));
    const conn = new Connection({ role: "server" });
    const feed = pump(conn, socket, (text) => void write(socket, conn.send({ type: "text", data: text })));
    socket.on("data", feed);
    socket.on("end", () => conn.receiveEof());
    if (parser.rest.length > 0) feed(parser.rest); // frames that came with the head
  };
  socket.on("data", onHead);
});
await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));

// The client.
const socket = tcpConnect(port, "127.0.0.1");
const key = generateKey();
socket.write(buildUpgradeRequest({ url: `ws://127.0.0.1:${port}/echo`, key }));
const conn = new Connection({ role: "client" });
const reply = new Promise<string>((resolve, reject) => {
  const parser = new HttpHeadParser("response");
  const onHead = (chunk: Buffer): void => {
    const head = parser.push(chunk);
    if (head === undefined) return;
    socket.off("data", onHead);
    checkUpgradeResponse(head, { key }); // throws HandshakeError unless it is a valid 101
    const feed = pump(conn, socket, resolve);
    socket.on("data", feed);
    socket.on("end", () => conn.receiveEof());
    if (parser.rest.length > 0) feed(parser.rest);
    void write(socket, conn.send({ type: "text", data: "hello" }));
  };
  socket.on("data", onHead);
  socket.on("error", reject);
});
console.log("echoed:", await reply);
await write(socket, conn.send({ type: "close", code: 1000 }));
await new Promise((resolve) => socket.on("close", resolve));
console.log("closed:", conn.state, conn.closeReceived?.code);
server.close();
