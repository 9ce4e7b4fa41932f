/**
 * The adapter object every shared scenario file (`*-scenarios.ts`) takes, built once from an
 * adapter package's exports, so that the Node, Deno and Bun runners (each package's
 * `test/shared-scenarios.ts` / `shared_scenarios.ts`) differ only in what is the runner's own:
 * its `expect`, its cleanup, its echo server helper.
 */

/** What the scenarios use of an adapter package's exports (`@ws/node`, `@ws/deno`, `@ws/bun`). */
export interface AdapterModule {
  readonly WebSocketServer: new (options: never) => unknown;
  readonly WebSocket: unknown;
  readonly HandshakeRejectedError: unknown;
  readonly observe: unknown;
  readonly setDeflateConcurrency: unknown;
  connect(url: string, options?: never): Promise<unknown>;
}

/** The module's part of the adapter. */
export interface ModuleParts {
  createServer(options: never): unknown;
  connect(url: string, options?: never): Promise<unknown>;
  readonly observe: unknown;
  readonly setDeflateConcurrency: unknown;
  readonly WebSocket: unknown;
  readonly WebSocketServer: AdapterModule["WebSocketServer"];
  readonly HandshakeRejectedError: unknown;
}

/**
 * The module's part of the adapter, and the runner's `parts`. Each scenario file types its own
 * narrower view of the adapter; this object satisfies them all.
 */
export function scenarioAdapter<P extends object>(module: AdapterModule, parts: P): ModuleParts & P {
  const fromModule: ModuleParts = {
    createServer: (options) => new module.WebSocketServer(options),
    connect: (url, options) => module.connect(url, options),
    observe: module.observe,
    setDeflateConcurrency: module.setDeflateConcurrency,
    WebSocket: module.WebSocket,
    WebSocketServer: module.WebSocketServer,
    HandshakeRejectedError: module.HandshakeRejectedError,
  };
  return Object.assign(fromModule, parts);
}
