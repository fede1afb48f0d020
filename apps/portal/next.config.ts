import { join } from "node:path";
import type { NextConfig } from "next";

// Security headers other than the CSP (which needs a per-request nonce: src/proxy.ts).
const headers = [
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

const config: NextConfig = {
  // Workspace packages export TypeScript source.
  transpilePackages: ["@relink/sdk", "@relink/psi", "@relink/identity", "@relink/protocol", "@relink/tlog"],
  // Type-checked by `npm run typecheck` (tsconfig.json here); the build does not repeat it.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  productionBrowserSourceMaps: false,
  webpack(config, { isServer, webpack }) {
    // The SDK's Node request layer (undici) has a browser stand-in (web/http-shim.ts).
    if (!isServer) {
      config.resolve.alias = {
        ...config.resolve.alias,
        "@relink/protocol/http": join(import.meta.dirname, "web", "http-shim.ts"),
      };
      // The member node's consent-proof path (ADR 0050: artifact files, gunzip, a worker-thread prover) is
      // Node-only and never runs in the portal's worker, which has no consent book; its Node built-ins
      // resolve to empty modules in the browser bundle instead of failing the build.
      config.plugins.push(
        new webpack.NormalModuleReplacementPlugin(
          /^node:(fs|os|path|url|zlib|worker_threads)$/,
          (resource: { request: string }) => {
            resource.request = resource.request.slice("node:".length);
          },
        ),
      );
      config.resolve.fallback = {
        ...config.resolve.fallback,
        fs: false,
        os: false,
        path: false,
        url: false,
        zlib: false,
        worker_threads: false,
      };
    }
    return config;
  },
  async headers() {
    return [{ source: "/:path*", headers }];
  },
};

export default config;
