/**
 * A tiny case-insensitive view over the header shapes the runtimes hand us, so the handshake
 * functions work on all of them without copying into a class first:
 *
 * - Node's `IncomingMessage.headers` (a plain object, lower-case names, `string | string[]`),
 * - WHATWG `Headers` and any `Map` (iterables of `[name, value]` pairs),
 * - the head parsed by {@link HttpHeadParser} (an array of pairs).
 *
 * Field names are case-insensitive (RFC 9110 §5.1). Repeated fields are joined with ", " in
 * order, which is equivalent for the list-valued fields of the handshake (RFC 9110 §5.3).
 *
 * @module
 */

/** One header field: `[name, value]`. */
export type HeaderField = readonly [name: string, value: string];

/**
 * Headers in any of the shapes the runtimes provide: an iterable of `[name, value]` pairs
 * (WHATWG `Headers`, `Map`, arrays) or a record of values (Node's `IncomingHttpHeaders`).
 */
export type HeadersInput =
  | Iterable<HeaderField>
  | Readonly<Record<string, string | readonly string[] | undefined>>;

function isIterable(input: HeadersInput): input is Iterable<HeaderField> {
  return typeof (input as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

/**
 * Lists the fields of `input` in order, one entry per field line, names as given. Array values
 * of a record become one entry per element; `undefined` values are skipped.
 *
 * @example
 * ```ts
 * import { headerEntries } from "./headers.ts";
 * const entries = headerEntries({ "x-a": ["1", "2"], Host: "example.com" });
 * // [["x-a", "1"], ["x-a", "2"], ["Host", "example.com"]]
 * console.assert(entries.length === 3);
 * ```
 */
export function headerEntries(input: HeadersInput): HeaderField[] {
  const entries: HeaderField[] = [];
  if (isIterable(input)) {
    for (const [name, value] of input) entries.push([name, value]);
    return entries;
  }
  for (const name of Object.keys(input)) {
    const value = input[name];
    if (value === undefined) continue;
    if (typeof value === "string") entries.push([name, value]);
    else for (const item of value) entries.push([name, item]);
  }
  return entries;
}

/**
 * Removes leading and trailing optional whitespace (SP and HTAB, RFC 9110 §5.6.3 `OWS`).
 * Unlike `String.prototype.trim`, other Unicode spaces are kept.
 */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Normalizes `input` into a map from lower-case field name to value: values are trimmed of
 * `OWS` and repeated fields are joined with ", " in order (RFC 9110 §5.2, §5.3).
 *
 * @example
 * ```ts
 * import { normalizeHeaders } from "./headers.ts";
 * const map = normalizeHeaders([["Connection", "keep-alive"], ["connection", "Upgrade"]]);
 * console.assert(map.get("connection") === "keep-alive, Upgrade");
 * ```
 */
export function normalizeHeaders(input: HeadersInput): ReadonlyMap<string, string> {
  // The fields in headerEntries() order, without copying them into a list of pairs first
  // (a server normalizes every handshake's headers).
  const map = new Map<string, string>();
  if (isIterable(input)) {
    for (const [name, value] of input) addField(map, name, value);
    return map;
  }
  for (const name of Object.keys(input)) {
    const value = input[name];
    if (value === undefined) continue;
    if (typeof value === "string") addField(map, name, value);
    else for (const item of value) addField(map, name, item);
  }
  return map;
}

function addField(map: Map<string, string>, name: string, rawValue: string): void {
  const key = name.toLowerCase();
  const value = trimOws(rawValue);
  const previous = map.get(key);
  map.set(key, previous === undefined ? value : `${previous}, ${value}`);
}
