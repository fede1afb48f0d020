/**
 * The one seam between the hub process and the Next.js code it hosts (ADR 0060). The hub's composition
 * root (src/server) builds a PortalBridge over its real core and puts it on globalThis before Next starts;
 * the portal's route handlers (bundled by Next) read it back. Only plain data and web-standard Request /
 * Response objects cross, so the bundle never imports the hub's modules (and never opens the database).
 */

export interface PortalSignInResult {
  ok: boolean;
  reason?: "invalid" | "locked" | "totp_required" | "totp_invalid" | "disabled";
  user?: { id: string; name: string; email: string; memberId: string | null; roles: string[] };
}

export interface PortalBridge {
  signIn(input: { email: string; password: string; totp?: string }): Promise<PortalSignInResult>;
  /** Serves one tRPC request (`/api/trpc/<path>`) for a signed-in user id (re-read from the database). */
  handleTrpc(request: Request, userId: string): Promise<Response>;
  /** Origins the browser may connect to besides its own (the key holders), for the CSP. */
  connectOrigins(): Promise<string[]>;
  /** Whether the portal is served over TLS (HSTS, secure cookies). */
  secure: boolean;
}

const KEY = Symbol.for("relink.portal.bridge");

export function setPortalBridge(bridge: PortalBridge): void {
  (globalThis as Record<symbol, unknown>)[KEY] = bridge;
}

export function portalBridge(): PortalBridge {
  const b = (globalThis as Record<symbol, unknown>)[KEY] as PortalBridge | undefined;
  if (!b) throw new Error("the portal runs inside the hub process (npm start / RELINK_PORTAL=1)");
  return b;
}
