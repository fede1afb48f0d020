/**
 * The hub's HTTP shell: a tiny router over node:http. Transport only — handlers call core use cases.
 * Each route module contributes `Route`s; the composition root (main.ts / tests) decides which to mount.
 *
 * Error boundary: everything that reads the request — URL parsing, route matching (percent-decoding of
 * path parameters), headers, body, the handler — runs inside one try. Client garbage is answered with a
 * typed 4xx JSON error (`{ error: { code, message } }`, codes from protocol's ERROR_CODES); only a fault
 * of the hub itself is a 500. Requests Node's parser refuses are answered the same way (protocol
 * `hardenServer`). Threat model T15; the fuzz test is test/http-fuzz.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type ErrorCode, HTTP_STATUS, RelinkError } from "@relink/protocol";
import { hardenServer, type ServerTimeouts } from "@relink/protocol/http";

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path pattern; `:name` captures one segment, a trailing `*rest` captures the remainder. */
  path: string;
  handle(ctx: RouteContext): Promise<void> | void;
}

/** Upper bound on any request body the hub reads; protects the process from oversize input. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** A wire error with an explicit HTTP status (e.g. 415, 405) where the code's default does not fit. */
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

/** The request target as a URL; anything `new URL` refuses is BAD_INPUT. */
export function parseRequestUrl(target: string | undefined): URL {
  try {
    const url = new URL(target ?? "/", "http://hub.invalid");
    if (url.origin !== "http://hub.invalid") throw new TypeError("absolute-form target");
    return url;
  } catch {
    throw new HttpError(400, "BAD_INPUT", "request target is not a valid path");
  }
}

/**
 * Reads the request body, at most `limit` bytes (PAYLOAD_TOO_LARGE past it, and at once when the
 * declared Content-Length says so). A body cut short by the client is BAD_INPUT.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof RelinkError) throw error;
    throw new HttpError(400, "BAD_INPUT", "request body incomplete (connection closed)");
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
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

export interface HubLogger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** Finds the route for a method and path (decoding its parameters), or throws NOT_FOUND. */
function route(routes: Route[], method: string | undefined, path: string): [Route, Record<string, string>] {
  for (const r of routes) {
    if (r.method !== method) continue;
    const params = matchPath(r.path, path);
    if (params) return [r, params];
  }
  throw new HttpError(404, "NOT_FOUND", `no route for ${String(method).slice(0, 16)} ${path.slice(0, 200)}`);
}

export function createHttpServer(
  routes: Route[],
  log: HubLogger,
  timeouts: ServerTimeouts = { requestTimeoutMs: 300_000 },
): Server {
  const server = createServer(async (req, res) => {
    let path = "(unparsed)";
    try {
      const url = parseRequestUrl(req.url);
      path = url.pathname.slice(0, 200);
      const [r, params] = route(routes, req.method, url.pathname);
      await r.handle({ req, res, url, params });
    } catch (error) {
      if (error instanceof RelinkError) {
        const status = error instanceof HttpError ? error.status : HTTP_STATUS[error.code];
        if (!res.headersSent) sendJson(res, status, { error: error.toWire() });
        else res.destroy();
        return;
      }
      // Log the route, never the request body: bodies may carry member data.
      log.error("http.unhandled", { method: req.method, path, error: String(error) });
      if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error" } });
      else res.destroy();
    }
  });
  return hardenServer(server, timeouts);
}

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
  return { url: `http://${host}:${address.port}`, port: address.port };
}
