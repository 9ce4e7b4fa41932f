// The client runners and scenarios run on Node, Deno, Bun and in browsers; they reach the
// runtime-specific globals only behind `globalThis.Deno` / `globalThis.Bun` checks.
// biome-ignore lint/suspicious/noExplicitAny: feature-detected runtime global
declare var Deno: any;
// biome-ignore lint/suspicious/noExplicitAny: feature-detected runtime global
declare var Bun: any;
