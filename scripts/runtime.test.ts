import { expect, it } from "vitest";

// node-seal 7 cannot load on Node 20: the whole suite must run on the pinned Node 24 (ADR 0001).
it("runs on Node 24", () => {
  expect(process.version).toMatch(/^v24\./);
});
