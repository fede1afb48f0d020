/**
 * Storage for the audit transparency log (migration 20261126T0800). SQL only: hashing, proofs and signatures
 * live in packages/tlog and are composed by packages/core. Functions take `db` (or a transaction) first.
 *
 * Sequencing: `lockAuditLog` takes a transaction-scoped advisory lock, so appenders on any connection (or
 * process) run one at a time between the lock and their commit; the next index is read after the lock, so
 * indices have no gaps and no duplicates. Within one process, PGlite has a single connection and kysely's
 * PGlite driver runs one transaction at a time; the same lock statement is still taken.
 */
import type { Selectable, Transaction } from "kysely";
import { sql } from "kysely";
import { ConflictError, NotFoundError, SQLSTATE, sqlState } from "../errors.ts";
import type {
  AuditLogCheckpointTable,
  AuditLogCosignatureTable,
  AuditLogLeafTable,
  Database,
  Db,
} from "../schema.ts";

/** pg_advisory_xact_lock key: "RLAE" (Relink audit event) as an integer. */
export const AUDIT_LOG_LOCK_KEY = 0x524c4145n;
const HASH = 32;
const INSERT_CHUNK = 1000;

export interface AuditLeafRow {
  index: bigint;
  leaf: Uint8Array;
  leafHash: Uint8Array;
  /** Perfect-subtree hashes this leaf completes (levels 1..k), each 32 bytes. */
  subtreeHashes: Uint8Array[];
  eventType: number;
  createdAt: Date;
}

export interface NewAuditLeaf {
  index: bigint;
  leaf: Uint8Array;
  leafHash: Uint8Array;
  subtreeHashes: readonly Uint8Array[];
  eventType: number;
}

function splitHashes(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + HASH <= bytes.length; i += HASH) out.push(bytes.slice(i, i + HASH));
  return out;
}

function joinHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH);
  for (const [i, h] of hashes.entries()) out.set(h, i * HASH);
  return out;
}

const leafColumns = ["idx", "leaf", "leaf_hash", "subtree_hashes", "event_type", "created_at"] as const;
const checkpointColumns = ["tree_size", "root_hash", "note", "created_at"] as const;
const cosignatureColumns = [
  "tree_size",
  "witness",
  "key_id",
  "signature_line",
  "cosigned_at",
  "created_at",
] as const;
const evidenceColumns = [
  "id",
  "origin",
  "tree_size",
  "note_a",
  "note_b",
  "detected_by",
  "detail",
  "created_at",
] as const;

function toLeaf(row: Selectable<AuditLogLeafTable>): AuditLeafRow {
  return {
    index: row.idx,
    leaf: row.leaf,
    leafHash: row.leaf_hash,
    subtreeHashes: splitHashes(row.subtree_hashes),
    eventType: row.event_type,
    createdAt: row.created_at,
  };
}

/** Serialises appenders until the caller's transaction ends. Must run inside a transaction. */
export async function lockAuditLog(trx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${AUDIT_LOG_LOCK_KEY}::int8)`.execute(trx);
}

/** Number of leaves: the highest index plus one (leaves are gap-free by construction). */
export async function auditLogSize(db: Db): Promise<bigint> {
  const row = await db
    .selectFrom("audit_log_leaf")
    .select("idx")
    .orderBy("idx", "desc")
    .limit(1)
    .executeTakeFirst();
  return row ? row.idx + 1n : 0n;
}

export async function insertAuditLeaves(
  trx: Transaction<Database>,
  leaves: readonly NewAuditLeaf[],
): Promise<void> {
  for (let i = 0; i < leaves.length; i += INSERT_CHUNK) {
    const chunk = leaves.slice(i, i + INSERT_CHUNK);
    try {
      await trx
        .insertInto("audit_log_leaf")
        .values(
          chunk.map((l) => ({
            idx: l.index,
            leaf: l.leaf,
            leaf_hash: l.leafHash,
            subtree_hashes: joinHashes(l.subtreeHashes),
            event_type: l.eventType,
          })),
        )
        .execute();
    } catch (error) {
      if (sqlState(error) === SQLSTATE.uniqueViolation) {
        throw new ConflictError(
          "audit_log_leaf",
          "idx",
          "index already taken: append without the sequencer lock?",
        );
      }
      throw error;
    }
  }
}

export interface AuditNodeId {
  level: number;
  index: bigint;
}

/**
 * Reads perfect-subtree hashes in one query. Node (level L, index j) is completed by leaf
 * (j + 1)·2^L − 1; level 0 is that leaf's hash, level L ≥ 1 is entry L − 1 of its subtree hashes.
 */
export async function readAuditNodes(db: Db, ids: readonly AuditNodeId[]): Promise<Uint8Array[]> {
  if (ids.length === 0) return [];
  const rowsNeeded = ids.map((id) => ((id.index + 1n) << BigInt(id.level)) - 1n);
  const unique = [...new Set(rowsNeeded.map(String))];
  const rows = await db
    .selectFrom("audit_log_leaf")
    .select(["idx", "leaf_hash", "subtree_hashes"])
    .where("idx", "in", unique.map(BigInt))
    .execute();
  const byIdx = new Map(rows.map((r) => [r.idx.toString(), r]));
  return ids.map((id, i) => {
    const row = byIdx.get(rowsNeeded[i]!.toString());
    if (!row) throw new NotFoundError("audit_log_leaf", rowsNeeded[i]!.toString());
    if (id.level === 0) return row.leaf_hash;
    const start = (id.level - 1) * HASH;
    if (row.subtree_hashes.length < start + HASH) {
      throw new NotFoundError("audit_log_node", `${id.level}/${id.index}`);
    }
    return row.subtree_hashes.slice(start, start + HASH);
  });
}

export async function getAuditLeaf(db: Db, index: bigint): Promise<AuditLeafRow | undefined> {
  const row = await db
    .selectFrom("audit_log_leaf")
    .select(leafColumns)
    .where("idx", "=", index)
    .executeTakeFirst();
  return row && toLeaf(row);
}

/** Leaves with index ≥ from, in index order, at most `limit` (for paging through the whole log). */
export async function listAuditLeaves(db: Db, from: bigint, limit: number): Promise<AuditLeafRow[]> {
  const rows = await db
    .selectFrom("audit_log_leaf")
    .select(leafColumns)
    .where("idx", ">=", from)
    .orderBy("idx")
    .limit(limit)
    .execute();
  return rows.map(toLeaf);
}

export interface AuditCheckpointRow {
  size: bigint;
  root: Uint8Array;
  note: string;
  createdAt: Date;
}

function toCheckpoint(row: Selectable<AuditLogCheckpointTable>): AuditCheckpointRow {
  return { size: row.tree_size, root: row.root_hash, note: row.note, createdAt: row.created_at };
}

/** Stores a signed checkpoint. Returns false (and stores nothing) if that size already has one. */
export async function insertAuditCheckpoint(
  db: Db,
  cp: { size: bigint; root: Uint8Array; note: string },
): Promise<boolean> {
  const res = await db
    .insertInto("audit_log_checkpoint")
    .values({ tree_size: cp.size, root_hash: cp.root, note: cp.note })
    .onConflict((oc) => oc.column("tree_size").doNothing())
    .executeTakeFirst();
  return (res.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function latestAuditCheckpoint(db: Db): Promise<AuditCheckpointRow | undefined> {
  const row = await db
    .selectFrom("audit_log_checkpoint")
    .select(checkpointColumns)
    .orderBy("tree_size", "desc")
    .limit(1)
    .executeTakeFirst();
  return row && toCheckpoint(row);
}

export async function getAuditCheckpoint(db: Db, size: bigint): Promise<AuditCheckpointRow | undefined> {
  const row = await db
    .selectFrom("audit_log_checkpoint")
    .select(checkpointColumns)
    .where("tree_size", "=", size)
    .executeTakeFirst();
  return row && toCheckpoint(row);
}

/** The smallest checkpoint whose tree contains leaf `index`. */
export async function checkpointCovering(db: Db, index: bigint): Promise<AuditCheckpointRow | undefined> {
  const row = await db
    .selectFrom("audit_log_checkpoint")
    .select(checkpointColumns)
    .where("tree_size", ">", index)
    .orderBy("tree_size")
    .limit(1)
    .executeTakeFirst();
  return row && toCheckpoint(row);
}

export async function listAuditCheckpoints(db: Db): Promise<AuditCheckpointRow[]> {
  const rows = await db
    .selectFrom("audit_log_checkpoint")
    .select(checkpointColumns)
    .orderBy("tree_size")
    .execute();
  return rows.map(toCheckpoint);
}

export interface AuditCosignatureRow {
  size: bigint;
  witness: string;
  keyId: Uint8Array;
  signatureLine: string;
  cosignedAt: Date;
}

function toCosignature(row: Selectable<AuditLogCosignatureTable>): AuditCosignatureRow {
  return {
    size: row.tree_size,
    witness: row.witness,
    keyId: row.key_id,
    signatureLine: row.signature_line,
    cosignedAt: row.cosigned_at,
  };
}

/** Stores verified cosignatures; one per (checkpoint, witness key) — a repeat is ignored. */
export async function insertAuditCosignatures(
  db: Db,
  rows: readonly Omit<AuditCosignatureRow, "createdAt">[],
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto("audit_log_cosignature")
    .values(
      rows.map((r) => ({
        tree_size: r.size,
        witness: r.witness,
        key_id: r.keyId,
        signature_line: r.signatureLine,
        cosigned_at: r.cosignedAt,
      })),
    )
    .onConflict((oc) => oc.columns(["tree_size", "witness", "key_id"]).doNothing())
    .execute();
}

export async function listAuditCosignatures(db: Db, size: bigint): Promise<AuditCosignatureRow[]> {
  const rows = await db
    .selectFrom("audit_log_cosignature")
    .select(cosignatureColumns)
    .where("tree_size", "=", size)
    .orderBy("witness")
    .orderBy("key_id")
    .execute();
  return rows.map(toCosignature);
}

/** The largest checkpoint size this witness key has cosigned, or undefined. */
export async function lastCosignedSize(
  db: Db,
  witness: string,
  keyId: Uint8Array,
): Promise<bigint | undefined> {
  const row = await db
    .selectFrom("audit_log_cosignature")
    .select("tree_size")
    .where("witness", "=", witness)
    .where("key_id", "=", keyId)
    .orderBy("tree_size", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.tree_size;
}

export interface ForkEvidenceRow {
  id: string;
  origin: string;
  size: bigint;
  noteA: string;
  noteB: string;
  detectedBy: string;
  detail: string;
  createdAt: Date;
}

/**
 * Stores fork evidence once: the same origin, size and pair of notes (in either order) again returns the row
 * already kept (migration 20261203T0200_fork_evidence_dedup), so repeated evidence never grows the table.
 */
export async function insertForkEvidence(
  db: Db,
  e: { origin: string; size: bigint; noteA: string; noteB: string; detectedBy: string; detail?: string },
): Promise<ForkEvidenceRow> {
  const inserted = await db
    .insertInto("audit_log_fork_evidence")
    .values({
      origin: e.origin,
      tree_size: e.size,
      note_a: e.noteA,
      note_b: e.noteB,
      detected_by: e.detectedBy,
      detail: e.detail,
    })
    .onConflict((oc) => oc.doNothing())
    .returning(evidenceColumns)
    .executeTakeFirst();
  const row =
    inserted ??
    (await db
      .selectFrom("audit_log_fork_evidence")
      .select(evidenceColumns)
      .where("origin", "=", e.origin)
      .where("tree_size", "=", e.size)
      .where((w) =>
        w.or([
          w.and([w("note_a", "=", e.noteA), w("note_b", "=", e.noteB)]),
          w.and([w("note_a", "=", e.noteB), w("note_b", "=", e.noteA)]),
        ]),
      )
      .executeTakeFirstOrThrow());
  return {
    id: row.id,
    origin: row.origin,
    size: row.tree_size,
    noteA: row.note_a,
    noteB: row.note_b,
    detectedBy: row.detected_by,
    detail: row.detail,
    createdAt: row.created_at,
  };
}

export async function listForkEvidence(db: Db): Promise<ForkEvidenceRow[]> {
  const rows = await db
    .selectFrom("audit_log_fork_evidence")
    .select(evidenceColumns)
    .orderBy("created_at")
    .execute();
  return rows.map((row) => ({
    id: row.id,
    origin: row.origin,
    size: row.tree_size,
    noteA: row.note_a,
    noteB: row.note_b,
    detectedBy: row.detected_by,
    detail: row.detail,
    createdAt: row.created_at,
  }));
}
