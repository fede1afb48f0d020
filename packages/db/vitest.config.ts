import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "db",
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // PGlite needs seconds to start; PostgreSQL databases are created per file.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
