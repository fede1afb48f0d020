/** The shipped, dependency-free verifier repeats one code from the leaf registry; keep the two equal. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EVENT_TYPES } from "@relink/tlog";
import { describe, expect, it } from "vitest";

describe("verify-export.mjs", () => {
  it("knows the dpo.export event code of the leaf registry", () => {
    const text = readFileSync(join(import.meta.dirname, "../assets/verify-export.mjs"), "utf8");
    const m = /const DPO_EXPORT_EVENT = (\d+);/.exec(text);
    expect(m, "DPO_EXPORT_EVENT constant").not.toBeNull();
    expect(Number(m![1])).toBe(EVENT_TYPES["dpo.export"]);
  });
});
