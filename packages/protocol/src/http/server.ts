/**
 * What every Relink HTTP server (hub, key holder) sets on its node:http server, in one place:
 *
 *  - Answers the requests Node's HTTP parser refuses before any route sees them (malformed request line or
 *    headers, a bad Content-Length, headers over the size limit, a header timeout) with a typed JSON error
 *    (`{ error: { code, message } }`, codes from ERROR_CODES) instead of Node's bare `400 Bad Request`, and
 *    closes the connection (RFC 9112 §2.2: a server that cannot parse a message must not reuse it).
 *  - Keep-alive (RFC 9112 §9.3): the server keeps an idle connection open longer than any Relink client
 *    keeps one (client.ts, CLIENT_KEEP_ALIVE_MS), so it is the client that closes idle sockets, never the
 *    server just as the client reuses one. headersTimeout stays above keepAliveTimeout.
 *
 * Transport only: the routes and their error boundary live in each app's http.ts.
 */
import { type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { ErrorCode } from "../errors.ts";

/** How long a server keeps an idle keep-alive connection: longer than CLIENT_KEEP_ALIVE_MS (client.ts). */
export const SERVER_KEEP_ALIVE_MS = 65_000;
/** Headers of a request must arrive within this; above SERVER_KEEP_ALIVE_MS. */
export const SERVER_HEADERS_TIMEOUT_MS = 66_000;

/** A complete HTTP/1.1 response with a JSON error body, written straight to a socket. */
export function rawJsonError(status: number, code: ErrorCode, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
    "content-type: application/json; charset=utf-8\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    "connection: close\r\n\r\n" +
    body
  );
}

/** The status and wire code for a parser error (`clientError`), by Node's error code. */
export function clientErrorAnswer(code: string | undefined): {
  status: number;
  code: ErrorCode;
  message: string;
} {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, code: "BAD_INPUT", message: "request line or headers too large" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
    case "ERR_HTTP_HEADERS_TIMEOUT":
      return { status: 408, code: "BAD_INPUT", message: "request not received in time" };
    case "HPE_INVALID_METHOD":
      return { status: 400, code: "BAD_INPUT", message: "unknown HTTP method" };
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return { status: 400, code: "BAD_INPUT", message: "invalid Content-Length" };
    default:
      return { status: 400, code: "BAD_INPUT", message: "malformed HTTP request" };
  }
}

export interface ServerTimeouts {
  /** Whole request (headers and body) must arrive within this; 0 = no limit. */
  requestTimeoutMs: number;
  /** Socket inactivity timeout; 0 = none (long polls hold responses open). */
  socketTimeoutMs?: number;
}

/** Applies the keep-alive and header timeouts above and the typed answer to parser errors. */
export function hardenServer(server: Server, timeouts: ServerTimeouts): Server {
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  server.headersTimeout = SERVER_HEADERS_TIMEOUT_MS;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.timeout = timeouts.socketTimeoutMs ?? 0;
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or an already-answered socket gets nothing more (as Node's default handler does).
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const a = clientErrorAnswer(error.code);
    socket.end(rawJsonError(a.status, a.code, a.message));
  });
  return server;
}
