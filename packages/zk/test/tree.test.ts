import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  hashNode,
  PoseidonTree,
  rootFromPath,
  TREE_ARITY,
  TREE_DEPTH,
  ZkError,
  zeroHashes,
} from "../src/index.ts";

describe("PoseidonTree (4-ary, ADR 0048)", () => {
  it("holds 2^20 leaves, has the empty-tree root of zero hashes and fills left to right", () => {
    const t = new PoseidonTree();
    expect(t.capacity).toBe(2 ** 20);
    expect(TREE_ARITY ** TREE_DEPTH).toBe(2 ** 20);
    const z = zeroHashes(TREE_DEPTH);
    expect(t.root()).toBe(z[TREE_DEPTH]);
    t.insert(5n);
    t.insert(6n);
    let node = hashNode([5n, 6n, z[0]!, z[0]!]);
    for (let lv = 1; lv < TREE_DEPTH; lv++) node = hashNode([node, z[lv]!, z[lv]!, z[lv]!]);
    expect(t.root()).toBe(node);
    // The fifth leaf opens the second node of level 0: its path's first level holds the zero siblings.
    for (const l of [7n, 8n, 9n]) t.insert(l);
    const p = t.path(4);
    expect(p.pathIndices.slice(0, 4)).toEqual([0, 0, 1, 0]);
    expect(p.pathElements[0]).toEqual([z[0], z[0], z[0]]);
    expect(rootFromPath(9n, p)).toBe(t.root());
  });

  it("incremental and bulk construction agree; every path verifies; any tampered level fails", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: (1n << 250n) - 1n }), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.nat({ max: TREE_DEPTH - 1 }),
        fc.nat({ max: 2 }),
        (leaves, pick, level, sibling) => {
          const a = new PoseidonTree(TREE_DEPTH, leaves);
          const b = new PoseidonTree();
          for (const l of leaves) b.insert(l);
          expect(a.root()).toBe(b.root());
          const i = pick % leaves.length;
          const p = a.path(i);
          expect(p.pathElements.every((l) => l.length === TREE_ARITY - 1)).toBe(true);
          expect(p.pathIndices.reduce((n: number, bit, j) => n + bit * 2 ** j, 0)).toBe(i);
          expect(rootFromPath(leaves[i]!, p)).toBe(a.root());
          const bad = {
            ...p,
            pathElements: p.pathElements.map((l, j) =>
              j === level ? l.map((e, k) => (k === sibling ? e + 1n : e)) : l,
            ),
          };
          expect(rootFromPath(leaves[i]!, bad)).not.toBe(a.root());
          // Moving the node to another child position changes the root unless the children it swaps
          // with are equal to it (possible only among empty subtrees).
          const bit = 2 * level + (sibling % 2);
          const flipped = {
            ...p,
            pathIndices: p.pathIndices.map((x, j) => (j === bit ? ((1 - x) as 0 | 1) : x)),
          };
          const node = rootFromPath(leaves[i]!, {
            pathElements: p.pathElements.slice(0, level),
            pathIndices: p.pathIndices.slice(0, 2 * level),
          });
          if (!p.pathElements[level]!.includes(node)) {
            expect(rootFromPath(leaves[i]!, flipped)).not.toBe(a.root());
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("rejects non-field leaves, unknown indices, a full tree and malformed paths with typed errors", () => {
    const t = new PoseidonTree(2);
    expect(() => t.insert(-1n)).toThrow(ZkError);
    expect(() => t.path(0)).toThrow(/no leaf/);
    for (let i = 0; i < 16; i++) t.insert(BigInt(i));
    expect(() => t.insert(17n)).toThrow(/full/);
    const p = t.path(3);
    expect(() => rootFromPath(3n, { ...p, pathIndices: [2 as 0, 0, 0, 0] })).toThrow(ZkError);
    expect(() => rootFromPath(3n, { ...p, pathElements: [[1n, 2n], p.pathElements[1]!] })).toThrow(ZkError);
  });
});
