import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "tlog", include: ["test/**/*.test.ts", "src/**/*.test.ts"] },
});
