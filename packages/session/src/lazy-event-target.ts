/**
 * The base of the `WebSocket` class: the runtime's own `EventTarget`, with its per-object state
 * made when the object is first used as an event target rather than when it is constructed.
 *
 * Why: a server keeps one `WebSocket` per connection, and many of them never get a listener
 * (an application that reads `ws.session` or iterates the socket, a socket that only receives
 * publications). Node 20's `EventTarget` constructor makes two `Map`s per object, the largest
 * part of an idle connection's heap in our layers after the socket itself; Node 24 makes them on
 * the first listener already.
 *
 * How: where the runtime keeps an event target's state in own properties of the object
 * (Node's `EventTarget` is JavaScript; its state is four symbol-keyed properties), the
 * `WebSocket` constructor does not run the runtime's constructor. Its prototype is still
 * `EventTarget.prototype` (WebIDL §3.7.3: the interface's parent), so `instanceof EventTarget`
 * holds, and `addEventListener`, `dispatchEvent`, `event.target`, `events.getEventListeners()`
 * … are the runtime's own code, unchanged. For each of those property keys, the socket's
 * prototype gets an accessor: the first read or write on an instance (the runtime's methods
 * read them first thing) copies the own properties of a new `EventTarget` onto it, which then
 * shadow the accessors. {@link hasEventTargetState} tells whether that happened: before it,
 * the object has no listener, so dispatching to it would do nothing.
 *
 * Not a public API: those properties are the runtime's internals. So {@link lazyEventTarget}
 * probes once, at load, that an object made this way adds, dispatches to (with `target`,
 * `currentTarget` and `eventPhase` as for a constructed one) and removes listeners, each
 * object with its own listeners. Where it does not (Bun's `EventTarget` is native and keeps its
 * state out of reach; any other layout), the base is the runtime's `EventTarget`, constructed
 * as before.
 *
 * @module
 */

/** The keys of the own properties a new `EventTarget` has (its state), or none. */
const STATE_KEYS: readonly PropertyKey[] = Reflect.ownKeys(new EventTarget());

/**
 * A constructor that makes a plain object whose prototype is `new.target.prototype` (below
 * `EventTarget.prototype`), without the runtime's `EventTarget` constructor. A function, not a
 * class: its `prototype` is set to `EventTarget.prototype` itself, so that a class extending it
 * has `EventTarget.prototype` as its prototype's prototype, as WebIDL lays out an interface.
 */
function LazyEventTarget(): void {}
LazyEventTarget.prototype = EventTarget.prototype;
// Static members (Node's "is an EventTarget" mark is a static property of the class).
Object.setPrototypeOf(LazyEventTarget, EventTarget);

/** Copies a new `EventTarget`'s state onto `target`, keeping what was already set on it. */
function materialize(target: object): void {
  const fresh = new EventTarget();
  for (const key of STATE_KEYS) {
    if (Object.hasOwn(target, key)) continue;
    Object.defineProperty(target, key, Object.getOwnPropertyDescriptor(fresh, key) as PropertyDescriptor);
  }
}

/**
 * Gives `prototype` the accessors that make the state of an instance (as `isInstance` tells)
 * on first use.
 */
function installAccessors(prototype: object, isInstance: (value: object) => boolean): void {
  for (const key of STATE_KEYS) {
    Object.defineProperty(prototype, key, {
      configurable: true,
      enumerable: false,
      get(this: object): unknown {
        // Read on the prototype itself (e.g. by an inspector): no state to make there, or every
        // instance would share it.
        if (!isInstance(this)) return undefined;
        materialize(this);
        return Reflect.get(this, key);
      },
      set(this: object, value: unknown): void {
        if (!isInstance(this)) return;
        materialize(this);
        Reflect.set(this, key, value);
      },
    });
  }
}

/** Whether an object made by {@link LazyEventTarget} works as an event target (see the module). */
function probe(): boolean {
  if (STATE_KEYS.length === 0) return false;
  try {
    const fresh = new EventTarget();
    for (const key of STATE_KEYS) {
      const descriptor = Object.getOwnPropertyDescriptor(fresh, key);
      if (descriptor === undefined || !("value" in descriptor) || descriptor.configurable !== true)
        return false;
    }
    const Probe = function Probe(): void {} as unknown as new () => EventTarget;
    Probe.prototype = Object.create(EventTarget.prototype) as EventTarget;
    Object.setPrototypeOf(Probe, EventTarget);
    const instances = new WeakSet<object>();
    installAccessors(Probe.prototype, (value) => instances.has(value));
    const make = (): EventTarget => {
      const target = Reflect.construct(LazyEventTarget, [], Probe) as EventTarget;
      instances.add(target);
      return target;
    };
    const first = make();
    const second = make();
    if (!(first instanceof EventTarget)) return false;
    const seen: unknown[] = [];
    const listener = (event: Event): void => {
      seen.push(event.target, event.currentTarget, event.eventPhase);
    };
    EventTarget.prototype.addEventListener.call(first, "probe", listener);
    const event = new Event("probe");
    const dispatched = EventTarget.prototype.dispatchEvent.call(first, event);
    second.dispatchEvent(new Event("probe")); // Its own listeners: none.
    EventTarget.prototype.removeEventListener.call(first, "probe", listener);
    first.dispatchEvent(new Event("probe"));
    return (
      dispatched &&
      event.target === first &&
      seen.length === 3 &&
      seen[0] === first &&
      seen[1] === first &&
      seen[2] === Event.AT_TARGET
    );
  } catch {
    return false;
  }
}

const LAZY = probe();

/**
 * The base class for `WebSocket`: {@link LazyEventTarget} where the probe passed, else the
 * runtime's `EventTarget`. The class then calls {@link installLazyEventTarget} once.
 */
export function lazyEventTarget(): typeof EventTarget {
  return (LAZY ? LazyEventTarget : EventTarget) as unknown as typeof EventTarget;
}

/**
 * Installs the state accessors on the prototype of a class made from {@link lazyEventTarget}
 * (see the module); `isInstance` is the class's brand check. An adapter's subclass prototype
 * gets them from there with the other members (`WebSocket.defineInterface`).
 */
export function installLazyEventTarget(prototype: object, isInstance: (value: object) => boolean): void {
  if (LAZY) installAccessors(prototype, isInstance);
}

/**
 * Whether `target` (an instance of a class made from {@link lazyEventTarget}) has its event
 * target state, so may have listeners. Always true where the state is made at construction.
 */
export function hasEventTargetState(target: object): boolean {
  return !LAZY || Object.hasOwn(target, STATE_KEYS[0] as PropertyKey);
}
