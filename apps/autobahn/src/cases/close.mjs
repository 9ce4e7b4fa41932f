// Family 7: the closing handshake (RFC 6455 §5.5.1, §7).

import { closePayload, OPCODE } from "../frame.mjs";
import { failed, informational, textEcho } from "../judge.mjs";
import { invalidPayload, peerCase, protocolError } from "./define.mjs";

const { TEXT, CONTINUATION, CLOSE, PING } = OPCODE;

/** @returns {import('./define.mjs').CaseDef[]} */
export function closeCases() {
  const hello = Buffer.from("Hello World!");
  /** @type {import('./define.mjs').CaseDef[]} */
  const cases = [
    peerCase(
      "7.1.1",
      "Send a text message, then a close frame 1000; expect the echo and a clean close",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, payload: hello });
        return t.judge({ expect: [textEcho(hello)] });
      },
    ),
    peerCase(
      "7.1.2",
      "Send two close frames; expect one close reply and the TCP close (RFC 6455 §5.5.1)",
      async (t) => {
        await t.peer.sendClose(1000);
        await t.peer.sendFrame({ opcode: CLOSE, payload: closePayload(1000) });
        return t.judge({ expect: [] });
      },
    ),
    peerCase(
      "7.1.3",
      "Send a close frame, then a ping; expect no pong (RFC 6455 §5.5.1: nothing is processed after Close)",
      async (t) => {
        await t.peer.sendClose(1000);
        await t.peer.sendFrame({ opcode: PING, payload: hello });
        return t.judge({ expect: [], quiet: true });
      },
    ),
    peerCase("7.1.4", "Send a close frame, then a text message; expect no echo", async (t) => {
      await t.peer.sendClose(1000);
      await t.peer.sendFrame({ opcode: TEXT, payload: hello });
      return t.judge({ expect: [], quiet: true });
    }),
    peerCase(
      "7.1.5",
      "Send the first fragment of a text message, a close frame, then the last fragment; expect no echo and a clean close",
      async (t) => {
        await t.peer.sendFrame({ opcode: TEXT, payload: Buffer.from("fragment1"), fin: false });
        await t.peer.sendClose(1000);
        await t.peer.sendFrame({ opcode: CONTINUATION, payload: Buffer.from("fragment2"), fin: true });
        return t.judge({ expect: [], quiet: true });
      },
    ),
    peerCase(
      "7.1.6",
      "Send a 256 KiB text message, a ping, a close frame and a text message in one write; report what comes back",
      async (t) => {
        const big = Buffer.alloc(256 * 1024, 0x42);
        await t.peer.sendFrames([
          { opcode: TEXT, payload: big },
          { opcode: PING, payload: hello },
        ]);
        await t.peer.sendClose(1000);
        await t.peer.sendFrame({ opcode: TEXT, payload: hello });
        const v = await t.judge({
          check: (evs) =>
            evs.some((e) => e.type === "message" && e.data.equals(hello))
              ? failed("echoed a message sent after the close frame (RFC 6455 §5.5.1)")
              : null,
          quiet: true,
        });
        return v.verdict === "OK" ? informational(`peer sent: ${t.summary()}`) : v;
      },
    ),
    peerCase(
      "7.3.1",
      "Send a close frame with an empty payload; expect a close reply (empty or 1000)",
      async (t) => {
        return t.judge({ closeCode: null, acceptCodes: [null, 1000] });
      },
    ),
    peerCase(
      "7.3.2",
      "Send a close frame with a 1-byte payload; expect the connection failed with 1002 (RFC 6455 §5.5.1)",
      async (t) => {
        await t.peer.sendFrame({ opcode: CLOSE, payload: Buffer.from([0x03]) });
        t.peer.closeSentAt = t.peer.now();
        return t.judge({ close: protocolError("close payload of 1 byte, RFC 6455 §5.5.1") });
      },
    ),
    peerCase("7.3.3", "Send a close frame with code 1000 and no reason; expect 1000 back", async (t) => {
      return t.judge({ closeCode: 1000 });
    }),
    peerCase("7.3.4", "Send a close frame with code 1000 and a reason; expect 1000 back", async (t) => {
      return t.judge({ closeCode: 1000, closeReason: "Hello World!" });
    }),
    peerCase(
      "7.3.5",
      "Send a close frame with code 1000 and a 123-byte reason (the maximum); expect 1000 back",
      async (t) => {
        return t.judge({ closeCode: 1000, closeReason: "*".repeat(123) });
      },
    ),
    peerCase(
      "7.3.6",
      "Send a close frame with code 1000 and a 124-byte reason (payload 126 > 125); expect the connection failed",
      async (t) => {
        await t.peer.sendFrame({ opcode: CLOSE, payload: closePayload(1000, "*".repeat(124)) });
        t.peer.closeSentAt = t.peer.now();
        return t.judge({ close: protocolError("control frame payload > 125 bytes, RFC 6455 §5.5") });
      },
    ),
    peerCase(
      "7.5.1",
      "Send a close frame with code 1000 and a reason that is not valid UTF-8; expect the connection failed with 1007",
      async (t) => {
        await t.peer.sendFrame({
          opcode: CLOSE,
          payload: closePayload(1000, Buffer.from("cebae1bdb9cf83cebcceb5eda080656469746564", "hex")),
        });
        t.peer.closeSentAt = t.peer.now();
        return t.judge({ close: invalidPayload("close reason is not UTF-8, RFC 6455 §5.5.1, §8.1") });
      },
    ),
  ];
  // RFC 6455 §7.4.1 defined codes, IANA registry additions 1012-1014, §7.4.2 ranges 3000-4999.
  const valid = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
  ];
  valid.forEach((code, i) => {
    cases.push(
      peerCase(
        `7.7.${i + 1}`,
        `Send a close frame with valid code ${code}; expect ${code} (or 1000) back`,
        async (t) => {
          return t.judge({ closeCode: code, acceptCodes: [code, 1000] });
        },
      ),
    );
  });
  // Codes that must never appear on the wire (RFC 6455 §7.4.1, §7.4.2).
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  invalid.forEach((code, i) => {
    cases.push(
      peerCase(
        `7.9.${i + 1}`,
        `Send a close frame with invalid code ${code}; expect the connection failed with 1002`,
        async (t) => {
          await t.peer.sendFrame({ opcode: CLOSE, payload: closePayload(code) });
          t.peer.closeSentAt = t.peer.now();
          return t.judge({ close: protocolError(`close code ${code} is not allowed, RFC 6455 §7.4`) });
        },
      ),
    );
  });
  return cases;
}
