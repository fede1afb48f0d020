/** Oracles (fast-check): every generated proof verifies; any flipped bit, wrong index or size fails. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  hashChildren,
  hashLeaf,
  inclusionProof,
  MemoryTree,
  ProofError,
  verifyConsistency,
  verifyInclusion,
} from "../src/merkle.ts";

/** RFC 9162 §2.1.1 MTH, written directly from the definition: the oracle for the tree code. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return hashLeaf(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

function treeOf(n: number): { tree: MemoryTree; leaves: Uint8Array[] } {
  const tree = new MemoryTree();
  const leaves = Array.from({ length: n }, (_, i) => new Uint8Array([i & 255, i >> 8, 7]));
  for (const l of leaves) tree.append(hashLeaf(l));
  return { tree, leaves };
}

function rejects(f: () => boolean): boolean {
  try {
    return !f();
  } catch (error) {
    if (error instanceof ProofError) return true;
    throw error;
  }
}

const flip = (hashes: Uint8Array[], at: number, bit: number): Uint8Array[] =>
  hashes.map((h, i) => {
    if (i !== at) return h;
    const c = h.slice();
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  });

describe("Merkle tree properties", () => {
  it("the stored-subtree root equals the RFC 9162 MTH definition for every size", () => {
    const { tree, leaves } = treeOf(70);
    for (let n = 1; n <= 70; n++) expect(tree.root(BigInt(n))).toEqual(mth(leaves.slice(0, n)));
  });

  it("every inclusion proof verifies, and any flipped bit, other index or other size fails", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 300 })
          .chain((size) => fc.tuple(fc.constant(size), fc.nat(size - 1), fc.nat(10_000), fc.nat(255))),
        async ([size, index, pick, bit]) => {
          const { tree } = treeOf(size);
          const [n, i] = [BigInt(size), BigInt(index)];
          const proof = await inclusionProof(i, n, tree.read);
          const leafHash = tree.node({ level: 0, index: i });
          const root = tree.root(n);
          expect(verifyInclusion(i, n, leafHash, proof, root)).toBe(true);
          if (proof.length > 0) {
            expect(
              rejects(() => verifyInclusion(i, n, leafHash, flip(proof, pick % proof.length, bit), root)),
            ).toBe(true);
          }
          expect(rejects(() => verifyInclusion(i, n, leafHash, proof, flip([root], 0, bit)[0]!))).toBe(true);
          expect(rejects(() => verifyInclusion(i, n, flip([leafHash], 0, bit)[0]!, proof, root))).toBe(true);
          if (size > 1) {
            const other = BigInt((index + 1 + (pick % (size - 1))) % size);
            expect(rejects(() => verifyInclusion(other, n, leafHash, proof, root))).toBe(true);
          }
          expect(rejects(() => verifyInclusion(i, n, leafHash, [...proof, root], root))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("every consistency proof verifies, and any flipped bit fails", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 300 })
          .chain((size2) =>
            fc.tuple(fc.integer({ min: 1, max: size2 - 1 }), fc.constant(size2), fc.nat(10_000), fc.nat(255)),
          ),
        async ([size1, size2, pick, bit]) => {
          const { tree } = treeOf(size2);
          const [m, n] = [BigInt(size1), BigInt(size2)];
          const proof = await consistencyProof(m, n, tree.read);
          const [r1, r2] = [tree.root(m), tree.root(n)];
          expect(verifyConsistency(m, n, proof, r1, r2)).toBe(true);
          expect(rejects(() => verifyConsistency(m, n, flip(proof, pick % proof.length, bit), r1, r2))).toBe(
            true,
          );
          expect(rejects(() => verifyConsistency(m, n, proof, flip([r1], 0, bit)[0]!, r2))).toBe(true);
          expect(rejects(() => verifyConsistency(m, n, proof, r1, flip([r2], 0, bit)[0]!))).toBe(true);
          expect(rejects(() => verifyConsistency(m, n, proof.slice(1), r1, r2))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reports the completed perfect subtrees on append (levels 1..trailing ones of the index)", () => {
    const tree = new MemoryTree();
    const counts: number[] = [];
    for (let i = 0; i < 16; i++) counts.push(tree.append(hashLeaf(new Uint8Array([i]))).length);
    expect(counts).toEqual([0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0, 4]);
  });
});
