import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashPair, PoseidonTree, rootFromPath, TREE_DEPTH, ZkError, zeroHashes } from "../src/index.ts";

describe("PoseidonTree", () => {
  it("has the empty-tree root of zero hashes and fills left to right", () => {
    const t = new PoseidonTree();
    expect(t.root()).toBe(zeroHashes(TREE_DEPTH)[TREE_DEPTH]);
    t.insert(5n);
    const z = zeroHashes(TREE_DEPTH);
    let node = hashPair(5n, z[0]!);
    for (let lv = 1; lv < TREE_DEPTH; lv++) node = hashPair(node, z[lv]!);
    expect(t.root()).toBe(node);
  });

  it("incremental and bulk construction agree; every path verifies; any tampered level fails", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: (1n << 250n) - 1n }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.nat({ max: TREE_DEPTH - 1 }),
        (leaves, pick, level) => {
          const a = new PoseidonTree(TREE_DEPTH, leaves);
          const b = new PoseidonTree();
          for (const l of leaves) b.insert(l);
          expect(a.root()).toBe(b.root());
          const i = pick % leaves.length;
          const p = a.path(i);
          expect(rootFromPath(leaves[i]!, p)).toBe(a.root());
          const bad = { ...p, pathElements: p.pathElements.map((e, j) => (j === level ? e + 1n : e)) };
          expect(rootFromPath(leaves[i]!, bad)).not.toBe(a.root());
          const flipped = {
            ...p,
            pathIndices: p.pathIndices.map((x, j) => (j === level ? ((1 - x) as 0 | 1) : x)),
          };
          // Flipping an index changes the root unless the two children are equal (possible only for zeros).
          if (
            p.pathElements[level] !==
            rootFromPath(leaves[i]!, {
              pathElements: p.pathElements.slice(0, level),
              pathIndices: p.pathIndices.slice(0, level),
            })
          ) {
            expect(rootFromPath(leaves[i]!, flipped)).not.toBe(a.root());
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("rejects non-field leaves and unknown indices with typed errors", () => {
    const t = new PoseidonTree(3);
    expect(() => t.insert(-1n)).toThrow(ZkError);
    expect(() => t.path(0)).toThrow(/no leaf/);
    for (let i = 0; i < 8; i++) t.insert(BigInt(i));
    expect(() => t.insert(9n)).toThrow(/full/);
  });
});
