/** The read side of the audit log: the latest checkpoint, inclusion and consistency proofs, leaves, receipts. */

import {
  auditLogSize,
  checkpointCovering,
  getAuditLeaf,
  latestAuditCheckpoint,
  listAuditCosignatures,
  listAuditLeaves,
} from "@relink/db";
import { RelinkError } from "@relink/protocol";
import {
  buildReceipt as assembleReceipt,
  consistencyProof,
  inclusionProof,
  type Receipt,
} from "@relink/tlog";
import { collectCosignatures, cosignedCheckpoint, publishCheckpoint } from "./checkpoints.ts";
import { type AuditLogDeps, nodeReader } from "./deps.ts";

export async function latestCheckpoint(deps: Pick<AuditLogDeps, "db">): Promise<string | undefined> {
  const cp = await latestAuditCheckpoint(deps.db);
  return cp && cosignedCheckpoint(deps.db, cp);
}

export async function proveInclusion(
  deps: Pick<AuditLogDeps, "db">,
  index: bigint,
  size: bigint,
): Promise<Uint8Array[]> {
  const logSize = await auditLogSize(deps.db);
  if (size > logSize || index < 0n || index >= size) {
    throw new RelinkError("BAD_INPUT", `need 0 ≤ index < size ≤ ${logSize}`);
  }
  return inclusionProof(index, size, nodeReader(deps.db));
}

export async function proveConsistency(
  deps: Pick<AuditLogDeps, "db">,
  from: bigint,
  to: bigint,
): Promise<Uint8Array[]> {
  const logSize = await auditLogSize(deps.db);
  if (to > logSize || from < 1n || from > to)
    throw new RelinkError("BAD_INPUT", `need 0 < from ≤ to ≤ ${logSize}`);
  return consistencyProof(from, to, nodeReader(deps.db));
}

export async function getLeaf(
  deps: Pick<AuditLogDeps, "db">,
  index: bigint,
): Promise<{ index: bigint; leaf: Uint8Array; leafHash: Uint8Array }> {
  const row = await getAuditLeaf(deps.db, index);
  if (!row) throw new RelinkError("NOT_FOUND", `no leaf ${index}`);
  return { index: row.index, leaf: row.leaf, leafHash: row.leafHash };
}

/** At most this many leaves per page of the read API (`GET /log/leaves`). */
export const MAX_LEAVES_PAGE = 1000;

/**
 * Leaves `start` … `start + count - 1` (fewer at the end of the log), as stored, with the hashes stored beside
 * each (its leaf hash and the perfect subtrees it completes, like C2SP tlog-tiles' hash tiles): a monitor
 * re-hashes them against a signed root (`relink log audit`), and the first place where its recomputation and
 * the stored hashes disagree names the bad index. A gap in the answer is a missing row, for the client to name.
 */
export async function listLeaves(
  deps: Pick<AuditLogDeps, "db">,
  start: bigint,
  count: number,
): Promise<{ index: bigint; leaf: Uint8Array; leafHash: Uint8Array; subtreeHashes: Uint8Array[] }[]> {
  if (start < 0n || !Number.isSafeInteger(count) || count < 1 || count > MAX_LEAVES_PAGE)
    throw new RelinkError("BAD_INPUT", `need start ≥ 0 and 1 ≤ count ≤ ${MAX_LEAVES_PAGE}`);
  const size = await auditLogSize(deps.db);
  if (start >= size) throw new RelinkError("BAD_INPUT", `start must be below the log size ${size}`);
  const rows = await listAuditLeaves(deps.db, start, count);
  return rows
    .filter((r) => r.index < start + BigInt(count))
    .map((r) => ({ index: r.index, leaf: r.leaf, leafHash: r.leafHash, subtreeHashes: r.subtreeHashes }));
}

/**
 * A receipt for leaf `index`: the leaf, its inclusion proof and the latest cosigned checkpoint. If no
 * checkpoint covers the leaf yet, one is published first (on demand).
 */
export async function buildReceipt(deps: AuditLogDeps, index: bigint): Promise<Receipt> {
  const [leaf, latest] = await Promise.all([getAuditLeaf(deps.db, index), latestAuditCheckpoint(deps.db)]);
  if (!leaf) throw new RelinkError("NOT_FOUND", `no leaf ${index}`);
  let cp = latest;
  if (!cp || cp.size <= index) {
    // Published on demand: publishCheckpoint has collected the cosignatures and returns the note with
    // them, so the receipt is assembled from its answer without reading the checkpoint back.
    const published = await publishCheckpoint(deps);
    if (published.size > index) {
      const proof = await inclusionProof(index, published.size, nodeReader(deps.db));
      return assembleReceipt({ index, leaf: leaf.leaf, inclusionProof: proof, checkpoint: published.note });
    }
    cp = await checkpointCovering(deps.db, index);
    if (!cp) throw new RelinkError("NOT_FOUND", `no checkpoint covers leaf ${index}`);
  }
  // A checkpoint just published by the cadence may still be collecting its cosignatures: wait for them (or
  // ask the witnesses still missing), so that a receipt carries every cosignature the hub can get.
  if ((await listAuditCosignatures(deps.db, cp.size)).length < deps.witnesses.length) {
    await collectCosignatures(deps, cp);
  }
  const proof = await inclusionProof(index, cp.size, nodeReader(deps.db));
  return assembleReceipt({
    index,
    leaf: leaf.leaf,
    inclusionProof: proof,
    checkpoint: await cosignedCheckpoint(deps.db, cp),
  });
}
