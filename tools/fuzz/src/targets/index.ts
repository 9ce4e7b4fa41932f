/**
 * Every fuzz target, in the order the runner visits them.
 *
 * @module
 */
import type { FuzzTarget } from "../target.ts";
import {
  connectionDeflateMutated,
  connectionDeflateRoundTrip,
  connectionMutated,
  connectionRandom,
  connectionRoundTrip,
} from "./connection.ts";
import { dialResponses } from "./dial.ts";
import { frameDecoderMutated, frameDecoderRandom, frameRoundTrip } from "./frame-decoder.ts";
import {
  handshakeRoundTrip,
  httpRequestMutated,
  httpRequestRandom,
  httpResponseMutated,
} from "./handshake.ts";
import { closePayloads, headerTokensBuilt, headerTokensMutated, headerTokensRandom } from "./tokens.ts";

export const TARGETS: readonly FuzzTarget[] = [
  frameDecoderMutated,
  frameDecoderRandom,
  frameRoundTrip,
  connectionMutated,
  connectionRandom,
  connectionRoundTrip,
  connectionDeflateMutated,
  connectionDeflateRoundTrip,
  httpRequestMutated,
  httpRequestRandom,
  httpResponseMutated,
  handshakeRoundTrip,
  headerTokensMutated,
  headerTokensRandom,
  headerTokensBuilt,
  closePayloads,
  dialResponses,
];
