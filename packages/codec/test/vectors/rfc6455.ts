/** Test vectors from RFC 6455, as hex strings (ws style), each naming its section. */

/** §1.3: the sample `Sec-WebSocket-Key` and its `Sec-WebSocket-Accept`. */
export const HANDSHAKE_SAMPLE = { key: "dGhlIHNhbXBsZSBub25jZQ==", accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" };

/** §5.7 "Examples". */
export const FRAME_EXAMPLES = {
  /** A single-frame unmasked text message ("Hello"). */
  unmaskedText: "810548656c6c6f",
  /** A single-frame masked text message ("Hello"), masking key 37 fa 21 3d. */
  maskedText: "818537fa213d7f9f4d5158",
  /** A fragmented unmasked text message: "Hel" then "lo". */
  fragmentedText: ["010348656c", "80026c6f"],
  /** Unmasked ping request ("Hello"). */
  unmaskedPing: "890548656c6c6f",
  /** Masked ping response, i.e. the pong ("Hello"). */
  maskedPong: "8a8537fa213d7f9f4d5158",
  /** Header of a 256-byte binary message in a single unmasked frame. */
  binary256Header: "827e0100",
  /** Header of a 64 KiB binary message in a single unmasked frame. */
  binary64KiBHeader: "827f0000000000010000",
} as const;
