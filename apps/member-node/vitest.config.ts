import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "member-node",
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // End-to-end tests start a hub, a witness and CLI processes.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
