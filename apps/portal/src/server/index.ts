/**
 * Hosts the portal inside the hub process (ADR 0060): one process owns the database (embedded PGlite
 * allows only one), the portal's pages and its /api routes are served by Next.js from a production build,
 * and its tRPC calls reach the same `appRouter` over the same core as the hub's /trpc — with the signed-in
 * person's roles checked (PORTAL_ACCESS) on top of the member's signature.
 */
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { type ApiContext, appRouter, type PortalSession } from "@relink/api";
import { type CoreDeps, portalIdentity, signIn } from "@relink/core";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { type PortalBridge, setPortalBridge } from "../bridge.ts";

export const PORTAL_DIR = join(import.meta.dirname, "..", "..");

/** Whether a production build exists (`npm run build -w @relink/portal`). */
export function portalBuilt(dir = PORTAL_DIR): boolean {
  return existsSync(join(dir, ".next", "BUILD_ID"));
}

export function createBridge(deps: {
  core: CoreDeps;
  adminKeys: Uint8Array[];
  /** The network DPOs' keys (the hub's `dpoKeys`): they sign the network DPO's `dpo.*` calls (ADR 0063). */
  dpoKeys: Uint8Array[];
  secure: boolean;
  /** Key holders' URLs (from the network config): the browser talks to them directly. */
  holderUrls: string[];
}): PortalBridge {
  const { core } = deps;
  return {
    secure: deps.secure,
    async signIn(input) {
      const r = await signIn(core, input);
      if (!r.ok) return { ok: false, reason: r.reason };
      const id = r.identity;
      return {
        ok: true,
        user: {
          id: id.userId,
          name: id.displayName,
          email: id.email,
          memberId: id.memberId,
          roles: id.grants.map((g) => g.role),
        },
      };
    },
    async handleTrpc(request, userId) {
      const identity = await portalIdentity(core, userId).catch(() => undefined);
      const portal: PortalSession = identity
        ? {
            userId: identity.userId,
            memberId: identity.memberId,
            pseudonym: identity.pseudonym,
            grants: identity.grants,
          }
        : { userId, memberId: null, pseudonym: "", grants: [] };
      const url = new URL(request.url);
      const body =
        request.method === "POST" ? new Uint8Array(await request.clone().arrayBuffer()) : new Uint8Array();
      return fetchRequestHandler({
        endpoint: "/api/trpc",
        req: request,
        router: appRouter,
        onError: ({ error, path }) => {
          if (error.code === "INTERNAL_SERVER_ERROR")
            core.log.error("portal.api_internal_error", { path, error: String(error.cause ?? error) });
          else core.log.info("portal.api_refused", { path, code: error.code });
        },
        createContext: (): ApiContext => ({
          core,
          adminKeys: deps.adminKeys,
          dpoKeys: deps.dpoKeys,
          portal,
          request: {
            method: request.method,
            path: url.pathname + url.search,
            body,
            header: (name) => request.headers.get(name) ?? undefined,
          },
        }),
      });
    },
    async connectOrigins() {
      return [...new Set(deps.holderUrls.map((u) => new URL(u).origin))];
    },
  };
}

type NextFactory = (options: {
  dev: boolean;
  dir: string;
  hostname: string;
  port: number;
  quiet: boolean;
}) => {
  prepare(): Promise<void>;
  getRequestHandler(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  close(): Promise<void>;
};

export interface PortalHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts Next.js in this process over the portal's production build and installs the bridge. `publicUrl`
 * is where browsers reach the hub (NEXTAUTH_URL); the session secret is generated per process unless
 * NEXTAUTH_SECRET is set, so sessions end when the hub restarts.
 */
export async function startPortal(options: {
  bridge: PortalBridge;
  publicUrl: string;
  dir?: string;
}): Promise<PortalHandler> {
  const dir = options.dir ?? PORTAL_DIR;
  if (!portalBuilt(dir))
    throw new Error(`no portal build in ${dir}/.next: run npm run build -w @relink/portal`);
  setPortalBridge(options.bridge);
  process.env["NEXTAUTH_URL"] = options.publicUrl;
  process.env["RELINK_PORTAL_CONNECT_SRC"] = (await options.bridge.connectOrigins()).join(" ");
  process.env["NEXTAUTH_SECRET"] ||= Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString(
    "base64url",
  );
  // Loaded by name, not typed: next's global type augmentations (NODE_ENV…) must not leak into the hub.
  const nextModule = "next";
  const next = ((await import(nextModule)) as { default: NextFactory }).default;
  const url = new URL(options.publicUrl);
  const app = next({ dev: false, dir, hostname: url.hostname, port: Number(url.port || 80), quiet: true });
  await app.prepare();
  const handle = app.getRequestHandler();
  return {
    handle: async (req, res) => {
      await handle(req, res);
    },
    close: async () => {
      await app.close();
    },
  };
}

/** Catch-all hub routes (mounted after the hub's own) that hand the request to the portal once it is up. */
export function portalRoutes(ready: () => Promise<PortalHandler> | undefined): {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  handle(ctx: { req: IncomingMessage; res: ServerResponse }): Promise<void>;
}[] {
  const handle = async ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => {
    const portal = ready();
    if (!portal) {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "2" });
      res.end("portal starting");
      return;
    }
    await (await portal).handle(req, res);
  };
  return (["GET", "POST", "PUT", "DELETE"] as const).map((method) => ({ method, path: "/*rest", handle }));
}
