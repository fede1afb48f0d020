import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "psi",
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // The 10,000-input byte-identity property test runs on the worker pool.
    testTimeout: 60_000,
  },
});
