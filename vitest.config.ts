import { defineConfig } from "vitest/config";

// One project per workspace package (each owns its vitest.config.ts), plus repo-level scripts.
export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "apps/*/vitest.config.ts",
      "circuits*/vitest.config.ts",
      "scripts/vitest.config.ts",
    ],
  },
});
