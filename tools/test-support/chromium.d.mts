// Types of chromium.mjs (headless Chromium for the browser tests).
import type { Browser } from "playwright-core";

/** The Chromium binary: `CHROMIUM_PATH`, else Debian's /usr/bin/chromium. */
export declare const CHROMIUM_PATH: string;

/** Why there is no Chromium to run (for a test's skip reason), or undefined when there is one. */
export declare function chromiumMissing(): string | undefined;

/**
 * Launches headless Chromium with a fresh profile; `args` are added to the common flags. Close
 * the browser when done: that also deletes the profile.
 */
export declare function launchChromium(args?: readonly string[]): Promise<Browser>;
