import { defineProject } from "vitest/config";

// Generous, for a loaded machine (a stuck test still ends).
const timeout = 300000;

export default defineProject({
  test: {
    name: "ristretto-native",
    testTimeout: timeout,
    hookTimeout: timeout,
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
  },
});
