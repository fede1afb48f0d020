import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "portal",
    include: ["test/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 900_000,
  },
});
