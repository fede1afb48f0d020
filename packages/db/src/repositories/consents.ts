/** The consent registry: per member, tag and purpose, the legal basis a lookup relies on. */
import type { Kysely, Selectable, Transaction } from "kysely";
import { ConflictError, SQLSTATE, sqlState } from "../errors.ts";
import type { ConsentTable, Database, DataCategory, LegalBasis, Purpose } from "../schema.ts";

type Db = Kysely<Database> | Transaction<Database>;

export interface Consent {
  id: string;
  memberId: string;
  reference: string;
  tag: Uint8Array;
  purpose: Purpose;
  legalBasis: LegalBasis;
  dataCategories: DataCategory[];
  grantedAt: Date;
  expiresAt: Date;
  evidenceHash: Uint8Array;
  registeredAt: Date;
  revokedAt: Date | null;
}

export type NewConsent = Omit<Consent, "id" | "registeredAt" | "revokedAt">;

const columns = [
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
] as const;

function toConsent(r: Selectable<ConsentTable>): Consent {
  return {
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
  };
}

export async function insertConsents(db: Db, consents: NewConsent[], at: Date): Promise<Consent[]> {
  if (consents.length === 0) return [];
  const out: Consent[] = [];
  const chunk = 1000;
  try {
    for (let i = 0; i < consents.length; i += chunk) {
      const rows = await db
        .insertInto("consent")
        .values(
          consents.slice(i, i + chunk).map((c) => ({
            member_id: c.memberId,
            reference: c.reference,
            tag: c.tag,
            purpose: c.purpose,
            legal_basis: c.legalBasis,
            data_categories: c.dataCategories,
            granted_at: c.grantedAt,
            expires_at: c.expiresAt,
            evidence_hash: c.evidenceHash,
            registered_at: at,
          })),
        )
        .returning(columns)
        .execute();
      out.push(...rows.map(toConsent));
    }
  } catch (error) {
    if (sqlState(error) === SQLSTATE.uniqueViolation) {
      throw new ConflictError("consent", "reference", "a consent with this reference is already registered");
    }
    throw error;
  }
  return out;
}

/** Revokes the member's active consents with these references; returns those revoked. */
export async function revokeConsents(
  db: Db,
  memberId: string,
  references: string[],
  at: Date,
): Promise<Consent[]> {
  if (references.length === 0) return [];
  const rows = await db
    .updateTable("consent")
    .set({ revoked_at: at })
    .where("member_id", "=", memberId)
    .where("reference", "in", references)
    .where("revoked_at", "is", null)
    .returning(columns)
    .execute();
  return rows.map(toConsent);
}

/**
 * The member's consents that cover (tag, purpose, category) at `at`: granted, not expired, not revoked.
 * Returns one covering consent per tag (the one expiring last).
 */
export async function coveringConsents(
  db: Db,
  input: { memberId: string; tags: Uint8Array[]; purpose: Purpose; category: DataCategory; at: Date },
): Promise<Map<string, Consent>> {
  const covered = new Map<string, Consent>();
  if (input.tags.length === 0) return covered;
  const rows = await db
    .selectFrom("consent")
    .select(columns)
    .where("member_id", "=", input.memberId)
    .where("tag", "in", input.tags)
    .where("purpose", "=", input.purpose)
    .where("revoked_at", "is", null)
    .where("granted_at", "<=", input.at)
    .where("expires_at", ">", input.at)
    .where((eb) => eb(eb.val(input.category), "=", eb.fn.any("data_categories")))
    .orderBy("expires_at", "desc")
    .execute();
  for (const r of rows) {
    const key = Buffer.from(r.tag).toString("hex");
    if (!covered.has(key)) covered.set(key, toConsent(r));
  }
  return covered;
}

export async function listConsents(db: Db, memberId: string): Promise<Consent[]> {
  const rows = await db
    .selectFrom("consent")
    .select(columns)
    .where("member_id", "=", memberId)
    .orderBy("registered_at")
    .execute();
  return rows.map(toConsent);
}
