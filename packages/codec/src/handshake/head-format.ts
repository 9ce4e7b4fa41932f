/**
 * Writing HTTP/1.1 heads (RFC 9112 §2.1): a start line, field lines, an empty line. Shared by
 * the server's responses and the client's request. Caller-supplied fields are checked so they
 * can neither override the handshake's own fields nor inject lines (CR / LF) into the head.
 *
 * @module
 */

import { isToken } from "./header-tokens.ts";
import { type HeaderField, type HeadersInput, headerEntries } from "./headers.ts";

const REASON_PHRASES: Readonly<Record<number, string>> = {
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** The usual reason phrase of `status` (RFC 9110 §15), or a generic one by class. */
export function reasonPhrase(status: number): string {
  return (
    REASON_PHRASES[status] ??
    (status >= 500
      ? "Server Error"
      : status >= 400
        ? "Client Error"
        : status >= 300
          ? "Redirection"
          : status >= 200
            ? "Success"
            : "Unknown")
  );
}

/** Whether `value` may be written as a field value: SP, HTAB and visible ASCII only. */
function isSafeFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code >= 0x7f) return false;
  }
  return true;
}

/**
 * Checks caller-supplied header fields and returns them in order.
 *
 * @param reserved lower-case names the caller may not set (the handshake sets them).
 * @throws {TypeError} when a name is not a token, a value holds a control or non-ASCII
 *   character, or a name is reserved.
 */
export function extraHeaderFields(
  headers: HeadersInput | undefined,
  reserved: (lowerName: string) => boolean,
  context: string,
): HeaderField[] {
  if (headers === undefined) return [];
  const fields = headerEntries(headers);
  for (const [name, value] of fields) {
    if (!isToken(name))
      throw new TypeError(`Cannot ${context}: header name ${JSON.stringify(name)} is not a token`);
    if (!isSafeFieldValue(value)) {
      throw new TypeError(
        `Cannot ${context}: the value of header ${name} holds a control or non-ASCII character`,
      );
    }
    if (reserved(name.toLowerCase())) {
      throw new TypeError(
        `Cannot ${context}: header ${name} is set by the WebSocket handshake and cannot be overridden`,
      );
    }
  }
  return fields;
}

/** Writes a head: the start line, one line per field, then the empty line (RFC 9112 §2.1). */
export function formatHead(startLine: string, fields: readonly HeaderField[]): string {
  let head = `${startLine}\r\n`;
  for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}
