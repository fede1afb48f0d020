import { defineProject } from "vitest/config";

// Generous, for a loaded machine (a stuck test still ends); RELINK_TEST_TIMEOUT_MS overrides it (ms). The
// hook budget is larger: beforeAll builds the portal when no build exists and starts a whole demo network.
const timeout = Number(process.env["RELINK_TEST_TIMEOUT_MS"] || 300000);

export default defineProject({
  test: {
    name: "portal",
    include: ["test/**/*.test.ts"],
    testTimeout: timeout,
    hookTimeout: 3 * timeout,
  },
});
