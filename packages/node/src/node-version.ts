/**
 * Fails fast, with a message that says what to do, on a Node.js older than the `engines` range
 * of the packages (>= 20.19: the first Node 20 whose `require()` loads ES modules, which the
 * CommonJS users of these ESM-only packages rely on). Imported for its effect by the client and
 * the server (package.json `sideEffects` keeps it in bundles).
 *
 * @module
 */

/** The oldest Node.js version the packages support (package.json `engines`). */
export const MINIMUM_NODE_VERSION = "20.19.0";

/**
 * Throws when `version` (default: this process's Node.js) is older than
 * {@link MINIMUM_NODE_VERSION}. Deno and Bun are not checked (they report the Node.js version
 * they are compatible with, and have their own packages).
 */
export function checkNodeVersion(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [needMajor = 0, needMinor = 0] = MINIMUM_NODE_VERSION.split(".").map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return;
  throw new Error(
    `@ws/node needs Node.js >= ${MINIMUM_NODE_VERSION} (package.json "engines"); this is Node.js ${version}. ` +
      "Upgrade Node.js (20.19 or later, 22.12 or later, or 24).",
  );
}

if (!("Deno" in globalThis) && !("Bun" in globalThis)) checkNodeVersion();
