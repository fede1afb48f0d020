/**
 * Fixed-depth binary Poseidon Merkle tree over consent leaves (the layout of Semaphore's and zk-kit's
 * incremental Merkle tree): empty leaves are 0, node = Poseidon(left, right), leaves fill left to right.
 * pathIndices[i] is 1 when the running hash is the right child at level i — exactly what the circuit reads.
 * Only the non-empty part of each level is stored; empty subtrees use precomputed zero hashes.
 */
import { poseidon2 } from "poseidon-lite/poseidon2";
import { ZkError } from "./errors.ts";
import { FIELD_ORDER } from "./fields.ts";

export const TREE_DEPTH = 20;

export interface MerklePath {
  leafIndex: number;
  pathElements: bigint[];
  pathIndices: (0 | 1)[];
}

export function hashPair(left: bigint, right: bigint): bigint {
  return poseidon2([left, right]);
}

const zeroCache = new Map<number, bigint[]>();
/** zeros[i] = root of an empty subtree of height i. */
export function zeroHashes(depth: number): bigint[] {
  let z = zeroCache.get(depth);
  if (!z) {
    z = [0n];
    for (let i = 0; i < depth; i++) z.push(hashPair(z[i]!, z[i]!));
    zeroCache.set(depth, z);
  }
  return z;
}

export class PoseidonTree {
  readonly depth: number;
  readonly #levels: bigint[][];
  readonly #zeros: bigint[];

  constructor(depth = TREE_DEPTH, leaves: readonly bigint[] = []) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 32)
      throw new ZkError("INVALID_INPUT", "depth: 1 to 32");
    this.depth = depth;
    this.#zeros = zeroHashes(depth);
    this.#levels = Array.from({ length: depth + 1 }, () => []);
    for (const l of leaves) this.#put(l);
    this.#rebuild();
  }

  get size(): number {
    return this.#levels[0]!.length;
  }

  #put(leaf: bigint): void {
    if (typeof leaf !== "bigint" || leaf < 0n || leaf >= FIELD_ORDER) {
      throw new ZkError("INVALID_INPUT", "leaf: a field element expected");
    }
    if (this.size >= 2 ** this.depth) throw new ZkError("TREE_FULL", `tree of depth ${this.depth} is full`);
    this.#levels[0]!.push(leaf);
  }

  #rebuild(): void {
    for (let lv = 0; lv < this.depth; lv++) {
      const cur = this.#levels[lv]!;
      const next: bigint[] = [];
      for (let i = 0; i < cur.length; i += 2) {
        next.push(hashPair(cur[i]!, i + 1 < cur.length ? cur[i + 1]! : this.#zeros[lv]!));
      }
      this.#levels[lv + 1] = next;
    }
  }

  /** Appends a leaf and updates its path to the root (O(depth) hashes); returns its index. */
  insert(leaf: bigint): number {
    this.#put(leaf);
    let index = this.size - 1;
    let node = leaf;
    for (let lv = 0; lv < this.depth; lv++) {
      const level = this.#levels[lv]!;
      const sibling = index % 2 === 0 ? (level[index + 1] ?? this.#zeros[lv]!) : level[index - 1]!;
      node = index % 2 === 0 ? hashPair(node, sibling) : hashPair(sibling, node);
      index = Math.floor(index / 2);
      this.#levels[lv + 1]![index] = node;
    }
    return this.size - 1;
  }

  root(): bigint {
    return this.#levels[this.depth]![0] ?? this.#zeros[this.depth]!;
  }

  leaf(index: number): bigint {
    const l = this.#levels[0]![index];
    if (l === undefined) throw new ZkError("NO_SUCH_LEAF", `no leaf at index ${index}`);
    return l;
  }

  indexOf(leaf: bigint): number {
    return this.#levels[0]!.indexOf(leaf);
  }

  path(leafIndex: number): MerklePath {
    this.leaf(leafIndex);
    const pathElements: bigint[] = [];
    const pathIndices: (0 | 1)[] = [];
    let index = leafIndex;
    for (let lv = 0; lv < this.depth; lv++) {
      const isRight = index % 2 === 1;
      const siblingIndex = isRight ? index - 1 : index + 1;
      pathElements.push(this.#levels[lv]![siblingIndex] ?? this.#zeros[lv]!);
      pathIndices.push(isRight ? 1 : 0);
      index = Math.floor(index / 2);
    }
    return { leafIndex, pathElements, pathIndices };
  }
}

/** Recomputes a root from a leaf and its path, as the circuit does. */
export function rootFromPath(leaf: bigint, path: Pick<MerklePath, "pathElements" | "pathIndices">): bigint {
  let node = leaf;
  path.pathElements.forEach((sib, i) => {
    node = path.pathIndices[i] === 1 ? hashPair(sib, node) : hashPair(node, sib);
  });
  return node;
}
