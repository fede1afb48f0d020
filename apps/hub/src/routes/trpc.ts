/**
 * Mounts the tRPC API at /trpc/<procedure>. The raw body is read here (bounded) so that the signature can
 * be checked over exactly the bytes the member signed; tRPC then parses the same bytes.
 */
import { type ApiContext, appRouter } from "@relink/api";
import type { CoreDeps } from "@relink/core";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import { type Route, readBody } from "../http.ts";

export function trpcRoutes(deps: { core: CoreDeps; adminKeys: Uint8Array[] }): Route[] {
  const handle: Route["handle"] = async ({ req, res, url, params }) => {
    const body = req.method === "POST" ? await readBody(req) : new Uint8Array();
    // tRPC reads a pre-read body from req.body (as a string) instead of the consumed stream.
    (req as typeof req & { body?: string }).body =
      req.method === "POST" ? new TextDecoder().decode(body) : undefined;
    await nodeHTTPRequestHandler({
      router: appRouter,
      req,
      res,
      path: params["path"] ?? "",
      createContext: (): ApiContext => ({
        core: deps.core,
        adminKeys: deps.adminKeys,
        request: {
          method: req.method ?? "GET",
          path: url.pathname + url.search,
          body,
          header: (name) => {
            const v = req.headers[name.toLowerCase()];
            return Array.isArray(v) ? v[0] : v;
          },
        },
      }),
    });
  };
  return [
    { method: "GET", path: "/trpc/*path", handle },
    { method: "POST", path: "/trpc/*path", handle },
  ];
}
