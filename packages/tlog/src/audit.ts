/**
 * A monitor's full audit of a log from its leaves: re-hash every leaf (RFC 9162 §2.1.1 MTH, 0x00 / 0x01
 * prefixes), fold them into the root, and compare with the root a signed checkpoint commits to. When they
 * differ, locate the first leaf that does not belong by bisecting with RFC 9162 §2.1.4 consistency proofs:
 * the prefix [0, m) is intact exactly when the root recomputed from its leaves is proven consistent with the
 * signed root, so the largest such m is the first bad index. Pure: the caller supplies leaves and proofs.
 *
 * `CompactRange` is the right border of a tree (the perfect subtrees covering [0, size), biggest first), so a
 * monitor can keep the state of the leaves it already audited and extend it with new leaves only.
 */
import { base64Decode, base64Encode, bytesEqual } from "./bytes.ts";
import {
  EMPTY_ROOT,
  foldRight,
  HASH_SIZE,
  hashChildren,
  ProofError,
  rangeNodes,
  verifyConsistency,
} from "./merkle.ts";

export class CompactRange {
  #size: bigint;
  /** Perfect subtree hashes covering [0, size), biggest (leftmost) first, with their levels. */
  #nodes: { level: number; hash: Uint8Array }[];

  /** `frontier` is what `frontier` returned earlier for a tree of `size` leaves. */
  constructor(size = 0n, frontier: readonly Uint8Array[] = []) {
    const ids = rangeNodes(0n, size);
    if (ids.length !== frontier.length)
      throw new ProofError(
        `a tree of ${size} leaves has ${ids.length} frontier hashes, not ${frontier.length}`,
      );
    for (const h of frontier)
      if (h.length !== HASH_SIZE) throw new ProofError("frontier hashes are 32 bytes");
    this.#size = size;
    this.#nodes = ids.map((id, i) => ({ level: id.level, hash: frontier[i]! }));
  }

  get size(): bigint {
    return this.#size;
  }

  get frontier(): Uint8Array[] {
    return this.#nodes.map((n) => n.hash);
  }

  /**
   * Appends a leaf hash; returns the perfect subtrees it completes (levels 1 … k, the hashes a log stores
   * beside the leaf: see MemoryTree.append), so a monitor can compare them with the log's stored ones.
   */
  append(leafHash: Uint8Array): Uint8Array[] {
    if (leafHash.length !== HASH_SIZE) throw new ProofError("leaf hash must be 32 bytes");
    const completed: Uint8Array[] = [];
    let cur = { level: 0, hash: leafHash };
    while (this.#nodes.length > 0 && this.#nodes[this.#nodes.length - 1]!.level === cur.level) {
      const left = this.#nodes.pop()!;
      cur = { level: cur.level + 1, hash: hashChildren(left.hash, cur.hash) };
      completed.push(cur.hash);
    }
    this.#nodes.push(cur);
    this.#size++;
    return completed;
  }

  root(): Uint8Array {
    return this.#nodes.length === 0 ? EMPTY_ROOT : foldRight(this.frontier);
  }

  clone(): CompactRange {
    return new CompactRange(this.#size, this.frontier);
  }

  /** JSON form for a state file: `{ size, frontier: [base64…] }`. */
  toJSON(): { size: string; frontier: string[] } {
    return { size: this.#size.toString(), frontier: this.frontier.map(base64Encode) };
  }

  static fromJSON(json: { size: string; frontier: string[] }): CompactRange {
    if (!/^(0|[1-9][0-9]*)$/.test(json.size)) throw new ProofError("malformed compact range size");
    return new CompactRange(
      BigInt(json.size),
      json.frontier.map((h) => {
        const b = base64Decode(h);
        if (!b) throw new ProofError("malformed compact range hash");
        return b;
      }),
    );
  }
}

/** Fetches a consistency proof from `from` to `to` (0 < from < to); may throw or return garbage. */
export type ConsistencyProofSource = (from: bigint, to: bigint) => Promise<readonly Uint8Array[]>;

/**
 * Given the audited state `base` (trusted: its leaves were verified earlier), the hashes of the leaves that
 * follow it, and a signed tree of `size` leaves with `root`: returns the first index whose leaf is not the one
 * the signed root commits to, or undefined when all `size - base.size` hashes are given and fold to `root`.
 * Fewer hashes than that means the leaf right after them is known to be bad (missing or malformed); the
 * answer is then that index or an earlier one. Uses O(log n) consistency proofs from `proofs`; a proof that
 * cannot be fetched or does not verify counts against the prefix (the log must prove what it signed).
 */
export async function firstBadLeaf(
  base: CompactRange,
  leafHashes: readonly Uint8Array[],
  size: bigint,
  root: Uint8Array,
  proofs: ConsistencyProofSource,
): Promise<bigint | undefined> {
  const known = base.size + BigInt(leafHashes.length);
  if (known > size) throw new ProofError(`${known} leaves for a tree of ${size}`);
  const prefixRoot = (m: bigint): Uint8Array => {
    const r = base.clone();
    for (let i = 0; i < Number(m - base.size); i++) r.append(leafHashes[i]!);
    return r.root();
  };
  if (known === size && bytesEqual(prefixRoot(size), root)) return undefined;
  const intact = async (m: bigint): Promise<boolean> => {
    if (m === 0n || m === base.size) return true;
    if (m === size) return bytesEqual(prefixRoot(m), root);
    try {
      return verifyConsistency(m, size, await proofs(m, size), prefixRoot(m), root);
    } catch {
      return false;
    }
  };
  // Invariant: prefix `lo` is intact; prefix `hi` is not (the leaf at hi - 1 … somewhere below hi is bad).
  let lo = base.size;
  let hi = size;
  if (known < size) {
    if (await intact(known)) return known;
    hi = known;
  }
  while (hi - lo > 1n) {
    const mid = lo + (hi - lo) / 2n;
    if (await intact(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
