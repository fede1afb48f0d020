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
  transpilePackages: [
    "@relink/sdk",
    "@relink/psi",
    "@relink/identity",
    "@relink/protocol",
    "@relink/tlog",
    "@relink/he",
  ],
  // Type-checked by `npm run typecheck` (tsconfig.json here); the build does not repeat it.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  productionBrowserSourceMaps: false,
  webpack(config, { isServer }) {
    // The SDK's Node request layer (undici) has a browser stand-in (web/http-shim.ts).
    if (!isServer) {
      config.resolve.alias = {
        ...config.resolve.alias,
        "@relink/protocol/http": join(import.meta.dirname, "web", "http-shim.ts"),
      };
      // node-seal's Emscripten glue imports `module` (createRequire) only when it runs on Node; the exposure
      // querier in the browser worker never takes that branch. No other Node built-in is needed: the SDK's
      // browser entries reach none (packages/sdk/test/browser-entry.test.ts).
      config.resolve.fallback = { ...config.resolve.fallback, module: false };
    }
    return config;
  },
  async headers() {
    return [{ source: "/:path*", headers }];
  },
};

export default config;
