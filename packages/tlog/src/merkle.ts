/**
 * RFC 9162 §2.1 Merkle Tree Hash over SHA-256: leaf hash = SHA-256(0x00 || leaf), interior node =
 * SHA-256(0x01 || left || right), the empty tree hashes to SHA-256(""). Trees of any size, not only powers
 * of two.
 *
 *  - Proof generation (§2.1.3.1 PATH, §2.1.4.1 PROOF/SUBPROOF) is split in two: a *plan* names the perfect
 *    subtrees (level, index) whose hashes a proof needs, and a reader supplies them — from memory, or from
 *    storage in one round trip. A proof element that covers an incomplete right-border subtree is the right
 *    fold of the perfect subtrees covering it.
 *  - Verification follows §2.1.3.2 and §2.1.4.2, written like transparency-dev/merkle's proof/verify.go
 *    (chainInner / chainInnerRight / chainBorderRight), and passes that project's test data (test/vectors).
 *
 * Malformed input (index ≥ size, a proof of the wrong length, hashes that are not 32 bytes) throws ProofError;
 * a well-formed proof that does not lead to the expected root returns false.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { bytesEqual } from "./bytes.ts";

interface NodeHash {
  hash(alg: "sha256", data: Uint8Array, outputEncoding: "buffer"): Uint8Array;
}
/**
 * OpenSSL's SHA-256 on Node through the one-shot `crypto.hash` (≈ 5× noble on 65-byte inputs, and ≈ 1.8×
 * `createHash(…).update(…).digest()`, which allocates a Hash object per call; fetched at run time, never
 * imported), noble elsewhere.
 */
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.("node:crypto") as NodeHash | undefined;
const sha256: (b: Uint8Array) => Uint8Array = nodeCrypto
  ? (b) => new Uint8Array(nodeCrypto.hash("sha256", b, "buffer"))
  : nobleSha256;

export const HASH_SIZE = 32;

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

export class ProofError extends Error {
  override readonly name = "ProofError";
}

export function hashLeaf(leaf: Uint8Array): Uint8Array {
  const buf = new Uint8Array(leaf.length + 1);
  buf[0] = 0x00;
  buf.set(leaf, 1);
  return sha256(buf);
}

const nodeBuf = new Uint8Array(1 + 2 * HASH_SIZE);
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeBuf[0] = 0x01;
  nodeBuf.set(left, 1);
  nodeBuf.set(right, 1 + HASH_SIZE);
  return sha256(nodeBuf);
}

/** A perfect subtree: the 2^level leaves starting at index * 2^level. Level 0 is a leaf hash. */
export interface NodeId {
  level: number;
  index: bigint;
}

export function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

/** Index of the leaf whose append completes this node: the last leaf it covers. */
export function completingLeaf(id: NodeId): bigint {
  return ((id.index + 1n) << BigInt(id.level)) - 1n;
}

/** The largest power of two strictly smaller than n (n ≥ 2), as RFC 9162 uses to split a tree. */
function splitPoint(n: bigint): bigint {
  let k = 1n;
  while (k << 1n < n) k <<= 1n;
  return k;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

function trailingZeros(n: bigint): number {
  if (n === 0n) return 0;
  let z = 0;
  while (((n >> BigInt(z)) & 1n) === 0n) z++;
  return z;
}

function popCount(n: bigint): number {
  let c = 0;
  for (let x = n; x > 0n; x >>= 1n) if (x & 1n) c++;
  return c;
}

/**
 * The perfect subtrees that cover [start, start + n), left to right, biggest first. `start` must be a
 * multiple of the smallest power of two ≥ n — true for every range RFC 9162's recursion produces, and for
 * [0, size).
 */
export function rangeNodes(start: bigint, n: bigint): NodeId[] {
  const out: NodeId[] = [];
  let pos = start;
  for (let level = bitLength(n) - 1; level >= 0; level--) {
    const width = 1n << BigInt(level);
    if (n & width) {
      out.push({ level, index: pos >> BigInt(level) });
      pos += width;
    }
  }
  return out;
}

/** One proof element: the right fold of these perfect subtrees (a single node when the subtree is perfect). */
export type ProofPlan = NodeId[][];

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) as a plan; elements ordered from the leaf up. */
export function inclusionPlan(index: bigint, size: bigint): ProofPlan {
  if (index < 0n || index >= size) throw new ProofError(`index ${index} is not below size ${size}`);
  const out: ProofPlan = [];
  const path = (m: bigint, start: bigint, n: bigint): void => {
    if (n === 1n) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, start, k);
      out.push(rangeNodes(start + k, n - k));
    } else {
      path(m - k, start + k, n - k);
      out.push(rangeNodes(start, k));
    }
  };
  path(index, 0n, size);
  return out;
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) as a plan. Empty when m = n; m = 0 has no meaningful proof. */
export function consistencyPlan(size1: bigint, size2: bigint): ProofPlan {
  if (size1 < 0n || size1 > size2) throw new ProofError(`size1 ${size1} exceeds size2 ${size2}`);
  if (size1 === 0n) throw new ProofError("a consistency proof from the empty tree is meaningless");
  const out: ProofPlan = [];
  const sub = (m: bigint, start: bigint, n: bigint, b: boolean): void => {
    if (m === n) {
      if (!b) out.push(rangeNodes(start, n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, k, b);
      out.push(rangeNodes(start + k, n - k));
    } else {
      sub(m - k, start + k, n - k, false);
      out.push(rangeNodes(start, k));
    }
  };
  sub(size1, 0n, size2, true);
  return out;
}

/** Reads perfect-subtree hashes, in the order asked. Storage implements this with one query. */
export type NodeReader = (ids: readonly NodeId[]) => Promise<readonly Uint8Array[]> | readonly Uint8Array[];

/** Right fold: hash(n1, hash(n2, … hash(n_{k-1}, n_k))). */
export function foldRight(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) throw new ProofError("cannot fold an empty range");
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
  return acc;
}

/** Fetches every node a plan names (deduplicated, one reader call) and folds each element. */
export async function resolvePlan(plan: ProofPlan, read: NodeReader): Promise<Uint8Array[]> {
  const unique = new Map<string, NodeId>();
  for (const el of plan) for (const id of el) unique.set(nodeKey(id), id);
  const ids = [...unique.values()];
  const hashes = await read(ids);
  if (hashes.length !== ids.length) throw new ProofError("node reader returned the wrong number of hashes");
  const byKey = new Map<string, Uint8Array>();
  for (const [i, id] of ids.entries()) byKey.set(nodeKey(id), hashes[i]!);
  return plan.map((el) => foldRight(el.map((id) => byKey.get(nodeKey(id))!)));
}

export async function inclusionProof(index: bigint, size: bigint, read: NodeReader): Promise<Uint8Array[]> {
  return resolvePlan(inclusionPlan(index, size), read);
}

export async function consistencyProof(
  size1: bigint,
  size2: bigint,
  read: NodeReader,
): Promise<Uint8Array[]> {
  return resolvePlan(consistencyPlan(size1, size2), read);
}

/** MTH(D[size]) from stored perfect subtrees: the fold of the compact range [0, size). */
export async function treeRoot(size: bigint, read: NodeReader): Promise<Uint8Array> {
  if (size === 0n) return EMPTY_ROOT;
  return foldRight(await read(rangeNodes(0n, size)));
}

// ---------------------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2, §2.1.4.2)

function checkHashes(what: string, hashes: readonly Uint8Array[]): void {
  for (const h of hashes) {
    if (h.length !== HASH_SIZE)
      throw new ProofError(`${what}: a hash of ${h.length} bytes, want ${HASH_SIZE}`);
  }
}

function decompInclProof(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Uint8Array {
  let acc = seed;
  proof.forEach((h, i) => {
    acc = ((index >> BigInt(i)) & 1n) === 0n ? hashChildren(acc, h) : hashChildren(h, acc);
  });
  return acc;
}

function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Uint8Array {
  let acc = seed;
  proof.forEach((h, i) => {
    if (((index >> BigInt(i)) & 1n) === 1n) acc = hashChildren(h, acc);
  });
  return acc;
}

function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let acc = seed;
  for (const h of proof) acc = hashChildren(h, acc);
  return acc;
}

/** The root an inclusion proof leads to. Throws ProofError when the proof cannot be for (index, size). */
export function rootFromInclusionProof(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  if (index < 0n || index >= size) throw new ProofError(`index ${index} is not below size ${size}`);
  if (leafHash.length !== HASH_SIZE) throw new ProofError(`leaf hash of ${leafHash.length} bytes`);
  checkHashes("inclusion proof", proof);
  const { inner, border } = decompInclProof(index, size);
  if (proof.length !== inner + border) {
    throw new ProofError(`inclusion proof has ${proof.length} hashes, want ${inner + border}`);
  }
  const res = chainInner(leafHash, proof.slice(0, inner), index);
  return chainBorderRight(res, proof.slice(inner));
}

export function verifyInclusion(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  return bytesEqual(rootFromInclusionProof(index, size, leafHash, proof), root);
}

/**
 * Checks that the tree of size2 with root2 extends the tree of size1 with root1. Requires 0 < size1 ≤ size2
 * (a proof from the empty tree is meaningless and throws). Returns false when a root does not match.
 */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  if (size2 < size1) throw new ProofError(`size2 (${size2}) < size1 (${size1})`);
  if (size1 <= 0n) throw new ProofError("a consistency proof from the empty tree is meaningless");
  if (size1 === size2) {
    if (proof.length > 0) throw new ProofError("size1 = size2 but the proof is not empty");
    return bytesEqual(root1, root2);
  }
  if (proof.length === 0) throw new ProofError("empty consistency proof");
  checkHashes("consistency proof", proof);

  const decomp = decompInclProof(size1 - 1n, size2);
  const shift = trailingZeros(size1);
  const inner = decomp.inner - shift;
  let seed = proof[0]!;
  let start = 1;
  if (size1 === 1n << BigInt(shift)) {
    seed = root1;
    start = 0;
  }
  if (seed.length !== HASH_SIZE) return false;
  if (proof.length !== start + inner + decomp.border) {
    throw new ProofError(
      `consistency proof has ${proof.length} hashes, want ${start + inner + decomp.border}`,
    );
  }
  const rest = proof.slice(start);
  const mask = (size1 - 1n) >> BigInt(shift);
  let hash1 = chainInnerRight(seed, rest.slice(0, inner), mask);
  hash1 = chainBorderRight(hash1, rest.slice(inner));
  if (!bytesEqual(hash1, root1)) return false;
  let hash2 = chainInner(seed, rest.slice(0, inner), mask);
  hash2 = chainBorderRight(hash2, rest.slice(inner));
  return bytesEqual(hash2, root2);
}

// ---------------------------------------------------------------------------------------------------------
// In-memory tree (tests, witnesses replaying a log, and the stored-log verifier)

/**
 * Appends leaf hashes and keeps every perfect subtree, so proofs can be generated in memory. `append`
 * returns the perfect subtrees the new leaf completes (levels 1 … trailing ones of its index), which is what
 * storage keeps beside each leaf.
 */
export class MemoryTree {
  readonly levels: Uint8Array[][] = [];

  get size(): bigint {
    return BigInt(this.levels[0]?.length ?? 0);
  }

  append(leafHash: Uint8Array): Uint8Array[] {
    if (leafHash.length !== HASH_SIZE) throw new ProofError("leaf hash must be 32 bytes");
    const completed: Uint8Array[] = [];
    let level = 0;
    let hash = leafHash;
    for (;;) {
      const row = this.levels[level] ?? [];
      this.levels[level] = row;
      row.push(hash);
      const i = row.length - 1;
      if (i % 2 === 0) break;
      hash = hashChildren(row[i - 1]!, hash);
      completed.push(hash);
      level++;
    }
    return completed;
  }

  node(id: NodeId): Uint8Array {
    const h = this.levels[id.level]?.[Number(id.index)];
    if (!h) throw new ProofError(`no node ${nodeKey(id)}`);
    return h;
  }

  readonly read: NodeReader = (ids) => ids.map((id) => this.node(id));

  root(size: bigint = this.size): Uint8Array {
    if (size > this.size) throw new ProofError(`tree has only ${this.size} leaves`);
    if (size === 0n) return EMPTY_ROOT;
    return foldRight(this.read(rangeNodes(0n, size)) as Uint8Array[]);
  }
}
