/**
 * A monitor's full audit (audit.ts): the compact range folds to the same root as the tree, and the first
 * bad leaf is found — for every index, in full and incremental audits — against an honest log's proofs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompactRange, firstBadLeaf } from "../src/audit.ts";
import { consistencyProof, hashLeaf, MemoryTree } from "../src/merkle.ts";

const leaf = (i: number, salt = 0) => hashLeaf(new Uint8Array([i & 255, i >> 8, salt]));

function honest(size: number): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < size; i++) t.append(leaf(i));
  return t;
}

const proofsOf = (t: MemoryTree) => (from: bigint, to: bigint) => consistencyProof(from, to, t.read);

describe("CompactRange", () => {
  it("folds to the RFC 9162 root at every size and round-trips through JSON", () => {
    const t = new MemoryTree();
    const r = new CompactRange();
    expect(r.root()).toEqual(t.root());
    for (let i = 0; i < 70; i++) {
      t.append(leaf(i));
      r.append(leaf(i));
      expect(r.root()).toEqual(t.root());
      const back = CompactRange.fromJSON(JSON.parse(JSON.stringify(r.toJSON())));
      expect(back.size).toBe(r.size);
      expect(back.root()).toEqual(r.root());
    }
  });

  it("refuses a frontier that does not fit its size", () => {
    expect(() => new CompactRange(5n, [leaf(1)])).toThrow(/frontier/);
    expect(() => CompactRange.fromJSON({ size: "01", frontier: [] })).toThrow(/size/);
  });
});

describe("firstBadLeaf", () => {
  it("is undefined for an intact log", async () => {
    const t = honest(37);
    const hashes = Array.from({ length: 37 }, (_, i) => leaf(i));
    expect(await firstBadLeaf(new CompactRange(), hashes, 37n, t.root(), proofsOf(t))).toBeUndefined();
  });

  it("names every altered index, in full and incremental audits", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 80 }),
        fc.nat(),
        fc.nat(),
        async (size, badSeed, baseSeed) => {
          const t = honest(size);
          const bad = badSeed % size;
          const baseSize = baseSeed % (bad + 1); // the audited prefix stops at or before the bad leaf
          const base = new CompactRange();
          for (let i = 0; i < baseSize; i++) base.append(leaf(i));
          const served = Array.from({ length: size - baseSize }, (_, j) =>
            baseSize + j === bad ? leaf(baseSize + j, 1) : leaf(baseSize + j),
          );
          expect(await firstBadLeaf(base, served, BigInt(size), t.root(), proofsOf(t))).toBe(BigInt(bad));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("names a swap of two leaves by the lower index, and a missing leaf by its index", async () => {
    const t = honest(40);
    const hashes = Array.from({ length: 40 }, (_, i) => leaf(i));
    const swapped = [...hashes];
    [swapped[11], swapped[29]] = [swapped[29]!, swapped[11]!];
    expect(await firstBadLeaf(new CompactRange(), swapped, 40n, t.root(), proofsOf(t))).toBe(11n);
    // Leaves 0..16 served, 17 missing: the answer is 17 (or earlier, were an earlier one altered too).
    expect(await firstBadLeaf(new CompactRange(), hashes.slice(0, 17), 40n, t.root(), proofsOf(t))).toBe(17n);
    const early = hashes.slice(0, 17);
    early[4] = leaf(4, 9);
    expect(await firstBadLeaf(new CompactRange(), early, 40n, t.root(), proofsOf(t))).toBe(4n);
  });

  it("a log that cannot prove its prefixes is blamed at the start of what it must prove", async () => {
    const t = honest(20);
    const hashes = Array.from({ length: 20 }, (_, i) => leaf(i));
    hashes[15] = leaf(15, 1);
    const refuse = async () => {
      throw new Error("503");
    };
    expect(await firstBadLeaf(new CompactRange(), hashes, 20n, t.root(), refuse)).toBe(0n);
  });
});
