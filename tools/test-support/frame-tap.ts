/**
 * A frame tap for the adapters' compression tests (Node, Deno and Bun suites): a loopback TCP
 * proxy that reads the frame headers going each way, so a test can see on the wire whether a
 * message was really compressed (RSV1, RFC 7692 §6) and how large it was. Hand-rolled on
 * purpose (not @ws/codec), like raw-frames.ts. Runtime-neutral: `node:net` exists on all three.
 */
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Socket,
} from "node:net";

/** One frame header seen on the wire. */
export interface TappedFrame {
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly fin: boolean;
  readonly length: number;
}

/** Registers `close(value)` to run when the test ends; returns `value`. */
export type Defer = <T>(value: T, close: (value: T) => unknown) => T;

/** Reads frame headers from one direction of a connection (after the HTTP head), no copies. */
export class FrameReader {
  readonly frames: TappedFrame[] = [];
  #head = true;
  #headText = "";
  #header: number[] = [];
  #skip = 0;

  push(chunk: Uint8Array): void {
    let i = 0;
    if (this.#head) {
      this.#headText += new TextDecoder("latin1").decode(chunk);
      const end = this.#headText.indexOf("\r\n\r\n");
      if (end === -1) return;
      this.#head = false;
      i = chunk.length - (this.#headText.length - (end + 4));
    }
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      this.#header.push(chunk[i++] as number);
      const h = this.#header;
      if (h.length < 2) continue;
      const b1 = h[1] as number;
      const short = b1 & 0x7f;
      const need = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (h.length < need) continue;
      let length = short;
      if (short === 126) length = ((h[2] as number) << 8) | (h[3] as number);
      else if (short === 127)
        length = Number(new DataView(new Uint8Array(h.slice(2, 10)).buffer).getBigUint64(0));
      const b0 = h[0] as number;
      this.frames.push({ rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, length });
      this.#header = [];
      this.#skip = length;
    }
  }

  /** The data frames that start a message (text or binary). */
  get messageStarts(): TappedFrame[] {
    return this.frames.filter((f) => f.opcode === 1 || f.opcode === 2);
  }
}

/** A loopback proxy to `port` that reads both directions' frames; closed through `defer`. */
export async function frameTap(
  port: number,
  defer: Defer,
): Promise<{ url: string; toServer: FrameReader; toClient: FrameReader }> {
  const tap = { toServer: new FrameReader(), toClient: new FrameReader() };
  const server = createNetServer((client: Socket) => {
    const upstream = netConnect({ host: "127.0.0.1", port });
    defer(client, (s) => s.destroy());
    defer(upstream, (s) => s.destroy());
    client.on("data", (chunk: Uint8Array) => {
      tap.toServer.push(chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Uint8Array) => {
      tap.toClient.push(chunk);
      client.write(chunk);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  defer(server, (s) => new Promise((resolve) => s.close(() => resolve(undefined))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, ...tap };
}
