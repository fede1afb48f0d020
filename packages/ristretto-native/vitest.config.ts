import { defineProject } from "vitest/config";

// Generous, for a loaded machine (a stuck test still ends).
const timeout = 300000;

export default defineProject({
  test: {
    name: "ristretto-native",
    // Two test files at a time (docs/runbooks/ci.md); `vitest run --maxWorkers=1` runs one at a time.
    maxWorkers: 2,
    testTimeout: timeout,
    hookTimeout: timeout,
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
  },
});
