import { defineProject } from "vitest/config";

// Generous, for a loaded machine (a stuck test still ends); RELINK_TEST_TIMEOUT_MS overrides it (ms).
const timeout = Number(process.env["RELINK_TEST_TIMEOUT_MS"] || 300000);

export default defineProject({
  test: {
    name: "repo",
    // Two test files at a time (docs/runbooks/ci.md); `vitest run --maxWorkers=1` runs one at a time.
    maxWorkers: 2,
    testTimeout: timeout,
    hookTimeout: timeout,
    include: ["*.test.ts"],
  },
});
