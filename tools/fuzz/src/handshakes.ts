/**
 * Handshake helpers for the fuzz targets: the fixed key of the seed corpus, and a
 * permessage-deflate negotiation through the codec's real handshake functions.
 *
 * @module
 */
import type { Extension } from "@ws/codec/extensions";
import { type PermessageDeflateOptions, permessageDeflate } from "@ws/codec/extensions";
import { checkUpgradeRequest, checkUpgradeResponse, upgradeRequestHeaders } from "@ws/codec/handshake";
import { engine } from "./engine.ts";

/** The key of every seed handshake (RFC 6455 §1.3's example). */
export const SEED_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
/** Its `Sec-WebSocket-Accept`. */
export const SEED_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** Options of both sides' permessage-deflate, without the engine. */
export type DeflateSettings = Omit<PermessageDeflateOptions, "engine">;

/** Negotiates permessage-deflate through the real handshake functions; both sides' extensions. */
export function negotiateDeflate(
  clientOptions: DeflateSettings = {},
  serverOptions: DeflateSettings = clientOptions,
): { client: Extension[]; server: Extension[] } {
  const offer = permessageDeflate({ engine, ...clientOptions });
  const headers = upgradeRequestHeaders({ url: "ws://127.0.0.1/", key: SEED_KEY, extensions: [offer] });
  const accepted = checkUpgradeRequest(
    { method: "GET", headers },
    { extensions: [permessageDeflate({ engine, ...serverOptions })] },
  );
  const responseHeaders: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", accepted.accept],
  ];
  if (accepted.extensionsHeader)
    responseHeaders.push(["Sec-WebSocket-Extensions", accepted.extensionsHeader]);
  const confirmed = checkUpgradeResponse(
    { status: 101, headers: responseHeaders },
    { key: SEED_KEY, extensions: [offer] },
  );
  return { client: [...confirmed.extensions], server: [...accepted.extensions] };
}
