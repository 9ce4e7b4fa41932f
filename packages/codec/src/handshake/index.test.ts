import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildAcceptResponse,
  buildUpgradeRequest,
  checkUpgradeRequest,
  checkUpgradeResponse,
  generateKey,
  HttpHeadParser,
} from "./index.ts";

const encode = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

describe("handshake", () => {
  it("a client and a server complete the handshake through HttpHeadParser", () => {
    const key = generateKey();
    const server = new HttpHeadParser("request");
    const request = server.push(
      encode(buildUpgradeRequest({ url: "ws://localhost:9001/echo", key, protocols: ["superchat", "chat"] })),
    );
    expect(request).toMatchObject({ method: "GET", target: "/echo" });
    const accepted = checkUpgradeRequest(request!, { protocols: ["chat", "superchat"] });
    expect(accepted.protocol).toBe("superchat");
    const client = new HttpHeadParser("response");
    const response = client.push(encode(buildAcceptResponse(accepted)));
    expect(checkUpgradeResponse(response!, { key, protocols: ["superchat", "chat"] })).toStrictEqual({
      protocol: "superchat",
      extensions: [],
      extensionsHeader: undefined,
    });
  });

  it("the server selects the first protocol the client offers that it supports, for any offer (fast-check)", () => {
    const names = ["chat", "superchat", "a", "b"];
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...names)),
        fc.uniqueArray(fc.constantFrom(...names)),
        (offered, supported) => {
          const key = generateKey();
          const server = new HttpHeadParser("request");
          const request = server.push(
            encode(buildUpgradeRequest({ url: "ws://h/", key, protocols: offered })),
          )!;
          const accepted = checkUpgradeRequest(request, { protocols: supported });
          expect(accepted.protocol).toBe(offered.find((name) => supported.includes(name)));
          const response = new HttpHeadParser("response").push(encode(buildAcceptResponse(accepted)))!;
          expect(checkUpgradeResponse(response, { key, protocols: offered }).protocol).toBe(
            accepted.protocol,
          );
        },
      ),
    );
  });
});
