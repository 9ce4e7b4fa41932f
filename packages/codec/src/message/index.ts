/**
 * Message assembly and UTF-8 (RFC 6455 §5.4, §5.6, §8.1).
 *
 * @module
 */
export {
  type AssembledMessage,
  concat,
  MessageAssembler,
  type MessageAssemblerOptions,
  type OutputBudget,
} from "./assembler.ts";
export {
  decodeUtf8,
  decodeValidUtf8,
  isValidUtf8,
  StreamingUtf8Decoder,
  type Utf8RangeDecoder,
} from "./utf8.ts";
