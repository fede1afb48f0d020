/**
 * Security headers on every response (Next.js 16 proxy, formerly middleware): a Content-Security-Policy
 * with a per-request nonce (Next applies it to its own scripts; no 'unsafe-inline' scripts), no framing,
 * connections only to this origin and the key holders (RELINK_PORTAL_CONNECT_SRC, set by the hub), WASM
 * compilation allowed for libsodium ('wasm-unsafe-eval', not 'unsafe-eval'), and HSTS over TLS.
 */
import { type NextRequest, NextResponse } from "next/server";

export function proxy(request: NextRequest) {
  const nonce = btoa(crypto.randomUUID());
  const connect = process.env["RELINK_PORTAL_CONNECT_SRC"] ?? "";
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic' 'wasm-unsafe-eval'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${connect}`.trim(),
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  const headers = new Headers(request.headers);
  headers.set("x-nonce", nonce);
  headers.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", csp);
  if ((process.env["NEXTAUTH_URL"] ?? "").startsWith("https:"))
    response.headers.set("strict-transport-security", "max-age=63072000; includeSubDomains");
  return response;
}
