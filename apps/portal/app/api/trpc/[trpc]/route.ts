/**
 * The portal's tRPC endpoint: the hub's own appRouter (no second API), served by the hub process through
 * the bridge for the signed-in user. Mutations must come from this origin (CSRF: the session cookie is
 * SameSite=Lax, and the Origin header — which browsers set on every POST — must match).
 */

import type { NextRequest } from "next/server";
import { getToken } from "next-auth/jwt";
import { portalBridge } from "../../../../src/bridge.ts";

export const dynamic = "force-dynamic";

function refuse(status: number, code: string, message: string): Response {
  return Response.json({ error: { message, code: -32001, data: { code, httpStatus: status } } }, { status });
}

async function handler(req: NextRequest): Promise<Response> {
  const token = await getToken({ req, secret: process.env["NEXTAUTH_SECRET"] ?? "" });
  const uid = token?.["uid"];
  if (typeof uid !== "string") return refuse(401, "UNAUTHORIZED", "sign in first");
  if (req.method !== "GET") {
    const expected = new URL(process.env["NEXTAUTH_URL"] ?? req.url).origin;
    if (req.headers.get("origin") !== expected)
      return refuse(403, "FORBIDDEN", "cross-origin request refused");
  }
  return portalBridge().handleTrpc(req, uid);
}

export { handler as GET, handler as POST };
