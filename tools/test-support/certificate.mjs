// @ts-self-types="./certificate.d.mts"
// A throwaway self-signed TLS certificate for the adapters' TLS tests and the WPT runner, made by
// the openssl CLI (through `node:child_process`, which Node, Deno and Bun all provide), or the
// reason there is none, so that a suite can skip its TLS cases with that reason. An end-entity
// certificate (CA:FALSE), which rustls (Deno) accepts as its own trust anchor where it rejects a
// self-signed CA certificate ("CaUsedAsEndEntity"). Plain JavaScript so that scripts run by Node
// without a build (apps/wpt) use it too; its types are in certificate.d.mts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A certificate for localhost / 127.0.0.1 (PEM text), valid for one day, or why not.
 * @returns {{ cert: string, key: string } | string}
 */
export function selfSigned() {
  /** @type {string | undefined} */
  let dir;
  try {
    dir = mkdtempSync(join(tmpdir(), "ws-test-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    return {
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
      key: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } catch (error) {
    return `openssl CLI unavailable: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
