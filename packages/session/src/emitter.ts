/**
 * A small typed event emitter with the `node:events` method names the servers' users call
 * (`on`, `once`, `off`, `emit`, `listenerCount` …), written here because this layer imports
 * no `node:*` module (it compiles with the universal web globals only: see
 * `tsconfig.portable.json`). `EventTarget` would change the servers' ws-style API.
 *
 * Two differences from `node:events`, on purpose, so that nothing reaches the event loop from
 * a socket callback and ends the process: an exception thrown by a listener does not escape
 * `emit()` (it is reported to the `'error'` listeners, else to the console, and the other
 * listeners still run), and an `'error'` event without listeners is reported to the console
 * instead of being thrown.
 *
 * @module
 */
import { reportListenerError } from "./handled.ts";

/** An event map: each event name with its listener's argument list. */
export type EventArgs<Events> = { [K in keyof Events]: unknown[] };

/** A listener of event `K` of `Events`. */
export type EmitterListener<Events extends EventArgs<Events>, K extends keyof Events> = (
  ...args: Events[K]
) => void;

/** A listener as stored: the map's typing is checked where it is added. */
type StoredListener = (...args: unknown[]) => void;

interface Entry {
  readonly listener: StoredListener;
  readonly once: boolean;
}

const stored = (listener: unknown): StoredListener => listener as StoredListener;

/**
 * A typed event emitter, `node:events`-style.
 *
 * @example
 * ```ts
 * const emitter = new Emitter<{ ready: [at: number] }>();
 * emitter.once("ready", (at) => console.log(at));
 * emitter.emit("ready", 1);
 * ```
 */
export class Emitter<Events extends EventArgs<Events>> {
  readonly #listeners = new Map<keyof Events, Entry[]>();

  #add<K extends keyof Events>(name: K, listener: EmitterListener<Events, K>, once: boolean): this {
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot listen to ${String(name)}: the listener must be a function`);
    }
    const entry = { listener: stored(listener), once };
    const entries = this.#listeners.get(name);
    if (entries === undefined) this.#listeners.set(name, [entry]);
    else entries.push(entry);
    return this;
  }

  /** Calls `listener` on every `name` event. */
  on<K extends keyof Events>(name: K, listener: EmitterListener<Events, K>): this {
    return this.#add(name, listener, false);
  }

  /** The same as {@link Emitter.on}. */
  addListener<K extends keyof Events>(name: K, listener: EmitterListener<Events, K>): this {
    return this.#add(name, listener, false);
  }

  /** Calls `listener` on the next `name` event only. */
  once<K extends keyof Events>(name: K, listener: EmitterListener<Events, K>): this {
    return this.#add(name, listener, true);
  }

  /** Removes `listener` (its most recent registration, as `node:events` does). */
  off<K extends keyof Events>(name: K, listener: EmitterListener<Events, K>): this {
    const entries = this.#listeners.get(name);
    if (entries === undefined) return this;
    for (let index = entries.length - 1; index >= 0; index--) {
      if (entries[index]?.listener !== stored(listener)) continue;
      entries.splice(index, 1);
      break;
    }
    if (entries.length === 0) this.#listeners.delete(name);
    return this;
  }

  /** Removes one registration (a `once` listener before it runs). */
  #remove(name: keyof Events, entry: Entry): void {
    const entries = this.#listeners.get(name);
    const index = entries?.indexOf(entry) ?? -1;
    if (entries === undefined || index === -1) return;
    entries.splice(index, 1);
    if (entries.length === 0) this.#listeners.delete(name);
  }

  /** The same as {@link Emitter.off}. */
  removeListener<K extends keyof Events>(name: K, listener: EmitterListener<Events, K>): this {
    return this.off(name, listener);
  }

  /** Removes every listener of `name`, or of every event. */
  removeAllListeners(name?: keyof Events): this {
    if (name === undefined) this.#listeners.clear();
    else this.#listeners.delete(name);
    return this;
  }

  /** How many listeners `name` has. */
  listenerCount(name: keyof Events): number {
    return this.#listeners.get(name)?.length ?? 0;
  }

  /** The listeners of `name`, in the order they run. */
  listeners<K extends keyof Events>(name: K): EmitterListener<Events, K>[] {
    return (this.#listeners.get(name) ?? []).map(
      (entry) => entry.listener as unknown as EmitterListener<Events, K>,
    );
  }

  /**
   * Calls the listeners of `name` in order with `args`; returns whether there were any. A
   * listener that throws is reported (see the module comment); the others still run. An
   * `'error'` without listeners goes to the console.
   */
  emit<K extends keyof Events>(name: K, ...args: Events[K]): boolean {
    const entries = this.#listeners.get(name);
    if (entries === undefined) {
      if (name === "error") reportListenerError(args[0]);
      return false;
    }
    for (const entry of [...entries]) {
      if (entry.once) this.#remove(name, entry);
      try {
        entry.listener.apply(this, args);
      } catch (error) {
        this.#report(name, error instanceof Error ? error : new Error(String(error)));
      }
    }
    return true;
  }

  #report(name: keyof Events, error: Error): void {
    if (name !== "error" && this.listenerCount("error" as keyof Events) > 0) {
      this.emit("error" as keyof Events, ...([error] as unknown as Events[keyof Events]));
    } else {
      reportListenerError(error);
    }
  }
}
