/**
 * The key holder's HTTP shell: a tiny router over node:http (the same shape as the hub's, which an app
 * may not import). Every error leaves as `{ error: WireError }` with the status its code maps to.
 *
 * Error boundary: URL parsing, route lookup, headers, body and handler all run inside one try; client
 * garbage is a typed 4xx, only a fault of the holder itself a 500. Requests Node's parser refuses get the
 * same JSON shape (protocol `hardenServer`). Threat model T15; fuzzed by test/http-fuzz.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type ErrorCode,
  HTTP_STATUS,
  RelinkError,
  SIGNATURE_HEADERS,
  type WireError,
} from "@relink/protocol";
import { hardenServer, type ServerTimeouts } from "@relink/protocol/http";
import type { Logger } from "./logger.ts";

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

export interface Route {
  method: "GET" | "POST";
  path: string;
  handle(ctx: RouteContext): Promise<void> | void;
}

/** A RelinkError with an explicit HTTP status (e.g. 503 while the DKG runs). */
export class StatusError extends RelinkError {
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string) {
    super(code, message);
    this.status = status;
  }
}

/** Bytes past the limit are read and dropped up to this much, so the client sees the 413 answer. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/**
 * Reads a request body of at most `limit` bytes. A longer body is drained (not kept) and refused with
 * PAYLOAD_TOO_LARGE; past DRAIN_LIMIT the connection is cut.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > DRAIN_LIMIT) {
    req.destroy();
    throw new RelinkError("PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > DRAIN_LIMIT) {
        req.destroy();
        break;
      }
      if (size <= limit) chunks.push(chunk as Buffer);
    }
  } catch {
    throw new RelinkError("BAD_INPUT", "request body incomplete (connection closed)");
  }
  if (size > limit) throw new RelinkError("PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`);
  return new Uint8Array(Buffer.concat(chunks));
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: RelinkError): void {
  const wire: WireError = error.toWire();
  const status = error instanceof StatusError ? error.status : HTTP_STATUS[error.code];
  const headers: Record<string, string> =
    wire.retryAfterSeconds !== undefined ? { "retry-after": String(wire.retryAfterSeconds) } : {};
  sendJson(res, status, { error: wire }, headers);
}

/** The request target as a URL; anything `new URL` refuses, or an absolute-form target, is BAD_INPUT. */
function parseRequestUrl(target: string | undefined): URL {
  try {
    const url = new URL(target ?? "/", "http://keyholder.invalid");
    if (url.origin !== "http://keyholder.invalid") throw new TypeError("absolute-form target");
    return url;
  } catch {
    throw new StatusError(400, "BAD_INPUT", "request target is not a valid path");
  }
}

/**
 * Request headers a browser may send cross-origin (the portal's worker signs with these): every signed-request
 * header, taken from protocol so that a new one (such as the audience) is never missed, and the JSON body's.
 */
export const CORS_HEADERS = ["content-type", ...Object.values(SIGNATURE_HEADERS)].join(", ");

export function createHttpServer(
  routes: Route[],
  log: Logger,
  timeouts: ServerTimeouts = { requestTimeoutMs: 60_000 },
  corsOrigins: readonly string[] = [],
): Server {
  const server = createServer(async (req, res) => {
    let path = "(unparsed)";
    // CORS (ADR 0060): the portal's browser worker calls the key holders directly; only listed origins.
    const origin = req.headers.origin;
    if (origin && corsOrigins.includes(origin)) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
      res.setHeader("access-control-expose-headers", "retry-after");
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          "access-control-allow-methods": "GET, POST",
          "access-control-allow-headers": CORS_HEADERS,
          "access-control-max-age": "600",
        });
        res.end();
        return;
      }
    }
    try {
      const url = parseRequestUrl(req.url);
      path = url.pathname.slice(0, 200);
      const route = routes.find((r) => r.path === url.pathname && r.method === req.method);
      if (!route) {
        const other = routes.some((r) => r.path === url.pathname);
        throw new StatusError(
          other ? 405 : 404,
          "NOT_FOUND",
          `no route for ${String(req.method).slice(0, 16)} ${path}`,
        );
      }
      await route.handle({ req, res, url });
    } catch (error) {
      if (error instanceof RelinkError) {
        if (!res.headersSent) sendError(res, error);
        else res.destroy();
        return;
      }
      // Log the route, never the request body: bodies carry blinded elements.
      log.error("http.unhandled", { method: req.method, path, error: String(error) });
      if (!res.headersSent) sendError(res, new RelinkError("INTERNAL", "internal error"));
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
  const shown = host.includes(":") ? `[${host}]` : host;
  return { url: `http://${shown}:${address.port}`, port: address.port };
}
