/**
 * What a fuzz target is: a name and a fast-check property (synchronous or asynchronous) whose
 * inputs are built by structure-aware arbitraries or by mutating seeds of the corpus.
 *
 * @module
 */
import type fc from "fast-check";

/** One fuzz target. */
export interface FuzzTarget {
  /** `module/kind`, e.g. `frame-decoder/mutated`. */
  readonly name: string;
  /** The module(s) under test, for the report. */
  readonly modules: readonly string[];
  /** Builds the property (once per run). */
  // biome-ignore lint/suspicious/noExplicitAny: properties of any input tuple
  readonly property: () => fc.IRawProperty<any, boolean>;
}
