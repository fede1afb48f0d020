/**
 * Fixed-height 4-ary Poseidon Merkle tree over consent leaves (ADR 0048): empty leaves are 0, a node is
 * Poseidon(c0, c1, c2, c3) of its four children, leaves fill left to right. 10 levels hold 4^10 = 2^20
 * leaves — the capacity of the binary depth-20 tree it replaces — with half as many (and cheaper in the
 * circuit) hashes per path. A path gives, per level, the three other children in order (`pathElements`)
 * and the leaf index's bits, least significant first (`pathIndices`: level i's position is
 * bit 2i + 2·bit 2i+1) — exactly what the circuit reads. Only the non-empty part of each level is stored;
 * empty subtrees use precomputed zero hashes.
 */
import { poseidon4 } from "poseidon-lite/poseidon4";
import { ZkError } from "./errors.ts";
import { FIELD_ORDER } from "./fields.ts";

/** Children per node. */
export const TREE_ARITY = 4;
/** Levels of the committed tree (4^10 = 2^20 leaves). */
export const TREE_DEPTH = 10;

export interface MerklePath {
  leafIndex: number;
  /** Per level, the three siblings in child order. */
  pathElements: bigint[][];
  /** The leaf index's bits, least significant first (2 per level). */
  pathIndices: (0 | 1)[];
}

export function hashNode(children: readonly bigint[]): bigint {
  if (children.length !== TREE_ARITY) throw new ZkError("INVALID_INPUT", `node: ${TREE_ARITY} children`);
  return poseidon4(children as bigint[]);
}

const zeroCache = new Map<number, bigint[]>();
/** zeros[i] = root of an empty subtree of height i. */
export function zeroHashes(depth: number): bigint[] {
  let z = zeroCache.get(depth);
  if (!z) {
    z = [0n];
    for (let i = 0; i < depth; i++) z.push(hashNode([z[i]!, z[i]!, z[i]!, z[i]!]));
    zeroCache.set(depth, z);
  }
  return z;
}

export class PoseidonTree {
  readonly depth: number;
  readonly #levels: bigint[][];
  readonly #zeros: bigint[];

  constructor(depth = TREE_DEPTH, leaves: readonly bigint[] = []) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 16)
      throw new ZkError("INVALID_INPUT", "depth: 1 to 16");
    this.depth = depth;
    this.#zeros = zeroHashes(depth);
    this.#levels = Array.from({ length: depth + 1 }, () => []);
    for (const l of leaves) this.#put(l);
    this.#rebuild();
  }

  get size(): number {
    return this.#levels[0]!.length;
  }

  /** How many leaves the tree holds at most (4^depth). */
  get capacity(): number {
    return TREE_ARITY ** this.depth;
  }

  #put(leaf: bigint): void {
    if (typeof leaf !== "bigint" || leaf < 0n || leaf >= FIELD_ORDER) {
      throw new ZkError("INVALID_INPUT", "leaf: a field element expected");
    }
    if (this.size >= this.capacity) throw new ZkError("TREE_FULL", `tree of depth ${this.depth} is full`);
    this.#levels[0]!.push(leaf);
  }

  #children(lv: number, first: number): bigint[] {
    const level = this.#levels[lv]!;
    return [0, 1, 2, 3].map((j) => level[first + j] ?? this.#zeros[lv]!);
  }

  #rebuild(): void {
    for (let lv = 0; lv < this.depth; lv++) {
      const cur = this.#levels[lv]!;
      const next: bigint[] = [];
      for (let i = 0; i < cur.length; i += TREE_ARITY) next.push(hashNode(this.#children(lv, i)));
      this.#levels[lv + 1] = next;
    }
  }

  /** Appends a leaf and updates its path to the root (O(depth) hashes); returns its index. */
  insert(leaf: bigint): number {
    this.#put(leaf);
    let index = this.size - 1;
    for (let lv = 0; lv < this.depth; lv++) {
      const parent = Math.floor(index / TREE_ARITY);
      this.#levels[lv + 1]![parent] = hashNode(this.#children(lv, parent * TREE_ARITY));
      index = parent;
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
    const pathElements: bigint[][] = [];
    const pathIndices: (0 | 1)[] = [];
    let index = leafIndex;
    for (let lv = 0; lv < this.depth; lv++) {
      const pos = index % TREE_ARITY;
      const first = index - pos;
      pathElements.push(this.#children(lv, first).filter((_, j) => j !== pos));
      pathIndices.push((pos & 1) as 0 | 1, ((pos >> 1) & 1) as 0 | 1);
      index = Math.floor(index / TREE_ARITY);
    }
    return { leafIndex, pathElements, pathIndices };
  }
}

/** Recomputes a root from a leaf and its path, as the circuit does. */
export function rootFromPath(leaf: bigint, path: Pick<MerklePath, "pathElements" | "pathIndices">): bigint {
  let node = leaf;
  path.pathElements.forEach((sibs, i) => {
    const b0 = path.pathIndices[2 * i];
    const b1 = path.pathIndices[2 * i + 1];
    if ((b0 !== 0 && b0 !== 1) || (b1 !== 0 && b1 !== 1) || sibs.length !== TREE_ARITY - 1) {
      throw new ZkError("INVALID_INPUT", `path level ${i}: three siblings and two index bits expected`);
    }
    const children = [...sibs];
    children.splice(b0 + 2 * b1, 0, node);
    node = hashNode(children);
  });
  return node;
}
