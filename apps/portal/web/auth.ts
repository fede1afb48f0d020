/**
 * next-auth (v4) configuration: credentials checked by the hub's core (scrypt, lockout, TOTP) through the
 * bridge; JWT sessions in an httpOnly, SameSite=Lax cookie (Secure and __Secure- prefixed over TLS); the
 * token carries only the user id, name and roles for the navigation — every API call re-reads the grants.
 * CSRF: next-auth's double-submit token on its own POSTs; /api/trpc checks Origin (app/api/trpc).
 */
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { portalBridge } from "../src/bridge.ts";

export const SESSION_HOURS = 8;

export function authOptions(): NextAuthOptions {
  const secure = (process.env["NEXTAUTH_URL"] ?? "").startsWith("https:");
  return {
    secret: process.env["NEXTAUTH_SECRET"],
    session: { strategy: "jwt", maxAge: SESSION_HOURS * 3600 },
    useSecureCookies: secure,
    pages: { signIn: "/signin", error: "/signin" },
    providers: [
      CredentialsProvider({
        name: "Relink",
        credentials: {
          email: { label: "email", type: "email" },
          password: { label: "password", type: "password" },
          totp: { label: "totp", type: "text" },
        },
        async authorize(credentials) {
          const email = String(credentials?.email ?? "").slice(0, 200);
          const password = String(credentials?.password ?? "").slice(0, 200);
          const totp = String(credentials?.totp ?? "").trim();
          const r = await portalBridge().signIn({ email, password, ...(totp ? { totp } : {}) });
          if (!r.ok || !r.user) throw new Error(r.reason ?? "invalid");
          return r.user;
        },
      }),
    ],
    callbacks: {
      jwt({ token, user }) {
        if (user) {
          const u = user as { id: string; name: string; memberId: string | null; roles: string[] };
          token["uid"] = u.id;
          token["roles"] = u.roles;
          token["memberId"] = u.memberId;
        }
        return token;
      },
      session({ session, token }) {
        return {
          ...session,
          user: {
            name: session.user?.name ?? null,
            email: session.user?.email ?? null,
            id: token["uid"] as string,
            roles: (token["roles"] as string[]) ?? [],
            memberId: (token["memberId"] as string | null) ?? null,
          },
        };
      },
    },
  };
}

export interface PortalUser {
  id: string;
  name: string | null;
  email: string | null;
  roles: string[];
  memberId: string | null;
}
