import { defineProject } from "vitest/config";

// Proving and verifying with the real artifacts is tested in circuits/ (this leaf does no I/O).
export default defineProject({
  test: { name: "zk", include: ["test/**/*.test.ts", "src/**/*.test.ts"] },
});
