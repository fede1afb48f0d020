/** The lazy command table in cli.ts matches what each group really registers, and help still lists all. */
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram, GROUPS } from "../src/cli.ts";

describe("relink command groups", () => {
  it("each group registers exactly the top-level commands GROUPS lists for it", async () => {
    const seen = new Set<string>();
    for (const g of GROUPS) {
      const p = new Command("relink");
      (await g.load()).register(p);
      const names = p.commands.map((c) => c.name());
      expect(names.sort()).toEqual([...g.commands].sort());
      for (const n of names) {
        expect(seen.has(n)).toBe(false);
        seen.add(n);
      }
    }
  });

  it("a known command builds only its group; anything else builds every group", async () => {
    const receipt = await buildProgram("receipt");
    expect(receipt.commands.map((c) => c.name())).toEqual(["receipt"]);
    const all = (await buildProgram(undefined)).commands.map((c) => c.name()).sort();
    expect(all).toEqual(GROUPS.flatMap((g) => g.commands).sort());
    expect((await buildProgram("--help")).commands.length).toBe(all.length);
  });
});
