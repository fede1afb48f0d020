/**
 * The member home holds the member's secrets and its audit evidence: owner-only by stat (issue #15.5), and
 * receipts are kept one per leaf index, never rewritten (issue #11).
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../src/commands/options.ts";
import { checkpointFile, fileHeKeyStore, initHome, keepReceipts, keptReceipts } from "../src/home.ts";

const mode = (p: string) => lstatSync(p).mode & 0o777;

describe("member home", () => {
  const root = mkdtempSync(join(tmpdir(), "relink-home-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const home = join(root, "member");

  it("is 0700 with 0600 files, even when the directory existed world-readable", () => {
    mkdirSync(home, { mode: 0o755 });
    initHome(home, "http://127.0.0.1:1", undefined, { keys: [], k: 0 });
    expect(mode(home)).toBe(0o700);
    expect(mode(join(home, "member.json"))).toBe(0o600);
    fileHeKeyStore(home).put("A".repeat(43), new Uint8Array(32), Date.now() + 60_000);
    expect(mode(join(home, "exposure-keys"))).toBe(0o700);
    expect(mode(join(home, "exposure-keys", `${"A".repeat(43)}.json`))).toBe(0o600);
    writeFileAtomic(checkpointFile(home), "{}\n");
    expect(mode(checkpointFile(home))).toBe(0o600);
  });

  it("keeps every receipt once, by leaf index, in an owner-only directory", () => {
    const r = (index: number, tag: string) => ({ format: "relink-audit-receipt/v1", index, leaf: tag });
    expect(keepReceipts(home, [r(7, "a"), r(12, "b"), { index: "x" }])).toBe(2);
    expect(keepReceipts(home, [r(7, "changed"), r(3, "c")])).toBe(1); // 7 is kept as first received
    expect(mode(join(home, "receipts"))).toBe(0o700);
    const files = readdirSync(join(home, "receipts"));
    expect(files.sort()).toEqual(["000000000003.json", "000000000007.json", "000000000012.json"]);
    for (const f of files) expect(mode(join(home, "receipts", f))).toBe(0o600);
    expect(JSON.parse(readFileSync(join(home, "receipts", "000000000007.json"), "utf8")).leaf).toBe("a");
    expect(keptReceipts(home).map((k) => [k.index, k.leaf])).toEqual([
      [3n, "c"],
      [7n, "a"],
      [12n, "b"],
    ]);
  });
});
