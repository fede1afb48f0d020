import { defineProject } from "vitest/config";

// Generous, for a loaded machine (a stuck test still ends); RELINK_TEST_TIMEOUT_MS overrides it (ms). The
// hook budget is larger: beforeAll builds the portal when no build exists and starts a whole demo network.
const timeout = Number(process.env["RELINK_TEST_TIMEOUT_MS"] || 300000);

export default defineProject({
  test: {
    name: "portal",
    // Two test files at a time (docs/runbooks/ci.md); `vitest run --maxWorkers=1` runs one at a time.
    maxWorkers: 2,
    include: ["test/**/*.test.ts"],
    testTimeout: timeout,
    hookTimeout: 3 * timeout,
    // expect.poll's default (1 s) is shorter than a loaded machine's server action or render: a wrong-
    // password sign-in took longer than that beside a CPU hog. A poll waits most of a test's time
    // (test/browser.ts WAIT_MS, likewise for Playwright's waits).
    expect: { poll: { timeout: Math.floor(0.8 * timeout), interval: 100 } },
  },
});
