/**
 * Regression (found by fault injection at the transport seam, issue 12's "when a server sends
 * its close frame followed at once by a TCP FIN, the client closes without sending its close
 * reply"): when the peer's close frame and the end of the transport were both received before
 * the events were read, `canSendClose` was already false when the `close` event came out, so
 * no close reply could be sent (RFC 6455 §5.5.1) and the close was never clean. A FIN only ends
 * the peer's direction: the reply may be sent until the `eof` event has been returned (since
 * the states-as-data rework, the state changes on `eof` only when that event is returned).
 */
import { describe, expect, it } from "vitest";
import { Connection, closeReplyFor, NEED_DATA } from "../../src/connection/index.ts";
import { concatBytes, sync } from "../helpers.ts";

describe("a close frame followed at once by the end of the transport", () => {
  for (const role of ["client", "server"] as const) {
    it(`${role}: the close reply may still be sent, and the end is clean`, () => {
      const peer = new Connection({ role: role === "client" ? "server" : "client" });
      const conn = new Connection({ role });
      conn.receive(concatBytes(sync(peer.send({ type: "close", code: 1001, reason: "going away" }))));
      conn.receiveEof();
      const close = conn.nextEvent();
      expect(close).toEqual({ type: "close", code: 1001, reason: "going away" });
      expect(conn.canSendClose).toBe(true);
      if (close === NEED_DATA || typeof close === "symbol" || close.type !== "close")
        throw new Error("no close");
      const reply = conn.send(closeReplyFor(close));
      expect(Array.isArray(reply) && reply.length > 0).toBe(true);
      expect(conn.nextEvent()).toEqual({ type: "eof", clean: true });
      // After the eof event nothing more may be sent.
      expect(conn.canSendClose).toBe(false);
      expect(() => conn.send({ type: "close" })).toThrow();
    });
  }

  it("data, pings and pongs may not be sent once the eof event was returned", () => {
    const conn = new Connection({ role: "server" });
    conn.receiveEof();
    expect(conn.nextEvent()).toEqual({ type: "eof", clean: false });
    expect(conn.canSend).toBe(false);
    expect(() => conn.send({ type: "pong" })).toThrow();
  });
});
