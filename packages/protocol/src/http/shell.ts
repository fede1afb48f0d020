/**
 * The HTTP shell every Relink server (hub, key holder) runs its routes in: a tiny router over node:http, the
 * request body reader with its limits, the error contract, and the JSON-lines logger. Transport only —
 * handlers call core use cases. Each app contributes `Route`s; its composition root decides which to mount.
 *
 * Error contract: every error leaves as `{ error: WireError }` (codes from ERROR_CODES) with the status its
 * code maps to (HTTP_STATUS), or the explicit status of an `HttpError` (405, 415, 503 while the DKG runs…);
 * `retryAfterSeconds` is also sent as `Retry-After`. Everything that reads the request — URL parsing, route
 * matching (percent-decoding of path parameters), headers, body, the handler — runs inside one try, so client
 * garbage is a typed 4xx and only a fault of the server itself is a 500. A 500 (any non-RelinkError, or a
 * RelinkError with code INTERNAL) is logged with method and path — never the body, which may carry member
 * data or blinded elements — and answered with a bare "internal error". Requests Node's parser refuses are
 * answered in the same shape by `hardenServer` (server.ts). Threat model T15; each app fuzzes it
 * (test/http-fuzz.test.ts). ADR 0066.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ErrorCode, HTTP_STATUS, RelinkError, type WireError } from "../errors.ts";
import { hardenServer, type ServerTimeouts } from "./server.ts";

/**
 * For every binary: a reader that stops early (`relink --help | head`) closes stdout's pipe. Exit quietly
 * with code 0, as Unix tools do, instead of dying on an unhandled EPIPE with a stack trace.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(0);
  });
}

/** JSON-lines logger. Callers pass event names and non-personal fields only (slugs, counts, codes). */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** One JSON object a line: `{ t, level, event, ...base, ...fields }`. */
export function jsonLogger(
  write: (line: string) => void = (l) => process.stdout.write(l),
  clock = () => new Date(),
  base: Record<string, unknown> = {},
): Logger {
  const emit = (level: string, event: string, fields?: Record<string, unknown>) =>
    write(`${JSON.stringify({ t: clock().toISOString(), level, event, ...base, ...fields })}\n`);
  return {
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Decoded path parameters (`:name`, `*rest`). */
  params: Record<string, string>;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path pattern; `:name` captures one segment, a trailing `*rest` captures the remainder. */
  path: string;
  handle(ctx: RouteContext): Promise<void> | void;
}

/** Default upper bound on a request body; routes pass their own (smaller or larger) limit. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * A body over its limit but under this is read and dropped, so a client that does not announce its length
 * still sees the 413 answer; past it (or a Content-Length past it) the connection is cut.
 */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/** A wire error with an explicit HTTP status where the code's default does not fit (405, 415, 503…). */
export class HttpError extends RelinkError {
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string) {
    super(code, message);
    this.status = status;
  }
}

/** Percent-decodes one path segment; malformed escapes (`%ZZ`, a lone `%`, bad UTF-8) are BAD_INPUT. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "BAD_INPUT", "path: malformed percent-encoding");
  }
}

/**
 * Matches a path against a pattern; returns the decoded parameters or undefined. Throws BAD_INPUT
 * (HttpError 400) when the path matches but a captured segment is not valid percent-encoding.
 */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith("*")) {
      params[seg.slice(1)] = s.slice(i).map(decodeSegment).join("/");
      return params;
    }
    const value = s[i];
    if (value === undefined) return undefined;
    if (seg.startsWith(":")) params[seg.slice(1)] = decodeSegment(value);
    else if (seg !== value) return undefined;
  }
  return p.length === s.length ? params : undefined;
}

/** The request target as a URL; anything `new URL` refuses, or an absolute-form target, is BAD_INPUT. */
export function parseRequestUrl(target: string | undefined): URL {
  try {
    const url = new URL(target ?? "/", "http://relink.invalid");
    if (url.origin !== "http://relink.invalid") throw new TypeError("absolute-form target");
    return url;
  } catch {
    throw new HttpError(400, "BAD_INPUT", "request target is not a valid path");
  }
}

/**
 * The request as a signature check reads it (core's `UnverifiedRequest`): the method (`method` when Node has
 * none), the path with its query, the exact body bytes, and headers by case-insensitive name (the first of
 * repeated ones).
 */
export function requestToVerify(
  req: IncomingMessage,
  url: URL,
  body: Uint8Array,
  method: string,
): { method: string; path: string; body: Uint8Array; header(name: string): string | undefined } {
  return {
    method: req.method ?? method,
    path: url.pathname + url.search,
    body,
    header: (name) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    },
  };
}

/**
 * Reads the request body, at most `limit` bytes. A declared Content-Length over the limit is refused at once
 * with PAYLOAD_TOO_LARGE (Node discards the unread rest). A longer body without a declared length is drained
 * (not kept) and then refused the same way; past DRAIN_LIMIT the connection is cut. A body cut short by the
 * client is BAD_INPUT.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const tooLarge = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`);
  const drainLimit = Math.max(limit, DRAIN_LIMIT);
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > drainLimit) {
    req.destroy();
    throw tooLarge();
  }
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > drainLimit) {
        req.destroy();
        break;
      }
      if (size <= limit) chunks.push(chunk as Buffer);
    }
  } catch {
    throw new HttpError(400, "BAD_INPUT", "request body incomplete (connection closed)");
  }
  if (size > limit) throw tooLarge();
  return new Uint8Array(Buffer.concat(chunks));
}

/** A JSON answer; bigints are written as decimal strings. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string | Uint8Array,
  type = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, { "content-type": type });
  res.end(text);
}

/** The error contract: `{ error: WireError }`, the code's status (or the HttpError's), Retry-After. */
export function sendError(res: ServerResponse, error: RelinkError): void {
  const wire: WireError = error.toWire();
  const status = error instanceof HttpError ? error.status : HTTP_STATUS[error.code];
  const headers: Record<string, string> =
    wire.retryAfterSeconds !== undefined ? { "retry-after": String(wire.retryAfterSeconds) } : {};
  sendJson(res, status, { error: wire }, headers);
}

/** Cross-origin callers a server admits (the key holders admit the portal's browser worker, ADR 0060). */
export interface CorsPolicy {
  origins: readonly string[];
  /** `Access-Control-Allow-Methods` of the preflight answer. */
  methods: string;
  /** `Access-Control-Allow-Headers` of the preflight answer. */
  headers: string;
}

export interface HttpServerOptions {
  timeouts?: ServerTimeouts;
  cors?: CorsPolicy;
}

/**
 * Finds the route for a method and path (decoding its parameters). No route for the path is 404; a route for
 * the path under another method is 405 (code NOT_FOUND).
 */
function route(
  routes: readonly Route[],
  method: string | undefined,
  path: string,
): [Route, Record<string, string>] {
  let otherMethod = false;
  for (const r of routes) {
    const params = matchPath(r.path, path);
    if (!params) continue;
    if (r.method === method) return [r, params];
    otherMethod = true;
  }
  throw new HttpError(
    otherMethod ? 405 : 404,
    "NOT_FOUND",
    `no route for ${String(method).slice(0, 16)} ${path.slice(0, 200)}`,
  );
}

/** Answers CORS for listed origins; true when the request was a preflight and has been answered. */
function answerCors(req: IncomingMessage, res: ServerResponse, cors: CorsPolicy | undefined): boolean {
  const origin = req.headers.origin;
  if (!cors || !origin || !cors.origins.includes(origin)) return false;
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("vary", "origin");
  res.setHeader("access-control-expose-headers", "retry-after");
  if (req.method !== "OPTIONS") return false;
  res.writeHead(204, {
    "access-control-allow-methods": cors.methods,
    "access-control-allow-headers": cors.headers,
    "access-control-max-age": "600",
  });
  res.end();
  return true;
}

export function createHttpServer(
  routes: readonly Route[],
  log: Logger,
  options: HttpServerOptions = {},
): Server {
  const server = createServer(async (req, res) => {
    // A response that finishes after close() began (a long poll that close released) would leave its
    // keep-alive connection open until keepAliveTimeout (65 s), holding up close(): end it instead.
    res.once("finish", () => {
      if (!server.listening) req.socket.end();
    });
    let path = "(unparsed)";
    if (answerCors(req, res, options.cors)) return;
    try {
      const url = parseRequestUrl(req.url);
      path = url.pathname.slice(0, 200);
      const [r, params] = route(routes, req.method, url.pathname);
      await r.handle({ req, res, url, params });
    } catch (error) {
      const known = error instanceof RelinkError && error.code !== "INTERNAL";
      // Log the route, never the request body.
      if (!known) log.error("http.unhandled", { method: req.method, path, error: String(error) });
      if (res.headersSent) res.destroy();
      else sendError(res, known ? error : new RelinkError("INTERNAL", "internal error"));
    }
  });
  return hardenServer(server, options.timeouts ?? { requestTimeoutMs: 300_000 });
}

/** Listens on `host:port` (port 0: any free port); the URL brackets an IPv6 host. */
export async function listen(
  server: Server,
  port: number,
  host: string,
): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  return { url: `http://${shown}:${address.port}`, port: address.port };
}
