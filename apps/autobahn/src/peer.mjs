// One WebSocket connection as the runner sees it: raw socket, our own frame parser, a log of
// everything the peer did (with times), and sending helpers that can write any bytes.

import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
  closePayload,
  encodeFrame,
  FrameParser,
  isControlOpcode,
  OPCODE,
  opcodeName,
  parseClosePayload,
} from "./frame.mjs";
import { isValidUtf8 } from "./utf8.mjs";

/**
 * @typedef {{ type: 'message', t: number, opcode: number, data: Buffer, compressed: boolean, frames: number }} MessageEvent
 * @typedef {{ type: 'pong' | 'ping', t: number, data: Buffer }} ControlEvent
 * @typedef {{ type: 'close', t: number, code: number | null, reason: Buffer, payload: Buffer }} CloseEvent
 * @typedef {MessageEvent | ControlEvent | CloseEvent} PeerEvent
 * @typedef {{ type: 'message', opcode: number, data: Buffer } | { type: 'pong', data: Buffer }} ExpectedEvent
 */

/** Largest message the runner itself reassembles or inflates (bounds its own memory). */
export const RUNNER_MAX_MESSAGE = 64 * 1024 * 1024;

export class Peer {
  /**
   * @param {import('node:net').Socket} socket
   * @param {{ role: 'client' | 'server', leftover?: Buffer, deflate?: import('./deflate.mjs').PerMessageDeflate | null }} options
   *   role: our role. 'client' = we mask and the peer must not (RFC 6455 §5.1).
   */
  constructor(socket, options) {
    this.socket = socket;
    this.role = options.role;
    this.deflate = options.deflate ?? null;
    this.start = performance.now();
    /** @type {PeerEvent[]} */
    this.events = [];
    /** @type {(MessageEvent | ControlEvent)[]} messages and pongs only, kept as they arrive */
    this.app = [];
    this.notifyScheduled = false;
    /** @type {string[]} rule breaks by the peer */
    this.violations = [];
    /** @type {number | null} */
    this.closeSentAt = null;
    /** @type {CloseEvent | null} */
    this.closeReceived = null;
    /** @type {number | null} when the peer half-closed or reset TCP */
    this.peerEndedAt = null;
    /** @type {number | null} */
    this.tcpClosedAt = null;
    this.destroyedByUs = false;
    this.bytesReceived = 0;
    /** @type {Map<string, number>} */
    this.marks = new Map();
    /** @type {{ opcode: number, chunks: Buffer[], size: number, compressed: boolean, frames: number } | null} */
    this.partial = null;
    this.parser = new FrameParser({ expectMasked: this.role === "server", allowRsv1: this.deflate !== null });
    /** @type {Promise<void>} keeps frame handling in order (inflating is asynchronous) */
    this.queue = Promise.resolve();
    /** @type {Set<() => void>} */
    this.waiters = new Set();

    // An HTTP/2 stream (RFC 8441 mode) has no Nagle to turn off.
    socket.setNoDelay?.(true);
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("end", () => {
      this.peerEndedAt ??= this.now();
      this.notify();
    });
    socket.on("error", () => {
      this.peerEndedAt ??= this.now();
    });
    socket.on("close", () => {
      this.tcpClosedAt = this.now();
      this.notify();
    });
    if (options.leftover !== undefined && options.leftover.length > 0) this.onData(options.leftover);
    socket.resume();
  }

  now() {
    return performance.now() - this.start;
  }

  /** @param {string} name */
  mark(name) {
    this.marks.set(name, this.now());
  }

  get tcpClosed() {
    return this.tcpClosedAt !== null;
  }

  /** Messages and pongs: what the echo cases compare. */
  appEvents() {
    return this.app;
  }

  /** @param {PeerEvent} e */
  record(e) {
    this.events.push(e);
    if (e.type === "message" || e.type === "pong") this.app.push(e);
  }

  /**
   * Re-check the waiters, at most once per event-loop turn: a flood of frames must not make
   * every predicate run once per frame (that would be quadratic).
   */
  notify() {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      for (const w of [...this.waiters]) w();
    });
  }

  /**
   * Resolve true as soon as `predicate()` holds, false after `timeoutMs`.
   * @param {() => boolean} predicate
   * @param {number} timeoutMs
   * @returns {Promise<boolean>}
   */
  waitFor(predicate, timeoutMs) {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(true);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(predicate());
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** @param {Buffer} chunk */
  onData(chunk) {
    this.bytesReceived += chunk.length;
    const before = this.parser.violations.length;
    const frames = this.parser.push(chunk);
    for (const v of this.parser.violations.slice(before)) this.violations.push(v);
    for (const f of frames) this.queue = this.queue.then(() => this.onFrame(f));
    if (this.parser.violations.length > before) this.notify();
  }

  /** @param {import('./frame.mjs').ParsedFrame} f */
  async onFrame(f) {
    const t = this.now();
    if (this.closeReceived !== null) {
      this.violations.push(
        `peer sent a ${opcodeName(f.opcode)} frame after its Close frame (RFC 6455 §5.5.1)`,
      );
      this.notify();
      return;
    }
    if (isControlOpcode(f.opcode)) {
      if (f.opcode === OPCODE.PING) {
        this.record({ type: "ping", t, data: f.payload });
        // RFC 6455 §5.5.2: answer with a Pong carrying the same data.
        if (this.closeSentAt === null) void this.sendFrame({ opcode: OPCODE.PONG, payload: f.payload });
      } else if (f.opcode === OPCODE.PONG) {
        this.record({ type: "pong", t, data: f.payload });
      } else if (f.opcode === OPCODE.CLOSE) {
        const { code, reason, problems } = parseClosePayload(f.payload);
        for (const p of problems) this.violations.push(`peer sent ${p}`);
        /** @type {CloseEvent} */
        const ev = { type: "close", t, code, reason, payload: f.payload };
        this.closeReceived = ev;
        this.record(ev);
        if (this.closeSentAt === null) {
          // RFC 6455 §5.5.1: reply with a Close frame, typically echoing the code.
          const replyCode = code === null ? null : problems.length === 0 ? code : 1002;
          await this.sendClose(replyCode, "");
        }
        // RFC 6455 §7.1.1: the server closes the TCP connection first.
        if (this.role === "server") this.socket.end();
      }
      this.notify();
      return;
    }
    // Data frames: RFC 6455 §5.4 fragmentation rules.
    const rsv1 = (f.rsv & 4) !== 0 && this.deflate !== null;
    if (f.opcode === OPCODE.CONTINUATION) {
      if (this.partial === null) {
        this.violations.push("peer sent a continuation frame without a message to continue (RFC 6455 §5.4)");
        this.notify();
        return;
      }
      if (rsv1) this.violations.push("peer set RSV1 on a continuation frame (RFC 7692 §6.1)");
    } else {
      if (this.partial !== null) {
        this.violations.push("peer started a new data message inside a fragmented one (RFC 6455 §5.4)");
        this.notify();
        return;
      }
      this.partial = { opcode: f.opcode, chunks: [], size: 0, compressed: rsv1, frames: 0 };
    }
    const m = this.partial;
    m.chunks.push(f.payload);
    m.size += f.payload.length;
    m.frames++;
    if (m.size > RUNNER_MAX_MESSAGE) {
      this.violations.push(
        `peer sent a message larger than the runner accepts (${RUNNER_MAX_MESSAGE} bytes)`,
      );
      this.partial = null;
      this.notify();
      return;
    }
    if (!f.fin) return;
    this.partial = null;
    /** @type {Buffer} */
    let data = Buffer.concat(m.chunks);
    if (m.compressed && this.deflate !== null) {
      try {
        data = await this.deflate.decompress(data, RUNNER_MAX_MESSAGE);
      } catch (err) {
        this.violations.push(
          `peer sent a compressed message that does not inflate: ${String(err)} (RFC 7692 §7.2.2)`,
        );
        this.notify();
        return;
      }
    }
    if (m.opcode === OPCODE.TEXT && !isValidUtf8(data)) {
      this.violations.push("peer sent a text message that is not valid UTF-8 (RFC 6455 §5.6, §8.1)");
    }
    this.record({
      type: "message",
      t: this.now(),
      opcode: m.opcode,
      data,
      compressed: m.compressed,
      frames: m.frames,
    });
    this.notify();
  }

  /**
   * Write bytes, optionally chopped into `chop`-byte writes with `delayMs` between them.
   * Never throws: writing to a connection the peer closed is expected in failure cases.
   * @param {Buffer} bytes
   * @param {{ chop?: number, delayMs?: number }} [options]
   */
  async sendRaw(bytes, options = {}) {
    const chop = options.chop ?? 0;
    if (chop <= 0) return this.write(bytes);
    for (let i = 0; i < bytes.length; i += chop) {
      if (this.socket.destroyed || this.peerEndedAt !== null) return;
      await this.write(bytes.subarray(i, i + chop));
      if (options.delayMs !== undefined && options.delayMs > 0) await sleep(options.delayMs);
    }
  }

  /**
   * @param {Buffer} bytes
   * @returns {Promise<void>}
   */
  write(bytes) {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve();
    return new Promise((resolve) => {
      // Bound the wait: a peer that stops reading must not hang the runner.
      const timer = setTimeout(resolve, 30_000);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.once("close", done);
      try {
        this.socket.write(bytes, done);
      } catch {
        done();
      }
    });
  }

  /**
   * Encode and send one frame. `mask` defaults to what our role requires (RFC 6455 §5.1);
   * `compress` runs the payload through permessage-deflate and sets RSV1 (RFC 7692 §6).
   * @param {import('./frame.mjs').FrameSpec & { compress?: boolean }} spec
   * @param {{ chop?: number, delayMs?: number }} [options]
   */
  async sendFrame(spec, options = {}) {
    return this.sendRaw(await this.encode(spec), options);
  }

  /** @param {import('./frame.mjs').FrameSpec & { compress?: boolean }} spec */
  async encode(spec) {
    let payload = spec.payload ?? Buffer.alloc(0);
    let rsv = spec.rsv ?? 0;
    if (spec.compress === true) {
      if (this.deflate === null)
        throw new Error("compression requested on a connection without permessage-deflate");
      payload = await this.deflate.compress(payload);
      rsv |= 4;
    }
    return encodeFrame({ ...spec, payload, rsv, mask: spec.mask ?? this.role === "client" });
  }

  /**
   * Several frames: as one write, in `chop`-byte pieces, or one write per frame with a delay
   * ("frame-wise", like Autobahn's sync mode).
   * @param {(import('./frame.mjs').FrameSpec & { compress?: boolean })[]} specs
   * @param {{ chop?: number, delayMs?: number, frameWise?: boolean }} [options]
   */
  async sendFrames(specs, options = {}) {
    /** @type {Buffer[]} */
    const encoded = [];
    for (const s of specs) encoded.push(await this.encode(s));
    if (options.frameWise === true) {
      for (const e of encoded) {
        await this.sendRaw(e);
        await sleep(options.delayMs ?? 10);
      }
      return;
    }
    await this.sendRaw(Buffer.concat(encoded), options);
  }

  /**
   * @param {number | null} code
   * @param {Uint8Array | string} [reason]
   */
  async sendClose(code, reason = "") {
    this.closeSentAt ??= this.now();
    await this.sendFrame({ opcode: OPCODE.CLOSE, payload: closePayload(code, reason) });
    if (this.role === "server" && this.closeReceived !== null) this.socket.end();
  }

  destroy() {
    if (this.tcpClosedAt === null) this.destroyedByUs = true;
    this.socket.destroy();
    this.deflate?.close();
    this.waiters.clear();
  }
}
