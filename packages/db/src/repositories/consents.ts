/** The consent registry: per member, tag and purpose, the legal basis a lookup relies on. */
import { type Selectable, sql } from "kysely";
import { ConflictError, SQLSTATE, sqlState } from "../errors.ts";
import type { ConsentTable, DataCategory, Db, LegalBasis, Purpose } from "../schema.ts";

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
  /** 1 when registered, +1 per update; earlier versions are in consent_revision. */
  revision: number;
  updatedAt: Date | null;
}

export type NewConsent = Omit<Consent, "id" | "registeredAt" | "revokedAt" | "revision" | "updatedAt">;

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
  "revision",
  "updated_at",
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
    revision: r.revision,
    updatedAt: r.updated_at,
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

const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** True when the stored consent already says what `c` says (same tag, purpose, basis, dates, evidence). */
export function sameConsent(stored: Consent, c: NewConsent): boolean {
  return (
    bytesEqual(stored.tag, c.tag) &&
    stored.purpose === c.purpose &&
    stored.legalBasis === c.legalBasis &&
    [...stored.dataCategories].sort().join(",") === [...c.dataCategories].sort().join(",") &&
    stored.grantedAt.getTime() === c.grantedAt.getTime() &&
    stored.expiresAt.getTime() === c.expiresAt.getTime() &&
    bytesEqual(stored.evidenceHash, c.evidenceHash)
  );
}

export interface ConsentUpsertResult {
  created: Consent[];
  /** Changed records, after the update (revision incremented; the old version kept in consent_revision). */
  updated: Consent[];
  /** Records that were already registered exactly so: nothing written. */
  unchanged: Consent[];
  /** Records under a revoked reference: left revoked and untouched (a new grant needs a new reference). */
  revoked: Consent[];
}

/**
 * Registers consents idempotently per (member, reference): new references are inserted, unchanged ones
 * are left alone, changed ones are updated in place (the superseded version is kept in consent_revision),
 * revoked ones are left revoked. All records must belong to one member; references must be distinct.
 * Run it in a transaction (core does): it reads, then writes.
 */
export async function upsertConsents(db: Db, consents: NewConsent[], at: Date): Promise<ConsentUpsertResult> {
  const out: ConsentUpsertResult = { created: [], updated: [], unchanged: [], revoked: [] };
  if (consents.length === 0) return out;
  const memberId = consents[0]!.memberId;
  if (consents.some((c) => c.memberId !== memberId))
    throw new TypeError("upsertConsents: one member at a time");
  const refs = consents.map((c) => c.reference);
  if (new Set(refs).size !== refs.length)
    throw new ConflictError("consent", "reference", "the same reference appears twice in one registration");
  const existing = new Map<string, Consent>();
  const chunk = 1000;
  for (let i = 0; i < refs.length; i += chunk) {
    const rows = await db
      .selectFrom("consent")
      .select(columns)
      .where("member_id", "=", memberId)
      .where("reference", "in", refs.slice(i, i + chunk))
      .forUpdate()
      .execute();
    for (const r of rows) existing.set(r.reference, toConsent(r));
  }
  const fresh: NewConsent[] = [];
  for (const c of consents) {
    const old = existing.get(c.reference);
    if (!old) fresh.push(c);
    else if (old.revokedAt !== null) out.revoked.push(old);
    else if (sameConsent(old, c)) out.unchanged.push(old);
    else {
      await db
        .insertInto("consent_revision")
        .values({
          consent_id: old.id,
          revision: old.revision,
          tag: old.tag,
          purpose: old.purpose,
          legal_basis: old.legalBasis,
          data_categories: old.dataCategories,
          granted_at: old.grantedAt,
          expires_at: old.expiresAt,
          evidence_hash: old.evidenceHash,
          superseded_at: at,
        })
        .execute();
      const row = await db
        .updateTable("consent")
        .set({
          tag: c.tag,
          purpose: c.purpose,
          legal_basis: c.legalBasis,
          data_categories: c.dataCategories,
          granted_at: c.grantedAt,
          expires_at: c.expiresAt,
          evidence_hash: c.evidenceHash,
          revision: old.revision + 1,
          updated_at: at,
        })
        .where("id", "=", old.id)
        .returning(columns)
        .executeTakeFirstOrThrow();
      out.updated.push(toConsent(row));
    }
  }
  out.created = await insertConsents(db, fresh, at);
  return out;
}

/** Superseded versions of a consent, oldest first. */
export async function consentRevisions(db: Db, consentId: string) {
  return db
    .selectFrom("consent_revision")
    .select([
      "revision",
      "tag",
      "purpose",
      "legal_basis",
      "data_categories",
      "granted_at",
      "expires_at",
      "evidence_hash",
      "superseded_at",
    ])
    .where("consent_id", "=", consentId)
    .orderBy("revision")
    .execute();
}

/**
 * The member's consents registered under these references: exactly `ref`, or `ref#<n>` (the SDK registers
 * one record per identifier of a row as `<ref>#1`, `<ref>#2`, …). Each result names the reference it matched.
 */
export async function consentsByReference(
  db: Db,
  memberId: string,
  references: readonly string[],
): Promise<{ reference: string; consent: Consent }[]> {
  if (references.length === 0) return [];
  const wanted = [...new Set(references)];
  const rows = await db
    .selectFrom("consent")
    .select(columns)
    .where("member_id", "=", memberId)
    .where((eb) =>
      eb.or([
        eb("reference", "in", wanted),
        eb(sql<string>`regexp_replace(reference, '#[0-9]+$', '')`, "in", wanted),
      ]),
    )
    .orderBy("reference")
    .execute();
  const set = new Set(wanted);
  return rows.map((r) => ({
    reference: set.has(r.reference) ? r.reference : r.reference.replace(/#[0-9]+$/, ""),
    consent: toConsent(r),
  }));
}

/** Revokes consents by id (those not yet revoked); returns those revoked. */
export async function revokeConsentIds(db: Db, memberId: string, ids: readonly string[], at: Date) {
  return revokeActive(db, memberId, "id", ids, at);
}

/** Revokes the member's active consents with these references; returns those revoked. */
export async function revokeConsents(
  db: Db,
  memberId: string,
  references: string[],
  at: Date,
): Promise<Consent[]> {
  return revokeActive(db, memberId, "reference", references, at);
}

/** Revokes the member's active consents whose `key` is one of `values`; returns those revoked. */
async function revokeActive(
  db: Db,
  memberId: string,
  key: "id" | "reference",
  values: readonly string[],
  at: Date,
): Promise<Consent[]> {
  if (values.length === 0) return [];
  const rows = await db
    .updateTable("consent")
    .set({ revoked_at: at })
    .where("member_id", "=", memberId)
    .where(key, "in", [...values])
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

/** Consents by id (any member), for resolving a leaf's consent references; unknown ids are left out. */
export async function consentsByIds(db: Db, ids: readonly string[]): Promise<Consent[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("consent")
    .select(columns)
    .where("id", "in", [...ids])
    .execute();
  return rows.map(toConsent);
}

/** A member's consents for one tag (every purpose, revoked and expired included). */
export async function consentsForTag(db: Db, memberId: string, tag: Uint8Array): Promise<Consent[]> {
  const rows = await db
    .selectFrom("consent")
    .select(columns)
    .where("member_id", "=", memberId)
    .where("tag", "=", tag)
    .execute();
  return rows.map(toConsent);
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
