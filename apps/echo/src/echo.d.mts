// Types of echo.mjs (the echo contract of ARCHITECTURE.md, shared by every adapter's tests and
// echo server).

/** What the echo needs of a session (`@ws/session`'s `Session`). */
export interface EchoSession {
  readonly state: string;
  readonly connection: { readonly canSend: boolean };
  handler: object;
  send(data: string | Uint8Array): unknown;
}

/** What the echo needs of an accepted socket (every adapter's `WebSocket`). */
export interface EchoSocket {
  readonly url: string;
  readonly session?: EchoSession | undefined;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** What {@link startEchoServer} needs of an adapter's `WebSocketServer` (all three have it). */
export interface EchoCapableServer {
  // biome-ignore lint/suspicious/noExplicitAny: each adapter's socket type.
  on(event: "connection", listener: (ws: any) => void): unknown;
  once(event: "listening" | "error", listener: (error?: unknown) => void): unknown;
  address(): unknown;
  close(timeout?: number): Promise<void>;
}

/** A running echo server. */
export interface EchoServer<S extends EchoCapableServer> {
  /** The server. */
  readonly server: S;
  /** The port it listens on. */
  readonly port: number;
  /** `ws://127.0.0.1:<port>` (`wss:` with `tls`). */
  readonly url: string;
  /** Closes every connection (1001) and stops listening. */
  close(): Promise<void>;
}

/** The server options the echo contract needs, before the caller's own. */
export declare const ECHO_SERVER_OPTIONS: {
  readonly host: string;
  readonly port: number;
  readonly protocols: readonly string[];
  readonly echoCloseReason: boolean;
  readonly limits: { readonly maxMessageSize: number; readonly maxFrameSize: number };
};

/** Serves one connection by the echo contract. */
export declare function serveEcho(ws: EchoSocket): void;

/** Starts an echo server with the adapter's `WebSocketServer` class and resolves once it listens. */
export declare function startEchoServer<S extends EchoCapableServer, O extends object>(
  WebSocketServer: new (options: O) => S,
  options?: Partial<O>,
): Promise<EchoServer<S>>;
