import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "keyholder",
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // The end-to-end suite starts real holder processes and runs a DKG among them.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
