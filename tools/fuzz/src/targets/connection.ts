/**
 * `Connection` in both roles (RFC 6455 §5–§7), with and without permessage-deflate (RFC 7692):
 * mutated streams from the corpus and random bytes in any split, and valid message scripts that
 * must round-trip.
 *
 * Invariants: `receive`/`nextEvent` never throw for anything the peer sends; a failure is one
 * `failed` event with a `RemoteProtocolError` and a close code the endpoint may send, followed
 * only by `eof`; nothing comes after a close frame but `eof`; answering pings and closes the
 * documented way never throws; no message or message piece goes past `maxMessageSize`, and no
 * extension decoder hands out more than the room it was given; texts are
 * well-formed; chunking never changes the events; valid scripts arrive as sent.
 */
import { RemoteProtocolError } from "@ws/codec";
import { isValidCloseCode } from "@ws/codec/close";
import {
  Connection,
  closeReplyFor,
  type InboundEvent,
  NEED_DATA,
  type OutboundEvent,
  PENDING,
  pongFor,
} from "@ws/codec/connection";
import type { Extension } from "@ws/codec/extensions";
import fc from "fast-check";
import { check, checkSame, concatBytes, onlyDocumented } from "../check.ts";
import { seeds } from "../corpus.ts";
import { negotiateDeflate } from "../handshakes.ts";
import { chunk, cutsArb, mutateAll, mutationsArb } from "../mutate.ts";
import type { FuzzTarget } from "../target.ts";

const utf8 = new TextEncoder();

export interface ConnectionSetup {
  readonly role: "client" | "server";
  readonly streamMessages: boolean;
  readonly maxMessageSize: number;
  readonly maxFragments: number;
  readonly maxFrameSize: number;
}

export const setupArb: fc.Arbitrary<ConnectionSetup> = fc.record({
  role: fc.constantFrom<"client" | "server">("client", "server"),
  streamMessages: fc.boolean(),
  maxMessageSize: fc.constantFrom(0, 10, 1000, 70_000, 2 * 1024 * 1024),
  maxFragments: fc.constantFrom(1, 4, 100),
  maxFrameSize: fc.constantFrom(125, 70_000, 64 * 1024 * 1024),
});

/** An event as compared across chunkings: message pieces joined, bytes as arrays. */
type Seen = { type: string; [key: string]: unknown };

/** Wraps extensions so every decoder's output is checked against the room it was given. */
function watched(extensions: readonly Extension[]): Extension[] {
  return extensions.map(
    (extension): Extension => ({
      name: extension.name,
      rsvMask: extension.rsvMask,
      params: extension.params,
      encodeMessage: (kind, size, options) => extension.encodeMessage(kind, size, options),
      close: () => extension.close?.(),
      decodeMessage: (rsv) => {
        const decoder = extension.decodeMessage(rsv);
        if (decoder === undefined) return undefined;
        return {
          push(input: Uint8Array, last: boolean, maxOutput: number) {
            const output = decoder.push(input, last, maxOutput);
            const measure = (parts: Uint8Array[]): Uint8Array[] => {
              let size = 0;
              for (const part of parts) size += part.length;
              check(
                // MessageDecoder.push: "Must not produce more than `maxOutput` bytes in total for this call".
                size <= maxOutput,
                `an extension decoded ${size} bytes with room for ${maxOutput}`,
              );
              return parts;
            };
            return output instanceof Promise ? output.then(measure) : measure(output);
          },
        };
      },
    }),
  );
}

/**
 * Feeds `chunks` and runs the connection to its end the way an adapter does (pong for ping,
 * close reply for close), checking each event. Returns the events with message pieces joined.
 */
export async function runConnection(
  setup: ConnectionSetup,
  chunks: readonly Uint8Array[],
  extensions: readonly Extension[] = [],
): Promise<Seen[]> {
  const conn = new Connection({
    role: setup.role,
    streamMessages: setup.streamMessages,
    limits: {
      maxMessageSize: setup.maxMessageSize,
      maxFragments: setup.maxFragments,
      maxFrameSize: setup.maxFrameSize,
    },
    extensions: watched(extensions),
    random: (target) => target.fill(7),
  });
  const seen: Seen[] = [];
  let terminal: string | undefined;
  let partText = "";
  let partBinary: Uint8Array[] = [];
  let partSize = 0;
  const allowed = extensions.length > 0 ? [1002, 1007, 1008, 1009, 1011] : [1002, 1007, 1008, 1009];

  const onEvent = async (event: InboundEvent): Promise<void> => {
    if (terminal === "eof") check(false, `${event.type} after eof`);
    if (terminal !== undefined) check(event.type === "eof", `${event.type} after ${terminal}`);
    switch (event.type) {
      case "failed": {
        onlyDocumented(event.error, [RemoteProtocolError], "a failed event's error");
        check(
          allowed.includes(event.error.closeCode),
          `close code ${event.error.closeCode} for ${event.error.code}`,
        );
        terminal = "failed";
        seen.push({ type: "failed", code: event.error.code, closeCode: event.error.closeCode });
        // Fail the WebSocket connection (RFC 6455 §7.1.7): one close frame, then the end.
        if (conn.canSendClose) await conn.send({ type: "close", code: event.error.closeCode });
        return;
      }
      case "close": {
        check(event.code === 1005 || isValidCloseCode(event.code), `close code ${event.code} delivered`);
        check(utf8.encode(event.reason).length <= 123, "a close reason above 123 bytes");
        check(event.reason.isWellFormed(), "a close reason that is not well-formed");
        terminal = "close";
        seen.push({ type: "close", code: event.code, reason: event.reason });
        if (conn.canSendClose) await conn.send(closeReplyFor(event));
        return;
      }
      case "eof":
        terminal = "eof";
        seen.push({ type: "eof", clean: event.clean });
        return;
      case "ping":
      case "pong":
        check(event.payload.length <= 125, `${event.type} payload above 125 bytes`);
        seen.push({ type: event.type, payload: event.payload.slice() });
        if (event.type === "ping" && conn.canSend) conn.send(pongFor(event) as { type: "pong" });
        return;
      case "text":
        check(utf8.encode(event.data).length <= setup.maxMessageSize, "a text message above maxMessageSize");
        check(event.data.isWellFormed(), "a text message that is not well-formed");
        seen.push({ type: "text", data: event.data });
        return;
      case "binary":
        check(event.data.length <= setup.maxMessageSize, "a binary message above maxMessageSize");
        seen.push({ type: "binary", data: event.data.slice() });
        return;
      case "text-piece":
        partText += event.data;
        partSize += utf8.encode(event.data).length;
        check(partSize <= setup.maxMessageSize, "text pieces above maxMessageSize");
        if (event.last) {
          check(partText.isWellFormed(), "a streamed text message that is not well-formed");
          seen.push({ type: "text", data: partText });
          partText = "";
          partSize = 0;
        }
        return;
      case "binary-piece":
        partBinary.push(event.data.slice());
        partSize += event.data.length;
        check(partSize <= setup.maxMessageSize, "binary pieces above maxMessageSize");
        if (event.last) {
          seen.push({ type: "binary", data: concatBytes(partBinary) });
          partBinary = [];
          partSize = 0;
        }
        return;
    }
  };

  const drain = async (): Promise<void> => {
    for (;;) {
      let event: ReturnType<Connection["nextEvent"]>;
      try {
        event = conn.nextEvent();
      } catch (error) {
        onlyDocumented(error, [], "Connection.nextEvent");
        return;
      }
      if (event === NEED_DATA) {
        // Memory: undecoded input is at most a partial header or control frame, or the part of
        // one binary frame that the decoder gathers whole (bounded by maxFrameSize); after a
        // close frame or a failure the rest is ignored.
        const bound = Math.max(124, setup.maxFrameSize);
        check(
          terminal !== undefined || conn.bufferedAmount <= bound,
          () => `${conn.bufferedAmount} bytes held undecoded`,
        );
        return;
      }
      if (event === PENDING) {
        await conn.pending;
        continue;
      }
      await onEvent(event);
    }
  };

  for (const bytes of chunks) {
    try {
      conn.receive(bytes);
    } catch (error) {
      onlyDocumented(error, [], "Connection.receive");
    }
    await drain();
  }
  conn.receiveEof();
  await drain();
  check(terminal === "eof", "the connection must end with eof");
  return seen;
}

const noExtensions = (): Extension[] => [];

function mutatedTarget(name: string, deflate: boolean): FuzzTarget {
  return {
    name,
    modules: deflate
      ? [
          "connection/connection.ts",
          "message/assembler.ts",
          "extensions/permessage-deflate.ts",
          "extensions/zlib-engine.ts",
        ]
      : ["connection/connection.ts", "message/assembler.ts", "message/utf8.ts", "close/close.ts"],
    property: () =>
      fc.asyncProperty(setupArb, fc.nat(), mutationsArb(), cutsArb, async (setup, pick, mutations, cuts) => {
        const group = seeds(
          `${deflate ? "deflate" : "frames"}-${setup.role === "server" ? "masked" : "unmasked"}`,
        );
        const bytes = mutateAll(group[pick % group.length] as Uint8Array, mutations, group);
        const extensionsFor = (): Extension[] => {
          if (!deflate) return noExtensions();
          const { client, server } = negotiateDeflate({ threshold: 0 });
          const mine = setup.role === "server" ? server : client;
          for (const extension of setup.role === "server" ? client : server) extension.close?.();
          return mine;
        };
        const whole = await runConnection(setup, [bytes.slice()], extensionsFor());
        const split = await runConnection(setup, chunk(bytes, cuts), extensionsFor());
        // Deno once failed this (its node:zlib called back before an error; regression test in
        // @ws/deflate's zlib-engine.test.ts).
        checkSame(inflateFailures(whole), inflateFailures(split), "events received whole and in chunks");
      }),
  };
}

/**
 * A compressed message that breaks several rules (corrupt, too big, not UTF-8) fails with
 * whichever the receiver meets first, and that depends on how much of it has arrived: whole,
 * zlib reports the corrupt data before any output is checked; in pieces, the output of the
 * first piece may pass the size limit or hold invalid UTF-8 first. All are failures of the same
 * message with a close code the endpoint may send, so they compare as one.
 */
const MESSAGE_FAILURES = new Set(["EXTENSION_FAILURE", "MESSAGE_TOO_BIG", "INVALID_UTF8"]);
function inflateFailures(events: Seen[]): Seen[] {
  return events.map((e) =>
    e.type === "failed" && MESSAGE_FAILURES.has(e.code as string)
      ? { type: "failed", code: "INFLATE_FAILURE" }
      : e,
  );
}

export const connectionMutated: FuzzTarget = mutatedTarget("connection/mutated", false);
export const connectionDeflateMutated: FuzzTarget = mutatedTarget("connection-deflate/mutated", true);

export const connectionRandom: FuzzTarget = {
  name: "connection/random",
  modules: ["connection/connection.ts", "message/assembler.ts"],
  property: () =>
    fc.asyncProperty(setupArb, fc.uint8Array({ maxLength: 200 }), cutsArb, async (setup, bytes, cuts) => {
      const whole = await runConnection(setup, [bytes.slice()]);
      const split = await runConnection(setup, chunk(bytes, cuts));
      checkSame(whole, split, "events received whole and in chunks");
    }),
};

const text = fc.string({ unit: "grapheme", maxLength: 50 });
const messageArb: fc.Arbitrary<OutboundEvent[]> = fc.oneof(
  text.map((data): OutboundEvent[] => [{ type: "text", data }]),
  fc.uint8Array({ maxLength: 3000 }).map((data): OutboundEvent[] => [{ type: "binary", data }]),
  fc
    .integer({ min: 1, max: 200_000 })
    .map((n): OutboundEvent[] => [{ type: "binary", data: new Uint8Array(n).fill(n & 0xff) }]),
  fc.uint8Array({ maxLength: 125 }).map((payload): OutboundEvent[] => [{ type: "ping", payload }]),
  fc
    .array(text, { minLength: 1, maxLength: 4 })
    .map((parts): OutboundEvent[] =>
      parts.map((data, i) => ({ type: "text-piece", data, last: i === parts.length - 1 })),
    ),
  fc
    .array(fc.uint8Array({ maxLength: 100 }), { minLength: 1, maxLength: 4 })
    .map((parts): OutboundEvent[] =>
      parts.map((data, i) => ({ type: "binary-piece", data, last: i === parts.length - 1 })),
    ),
);

/** What the receiver must see for a script (pings are answered, so they show up as pings). */
function expected(script: readonly OutboundEvent[]): Seen[] {
  const out: Seen[] = [];
  let text = "";
  let binary: Uint8Array[] = [];
  for (const event of script) {
    if (event.type === "text") out.push({ type: "text", data: event.data as string });
    else if (event.type === "binary") out.push({ type: "binary", data: event.data });
    else if (event.type === "ping") out.push({ type: "ping", payload: event.payload ?? new Uint8Array(0) });
    else if (event.type === "text-piece") {
      text += event.data as string;
      if (event.last) {
        out.push({ type: "text", data: text });
        text = "";
      }
    } else if (event.type === "binary-piece") {
      binary.push(event.data as Uint8Array);
      if (event.last) {
        out.push({ type: "binary", data: concatBytes(binary) });
        binary = [];
      }
    } else if (event.type === "close")
      out.push({ type: "close", code: event.code ?? 1005, reason: event.reason ?? "" });
  }
  // The receiver answers the close (runConnection does, as adapters do): a clean end.
  out.push({ type: "eof", clean: true });
  return out;
}

function roundTripTarget(name: string, deflate: boolean): FuzzTarget {
  return {
    name,
    modules: deflate
      ? ["connection/connection.ts", "extensions/permessage-deflate.ts", "extensions/zlib-engine.ts"]
      : ["connection/connection.ts", "frame/encode.ts", "message/assembler.ts"],
    property: () =>
      fc.asyncProperty(
        fc.constantFrom<"client" | "server">("client", "server"),
        fc.array(messageArb, { maxLength: 6 }),
        fc.record({
          threshold: fc.constantFrom(0, 100, 1024),
          serverNoContextTakeover: fc.boolean(),
          clientNoContextTakeover: fc.boolean(),
          serverMaxWindowBits: fc.constantFrom(9, 12, 15),
          clientMaxWindowBits: fc.constantFrom<number | boolean>(true, 9, 15),
        }),
        fc.boolean(),
        cutsArb,
        async (sender, groups, params, streamMessages, cuts) => {
          const script: OutboundEvent[] = [...groups.flat(), { type: "close", code: 1000, reason: "done" }];
          const negotiated = deflate ? negotiateDeflate(params) : { client: [], server: [] };
          const receiver = sender === "client" ? "server" : "client";
          const from = new Connection({
            role: sender,
            extensions: sender === "client" ? negotiated.client : negotiated.server,
          });
          const parts: Uint8Array[] = [];
          for (const event of script) parts.push(...(await from.send(event)));
          for (const extension of from.extensions) extension.close?.();
          const events = await runConnection(
            {
              role: receiver,
              streamMessages,
              maxMessageSize: 64 * 1024 * 1024,
              maxFragments: 100,
              maxFrameSize: 64 * 1024 * 1024,
            },
            chunk(concatBytes(parts), cuts),
            receiver === "client" ? negotiated.client : negotiated.server,
          );
          checkSame(events, expected(script), "messages sent and received");
        },
      ),
  };
}

export const connectionRoundTrip: FuzzTarget = roundTripTarget("connection/round-trip", false);
export const connectionDeflateRoundTrip: FuzzTarget = roundTripTarget("connection-deflate/round-trip", true);
