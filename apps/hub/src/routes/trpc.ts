/**
 * Mounts the tRPC API at /trpc/<procedure>. The raw body is read here (bounded) so that the signature can
 * be checked over exactly the bytes the member signed; tRPC then parses the same bytes.
 */
import { type ApiContext, appRouter } from "@relink/api";
import type { CoreDeps } from "@relink/core";
import { type Route, readBody, requestToVerify } from "@relink/protocol/http";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";

export function trpcRoutes(deps: {
  core: CoreDeps;
  adminKeys: Uint8Array[];
  dpoKeys?: Uint8Array[];
  keyHolderKeys?: Uint8Array[];
}): Route[] {
  const log = deps.core.log;
  const handle: Route["handle"] = async ({ req, res, url, params }) => {
    const body = req.method === "POST" ? await readBody(req) : new Uint8Array();
    // tRPC reads a pre-read body from req.body (as a string) instead of the consumed stream.
    (req as typeof req & { body?: string }).body =
      req.method === "POST" ? new TextDecoder().decode(body) : undefined;
    // Every answer is JSON: tRPC leaves the content type unset on some early refusals (unsupported
    // media type, wrong method for form data, a Host it cannot parse), which then default to text/plain.
    res.setHeader("content-type", "application/json");
    await nodeHTTPRequestHandler({
      router: appRouter,
      req,
      res,
      path: params["path"] ?? "",
      responseMeta: ({ errors }) =>
        errors.length > 0 ? { headers: { "content-type": "application/json" } } : {},
      onError: ({ error, path }) => {
        // The hub never holds personal data, so messages are safe to log; internal errors get their cause.
        const cause = error.cause;
        if (error.code === "INTERNAL_SERVER_ERROR") {
          log.error("api.internal_error", {
            path,
            error: String(cause ?? error),
            stack: (cause as Error | undefined)?.stack?.split("\n").slice(0, 4).join(" | "),
          });
        } else {
          log.info("api.refused", {
            path,
            code: error.code,
            reason: (cause as { code?: string } | undefined)?.code,
          });
        }
      },
      createContext: (): ApiContext => ({
        core: deps.core,
        adminKeys: deps.adminKeys,
        dpoKeys: deps.dpoKeys ?? [],
        keyHolderKeys: deps.keyHolderKeys ?? [],
        request: requestToVerify(req, url, body, "GET"),
      }),
    });
  };
  return [
    { method: "GET", path: "/trpc/*path", handle },
    { method: "POST", path: "/trpc/*path", handle },
  ];
}
