// Types of collect-garbage.mjs (the memory benchmark's `/gc` control path).

/** Runs a full garbage collection; returns the JavaScript heap in use after it, in bytes. */
export declare function collectGarbage(): number;

/** The message a `/gc` connection gets: `{"heapUsed":N}`. */
export declare function garbageReport(): string;
