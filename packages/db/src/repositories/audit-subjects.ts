/**
 * The index of keyed subject commitments beside the audit log (migration 20261203T0300, ADR 0040): one row
 * per leaf that concerns subjects. Written in the appender's transaction; never trusted on its own — the
 * subject access use case checks every hit against the leaf bytes.
 */
import type { Db } from "../schema.ts";

export interface AuditSubjectRow {
  index: bigint;
  memberId: string | null;
  nonce: Uint8Array;
  /** 32-byte commitments, concatenated in leaf order. */
  commitments: Uint8Array;
}

export async function insertAuditSubjects(db: Db, row: AuditSubjectRow): Promise<void> {
  await db
    .insertInto("audit_log_subject")
    .values({ idx: row.index, member_id: row.memberId, nonce: row.nonce, commitments: row.commitments })
    .execute();
}

/**
 * Rows with index ≥ `from` in index order, at most `limit`; only one member's (or the network's, for
 * `null`) when `memberId` is given.
 */
export async function listAuditSubjects(
  db: Db,
  options: { from: bigint; limit: number; memberId?: string | null },
): Promise<AuditSubjectRow[]> {
  let q = db
    .selectFrom("audit_log_subject")
    .select(["idx", "member_id", "nonce", "commitments"])
    .where("idx", ">=", options.from);
  if (options.memberId !== undefined) {
    q =
      options.memberId === null
        ? q.where("member_id", "is", null)
        : q.where("member_id", "=", options.memberId);
  }
  const rows = await q.orderBy("idx").limit(options.limit).execute();
  return rows.map((r) => ({
    index: r.idx,
    memberId: r.member_id,
    nonce: r.nonce,
    commitments: r.commitments,
  }));
}

export async function getAuditSubjects(db: Db, index: bigint): Promise<AuditSubjectRow | undefined> {
  const r = await db
    .selectFrom("audit_log_subject")
    .select(["idx", "member_id", "nonce", "commitments"])
    .where("idx", "=", index)
    .executeTakeFirst();
  return r && { index: r.idx, memberId: r.member_id, nonce: r.nonce, commitments: r.commitments };
}
