/**
 * The client's response handling in `@ws/session`'s `dial` (RFC 6455 §4.1): the whole client
 * handshake over an in-memory connection whose server answers with a mutated response from the
 * corpus (its `Sec-WebSocket-Accept`, when the mutations left it, rewritten to match the key
 * the client sent), split into random chunks, with and without redirects followed.
 *
 * Invariants: `dial` always settles (the server's bytes end); it resolves only on a 101 that
 * passes the checks, and then hands over exactly one connection; it rejects only with
 * `HandshakeRejectedError` (carrying the status and at most 64 KiB of body), the codec's
 * `HandshakeError`, or `WebSocketError` (`CONNECTION_FAILED`, `TOO_MANY_REDIRECTS`); every
 * connection it opened and did not hand over is destroyed.
 */
import { HandshakeError } from "@ws/codec";
import { computeAcceptKey, HttpHeadParser, parseWebSocketUrl } from "@ws/codec/handshake";
import {
  type DialConnection,
  dial,
  HandshakeRejectedError,
  type Opener,
  type Session,
  WebSocketError,
} from "@ws/session";
import fc from "fast-check";
import { check, onlyDocumented } from "../check.ts";
import { seeds } from "../corpus.ts";
import { engine } from "../engine.ts";
import { SEED_ACCEPT } from "../handshakes.ts";
import { chunk, cutsArb, mutateAll, mutationsArb } from "../mutate.ts";
import type { FuzzTarget } from "../target.ts";

/** ISO-8859-1, one character per byte, both ways (TextDecoder's "latin1" is windows-1252). */
const latin1 = {
  decode: (bytes: Uint8Array): string => {
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return text;
  },
  encode: (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0)),
};

/** A server that answers the request with `template`, its accept value made right. */
class ScriptedConnection implements DialConnection {
  destroyed = false;
  attached = false;
  #chunks: Uint8Array[] = [];
  #answered = false;
  readonly template: Uint8Array;
  readonly cuts: readonly number[];
  constructor(template: Uint8Array, cuts: readonly number[]) {
    this.template = template;
    this.cuts = cuts;
  }

  write(bytes: Uint8Array): void {
    check(!this.#answered, "the client wrote a second request on one connection");
    const head = new HttpHeadParser("request").push(bytes);
    check(head !== undefined, "the client's request is not one whole head");
    const key = head.headerMap.get("sec-websocket-key") ?? "";
    const response = latin1.decode(this.template).replaceAll(SEED_ACCEPT, computeAcceptKey(key));
    this.#chunks = chunk(latin1.encode(response), this.cuts);
    this.#answered = true;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.destroyed) return null;
    return this.#chunks.shift() ?? null;
  }

  destroy(): void {
    this.destroyed = true;
  }

  attach(): Session {
    check(!this.attached && !this.destroyed, "a connection handed over twice, or after destroy()");
    this.attached = true;
    // dial() only hands the session back; this target never uses it.
    return {} as Session;
  }
}

export const dialResponses: FuzzTarget = {
  name: "dial/responses",
  modules: ["session: dial.ts"],
  property: () =>
    fc.asyncProperty(
      fc.nat(),
      mutationsArb(4),
      cutsArb,
      fc.boolean(),
      fc.boolean(),
      fc.subarray(["chat", "superchat"]),
      async (pick, mutations, cuts, followRedirects, deflate, protocols) => {
        const group = seeds("http-response");
        const template = mutateAll(group[pick % group.length] as Uint8Array, mutations, group);
        const opened: ScriptedConnection[] = [];
        const open: Opener = async () => {
          const connection = new ScriptedConnection(template, cuts);
          opened.push(connection);
          return connection;
        };
        let outcome: unknown;
        try {
          await dial(
            {
              url: parseWebSocketUrl("ws://127.0.0.1:9/"),
              protocols,
              signal: new AbortController().signal,
              session: {},
            },
            { followRedirects, maxRedirects: 2, handshakeTimeout: 10_000, perMessageDeflate: deflate },
            open,
            () => engine,
          );
        } catch (error) {
          outcome = error;
        }
        if (outcome === undefined) {
          const last = opened.at(-1);
          check(
            last?.attached === true && !last.destroyed,
            "dial resolved without handing over its connection",
          );
          check(
            opened.slice(0, -1).every((c) => c.destroyed && !c.attached),
            "a redirected connection leaked",
          );
          return;
        }
        onlyDocumented(outcome, [HandshakeRejectedError, HandshakeError, WebSocketError], "dial");
        if (outcome instanceof WebSocketError) {
          check(
            ["CONNECTION_FAILED", "TOO_MANY_REDIRECTS"].includes(outcome.code),
            `dial failed with ${outcome.code}`,
          );
        }
        if (outcome instanceof HandshakeRejectedError) {
          check(outcome.status !== 101, "a 101 reported as a rejection");
          check(outcome.body.length <= 64 * 1024, "a rejection body above 64 KiB");
        }
        check(
          opened.every((c) => c.destroyed && !c.attached),
          "a failed dial left a connection open",
        );
      },
    ),
};
