import {
  auditLogSize,
  type Db,
  insertAuditLeaves,
  lockAuditLog,
  type NewAuditLeaf,
  readAuditNodes,
} from "@relink/db";
import { type AuditEvent, CompactRange, encodeAuditEvent, hashLeaf, rangeNodes } from "@relink/tlog";

import { inTransaction } from "./deps.ts";

/**
 * Appends leaves (already canonical bytes) as one batch. Runs inside `db` if it is a transaction — the
 * sequencer lock is then held until that transaction commits, so the caller's change and its audit leaf
 * land together — or in a transaction of its own. Returns the first index and the new size.
 */
export async function appendLeaves(
  db: Db,
  leaves: readonly Uint8Array[],
): Promise<{ first: bigint; size: bigint }> {
  return inTransaction(db, async (trx) => {
    await lockAuditLog(trx);
    const start = await auditLogSize(trx);
    if (leaves.length === 0) return { first: start, size: start };
    // The right border of the tree so far: the perfect subtrees covering [0, start), biggest first.
    const range = new CompactRange(start, await readAuditNodes(trx, rangeNodes(0n, start)));
    const rows: NewAuditLeaf[] = leaves.map((leaf, j) => {
      const leafHash = hashLeaf(leaf);
      const completed = range.append(leafHash);
      const eventType = (leaf[5]! << 8) | leaf[6]!;
      return { index: start + BigInt(j), leaf, leafHash, subtreeHashes: completed, eventType };
    });
    await insertAuditLeaves(trx, rows);
    return { first: start, size: start + BigInt(leaves.length) };
  });
}

/** Encodes and appends audit events as one batch (see appendLeaves). */
export async function appendEvents(
  db: Db,
  events: readonly AuditEvent[],
): Promise<{ first: bigint; size: bigint }> {
  return appendLeaves(db, events.map(encodeAuditEvent));
}
