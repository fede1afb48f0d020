/**
 * The index of keyed subject commitments beside the audit log (migration 20261203T0300, ADR 0040): one row
 * per leaf that concerns subjects. Written in the appender's transaction; never trusted on its own — the
 * subject access use case checks every hit against the leaf bytes.
 */
import type { Db } from "../schema.ts";
import type { Consent } from "./consents.ts";

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

/** Consents by id (any member), for resolving a leaf's consent references; unknown ids are left out. */
export async function consentsByIds(db: Db, ids: readonly string[]): Promise<Consent[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("consent")
    .select([
      "id",
      "member_id",
      "reference",
      "tag",
      "purpose",
      "legal_basis",
      "data_categories",
      "granted_at",
      "expires_at",
      "evidence_hash",
      "registered_at",
      "revoked_at",
      "revision",
      "updated_at",
    ])
    .where("id", "in", [...ids])
    .execute();
  return rows.map((r) => ({
    id: r.id,
    memberId: r.member_id,
    reference: r.reference,
    tag: r.tag,
    purpose: r.purpose,
    legalBasis: r.legal_basis,
    dataCategories: r.data_categories,
    grantedAt: r.granted_at,
    expiresAt: r.expires_at,
    evidenceHash: r.evidence_hash,
    registeredAt: r.registered_at,
    revokedAt: r.revoked_at,
    revision: r.revision,
    updatedAt: r.updated_at,
  }));
}

/** A member's consents for one tag (every purpose, revoked and expired included). */
export async function consentsForTag(db: Db, memberId: string, tag: Uint8Array): Promise<Consent[]> {
  const rows = await db
    .selectFrom("consent")
    .select("id")
    .where("member_id", "=", memberId)
    .where("tag", "=", tag)
    .execute();
  return consentsByIds(
    db,
    rows.map((r) => r.id),
  );
}

/** A superseded version of a consent record (migration 20261203T0100): in force until `supersededAt`. */
export interface ConsentVersion {
  consentId: string;
  revision: number;
  tag: Uint8Array;
  purpose: string;
  legalBasis: string;
  dataCategories: string[];
  grantedAt: Date;
  expiresAt: Date;
  supersededAt: Date;
}

/** Superseded versions of these consents, oldest first per consent. */
export async function consentVersions(db: Db, ids: readonly string[]): Promise<ConsentVersion[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("consent_revision")
    .select([
      "consent_id",
      "revision",
      "tag",
      "purpose",
      "legal_basis",
      "data_categories",
      "granted_at",
      "expires_at",
      "superseded_at",
    ])
    .where("consent_id", "in", [...ids])
    .orderBy("consent_id")
    .orderBy("revision")
    .execute();
  return rows.map((r) => ({
    consentId: r.consent_id,
    revision: r.revision,
    tag: r.tag,
    purpose: r.purpose,
    legalBasis: r.legal_basis,
    dataCategories: r.data_categories,
    grantedAt: r.granted_at,
    expiresAt: r.expires_at,
    supersededAt: r.superseded_at,
  }));
}
