import { defineProject } from "vitest/config";

// Generous, for a loaded machine (a stuck test still ends). A crypto leaf reads no environment (ADR 0003):
// override with `vitest run --testTimeout=MS --hookTimeout=MS`.
const timeout = 300000;

export default defineProject({
  test: {
    name: "identity",
    // Two test files at a time (docs/runbooks/ci.md); `vitest run --maxWorkers=1` runs one at a time.
    maxWorkers: 2,
    testTimeout: timeout,
    hookTimeout: timeout,
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
  },
});
