import { defineProject } from "vitest/config";

// Compiling the circuit (circom2, WebAssembly) and proving take seconds on a loaded machine.
export default defineProject({
  test: {
    name: "circuits",
    // Two test files at a time (docs/runbooks/ci.md); `vitest run --maxWorkers=1` runs one at a time.
    maxWorkers: 2,
    include: ["test/**/*.test.ts"],
    testTimeout: Number(process.env.RELINK_TEST_TIMEOUT_MS ?? 300_000),
    hookTimeout: Number(process.env.RELINK_TEST_TIMEOUT_MS ?? 300_000),
  },
});
