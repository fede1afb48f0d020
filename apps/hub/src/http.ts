/**
 * The hub's HTTP shell: a tiny router over node:http. Transport only — handlers call core use cases.
 * Each route module contributes `Route`s; the composition root (main.ts / tests) decides which to mount.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

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

export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith("*")) {
      params[seg.slice(1)] = s.slice(i).map(decodeURIComponent).join("/");
      return params;
    }
    const value = s[i];
    if (value === undefined) return undefined;
    if (seg.startsWith(":")) params[seg.slice(1)] = decodeURIComponent(value);
    else if (seg !== value) return undefined;
  }
  return p.length === s.length ? params : undefined;
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, "PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
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

export function createHttpServer(routes: Route[], log: HubLogger): Server {
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://hub.invalid");
    const route = routes.find((r) => r.method === req.method && matchPath(r.path, url.pathname));
    try {
      if (!route) throw new HttpError(404, "NOT_FOUND", `no route for ${req.method} ${url.pathname}`);
      await route.handle({ req, res, url, params: matchPath(route.path, url.pathname)! });
    } catch (error) {
      if (error instanceof HttpError) {
        if (!res.headersSent)
          sendJson(res, error.status, { error: { code: error.code, message: error.message } });
        return;
      }
      // Log the route, never the request body: bodies may carry member data.
      log.error("http.unhandled", { method: req.method, path: url.pathname, error: String(error) });
      if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error" } });
      else res.destroy();
    }
  });
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
