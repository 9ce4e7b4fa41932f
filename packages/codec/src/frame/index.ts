/**
 * The frame layer (RFC 6455 §5), below message assembly: for property tests, tools that craft
 * frames, and exotic uses. Most users want `Connection` from the package root instead.
 *
 * @module
 */
export { isControlOpcode, isKnownOpcode, MAX_CONTROL_PAYLOAD, Opcode, Rsv } from "../constants.ts";
export {
  DecoderState,
  FrameDecoder,
  type FrameDecoderOptions,
  type FramePiece,
  type SmallFragment,
  type SmallFrame,
} from "./decoder.ts";
export {
  encodeFrame,
  encodeFrameInto,
  encodeFrameParts,
  encodeTextFrame,
  encodeTextFrameInto,
  type FrameToEncode,
  textFrameRoom,
} from "./encode.ts";
export { type FrameHeader, frameHeaderSize, writeFrameHeader } from "./header.ts";
export { applyMask, maskInto } from "./mask.ts";
export { allocateFrame } from "./pool.ts";
