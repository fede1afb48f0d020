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
    // The export pack's offline verifier (@relink/sdk/verify-export.mjs) is imported as its text, untouched
    // by any loader, and shipped in the browser's pack exactly as the CLI ships it (ADR 0064): every loader
    // rule excludes it (Next's SWC rules would re-print it), and one rule, first in `oneOf`, makes it a
    // string (asset/source).
    const verifierFile = /[\\/]sdk[\\/]assets[\\/]verify-export\.mjs$/;
    type Rule = {
      oneOf?: Rule[];
      rules?: Rule[];
      use?: unknown;
      loader?: unknown;
      exclude?: unknown;
      test?: RegExp;
      type?: string;
    };
    const excludeVerifier = (rules: (Rule | false | null | undefined | "...")[] | undefined) => {
      for (const r of rules ?? []) {
        if (!r || typeof r !== "object") continue;
        if (r.use || r.loader) r.exclude = r.exclude ? [r.exclude, verifierFile].flat() : verifierFile;
        excludeVerifier(r.oneOf);
        excludeVerifier(r.rules);
      }
    };
    excludeVerifier(config.module.rules);
    const verifier = { test: verifierFile, type: "asset/source" };
    const oneOf = (config.module.rules as Rule[]).find((r) => Array.isArray(r?.oneOf));
    if (oneOf?.oneOf) oneOf.oneOf.unshift(verifier);
    else config.module.rules.unshift(verifier);
    return config;
  },
  async headers() {
    return [{ source: "/:path*", headers }];
  },
};

export default config;
