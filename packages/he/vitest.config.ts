import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "he", include: ["test/**/*.test.ts", "src/**/*.test.ts"], testTimeout: 60_000 },
});
