/**
 * Abuse controls (migration 20261203T0400_abuse): consent attestations, alerts, the sanctions ladder,
 * honeytokens, the contact opt-out registry and lenders' book declarations. Tags, counts, commitments
 * and signatures only.
 */
import { sql } from "kysely";
import type { AlertSeverity, Db, QuotaCounter, SanctionStep } from "../schema.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const CHUNK = 5000;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ------------------------------------------------------------------------------------ consent attestations

export interface NewConsentAttestation {
  consentId: string;
  memberId: string;
  tag: Uint8Array;
  caseCommitment: Uint8Array;
  evidenceHash: Uint8Array;
  keyFingerprint: Uint8Array;
  signature: Uint8Array;
}

/** Stores attestations; a consent updated in place (same reference, ADR 0007) gets its new attestation. */
export async function insertConsentAttestations(db: Db, rows: NewConsentAttestation[]): Promise<void> {
  for (const part of chunks(rows, 1000)) {
    await db
      .insertInto("consent_attestation")
      .values(
        part.map((r) => ({
          consent_id: r.consentId,
          member_id: r.memberId,
          tag: r.tag,
          case_commitment: r.caseCommitment,
          evidence_hash: r.evidenceHash,
          key_fingerprint: r.keyFingerprint,
          signature: r.signature,
        })),
      )
      .onConflict((oc) =>
        oc.column("consent_id").doUpdateSet((eb) => ({
          tag: eb.ref("excluded.tag"),
          case_commitment: eb.ref("excluded.case_commitment"),
          evidence_hash: eb.ref("excluded.evidence_hash"),
          key_fingerprint: eb.ref("excluded.key_fingerprint"),
          signature: eb.ref("excluded.signature"),
        })),
      )
      .execute();
  }
}

/**
 * What the member already attested with these evidence hashes and case commitments: evidence hash (hex) →
 * case commitments (hex) it was used for, and case commitment (hex) → tags (hex) it covers.
 */
export async function attestationUse(
  db: Db,
  input: { memberId: string; evidenceHashes: Uint8Array[]; caseCommitments: Uint8Array[] },
): Promise<{ casesByEvidence: Map<string, Set<string>>; tagsByCase: Map<string, Set<string>> }> {
  const casesByEvidence = new Map<string, Set<string>>();
  const tagsByCase = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, k: string, v: string) => {
    const s = m.get(k) ?? new Set<string>();
    s.add(v);
    m.set(k, s);
  };
  for (const part of chunks(input.evidenceHashes)) {
    const rows = await db
      .selectFrom("consent_attestation")
      .select(["evidence_hash", "case_commitment"])
      .where("member_id", "=", input.memberId)
      .where("evidence_hash", "in", part)
      .execute();
    for (const r of rows) add(casesByEvidence, hex(r.evidence_hash), hex(r.case_commitment));
  }
  for (const part of chunks(input.caseCommitments)) {
    const rows = await db
      .selectFrom("consent_attestation")
      .select(["case_commitment", "tag"])
      .where("member_id", "=", input.memberId)
      .where("case_commitment", "in", part)
      .execute();
    for (const r of rows) add(tagsByCase, hex(r.case_commitment), hex(r.tag));
  }
  return { casesByEvidence, tagsByCase };
}

/** How many of these consent ids were registered at or after `since`. */
export async function countConsentsRegisteredSince(db: Db, ids: string[], since: Date): Promise<number> {
  let n = 0;
  for (const part of chunks(ids)) {
    const row = await db
      .selectFrom("consent")
      .select((eb) => eb.fn.countAll<string | number | bigint>().as("n"))
      .where("id", "in", part)
      .where("registered_at", ">=", since)
      .executeTakeFirstOrThrow();
    n += Number(row.n);
  }
  return n;
}

// ------------------------------------------------------------------------------------------------ alerts

export interface Alert {
  id: string;
  memberId: string;
  kind: string;
  severity: AlertSeverity;
  windowKey: string;
  detail: Record<string, unknown>;
  relatedLeaf: bigint | null;
  auditLeaf: bigint | null;
  createdAt: Date;
}

/** Inserts an alert unless one of the same (member, kind, window) exists; returns it only if inserted. */
export async function insertAlert(db: Db, a: Omit<Alert, "id" | "auditLeaf">): Promise<Alert | undefined> {
  const row = await db
    .insertInto("alert")
    .values({
      member_id: a.memberId,
      kind: a.kind,
      severity: a.severity,
      window_key: a.windowKey,
      detail: JSON.stringify(a.detail),
      related_leaf: a.relatedLeaf,
      created_at: a.createdAt,
    })
    .onConflict((oc) => oc.columns(["member_id", "kind", "window_key"]).doNothing())
    .returning(["id"])
    .executeTakeFirst();
  return row ? { ...a, id: row.id, auditLeaf: null } : undefined;
}

export async function setAlertLeaf(db: Db, id: string, leaf: bigint): Promise<void> {
  await db.updateTable("alert").set({ audit_leaf: leaf }).where("id", "=", id).execute();
}

export async function listAlerts(
  db: Db,
  input: { since?: Date; memberId?: string; limit: number },
): Promise<Alert[]> {
  let q = db.selectFrom("alert").selectAll().orderBy("created_at", "desc").orderBy("id").limit(input.limit);
  if (input.since) q = q.where("created_at", ">=", input.since);
  if (input.memberId) q = q.where("member_id", "=", input.memberId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    memberId: r.member_id,
    kind: r.kind,
    severity: r.severity,
    windowKey: r.window_key,
    detail: (typeof r.detail === "string" ? JSON.parse(r.detail) : r.detail) as Record<string, unknown>,
    relatedLeaf: r.related_leaf,
    auditLeaf: r.audit_leaf,
    createdAt: r.created_at,
  }));
}

// --------------------------------------------------------------------------------------------- sanctions

export interface Sanction {
  id: string;
  memberId: string;
  step: SanctionStep;
  alertId: string | null;
  until: Date | null;
  createdAt: Date;
}

export async function insertSanction(db: Db, s: Omit<Sanction, "id">): Promise<Sanction> {
  const row = await db
    .insertInto("member_sanction")
    .values({
      member_id: s.memberId,
      step: s.step,
      alert_id: s.alertId,
      until: s.until,
      created_at: s.createdAt,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { ...s, id: row.id };
}

export async function setSanctionLeaf(db: Db, id: string, leaf: bigint): Promise<void> {
  await db.updateTable("member_sanction").set({ audit_leaf: leaf }).where("id", "=", id).execute();
}

/** A stored sanction with its `sanction.applied` leaf (null only inside the transaction that writes it). */
export interface LoggedSanction extends Sanction {
  auditLeaf: bigint | null;
}

export async function listSanctions(db: Db, memberId: string, since: Date): Promise<LoggedSanction[]> {
  const rows = await db
    .selectFrom("member_sanction")
    .select(["id", "member_id", "step", "alert_id", "until", "audit_leaf", "created_at"])
    .where("member_id", "=", memberId)
    .where("created_at", ">=", since)
    .orderBy("created_at")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    memberId: r.member_id,
    step: r.step,
    alertId: r.alert_id,
    until: r.until,
    auditLeaf: r.audit_leaf,
    createdAt: r.created_at,
  }));
}

/** True when a throttle of the member is in force at `at`. */
export async function isThrottled(db: Db, memberId: string, at: Date): Promise<boolean> {
  const row = await db
    .selectFrom("member_sanction")
    .select("id")
    .where("member_id", "=", memberId)
    .where("step", "=", "throttle")
    .where("created_at", "<=", at)
    .where("until", ">", at)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

// ------------------------------------------------------------------------------- honeytokens and opt-outs

export async function insertHoneytokens(
  db: Db,
  input: { tags: Uint8Array[]; epoch: number; note: string },
  at: Date,
): Promise<number> {
  let n = 0;
  for (const part of chunks(input.tags, 1000)) {
    const r = await db
      .insertInto("honeytoken")
      .values(part.map((tag) => ({ tag, epoch: input.epoch, note: input.note, created_at: at })))
      .onConflict((oc) => oc.column("tag").doNothing())
      .executeTakeFirst();
    n += Number(r.numInsertedOrUpdatedRows ?? 0n);
  }
  return n;
}

/** The tags (hex) among these that are honeytokens. */
export async function findHoneytokens(db: Db, tags: Uint8Array[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks(tags)) {
    if (part.length === 0) continue;
    const rows = await db.selectFrom("honeytoken").select("tag").where("tag", "in", part).execute();
    for (const r of rows) out.add(hex(r.tag));
  }
  return out;
}

export async function insertOptOuts(
  db: Db,
  input: { tags: Uint8Array[]; epoch: number; requestReference: string },
  at: Date,
): Promise<number> {
  let n = 0;
  for (const part of chunks(input.tags, 1000)) {
    const r = await db
      .insertInto("contact_opt_out")
      .values(
        part.map((tag) => ({
          tag,
          epoch: input.epoch,
          request_reference: input.requestReference,
          registered_at: at,
        })),
      )
      .onConflict((oc) => oc.column("tag").doNothing())
      .executeTakeFirst();
    n += Number(r.numInsertedOrUpdatedRows ?? 0n);
  }
  return n;
}

/** The tags (hex) among these whose subject opted out of contact relocation. */
export async function findOptOuts(db: Db, tags: Uint8Array[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks(tags)) {
    if (part.length === 0) continue;
    const rows = await db.selectFrom("contact_opt_out").select("tag").where("tag", "in", part).execute();
    for (const r of rows) out.add(hex(r.tag));
  }
  return out;
}

/**
 * The opt-out registry by registration (request reference and time), newest first: counts only, no tags.
 * `limit` bounds the registrations listed; `total` counts every registered tag.
 */
export async function optOutRegistrations(
  db: Db,
  limit = 500,
): Promise<{
  total: number;
  registrations: { requestReference: string; epoch: number; tags: number; registeredAt: Date }[];
}> {
  const total = await db
    .selectFrom("contact_opt_out")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  const rows = await db
    .selectFrom("contact_opt_out")
    .select((eb) => ["request_reference", "epoch", "registered_at", eb.fn.countAll<string>().as("n")])
    .groupBy(["request_reference", "epoch", "registered_at"])
    .orderBy("registered_at", "desc")
    .orderBy("request_reference")
    .limit(limit)
    .execute();
  return {
    total: Number(total.n),
    registrations: rows.map((r) => ({
      requestReference: r.request_reference,
      epoch: r.epoch,
      tags: Number(r.n),
      registeredAt: r.registered_at,
    })),
  };
}

// -------------------------------------------------------------------------------------- lookup history

/** The member's daily usage of a counter over the `days` UTC days before `day` (days without use: 0). */
export async function dailyUsageHistory(
  db: Db,
  input: { memberId: string; counter: QuotaCounter; beforeDay: string; fromDay: string },
): Promise<bigint[]> {
  const rows = await db
    .selectFrom("quota_usage")
    .select("used")
    .where("member_id", "=", input.memberId)
    .where("counter", "=", input.counter)
    .where(sql<boolean>`day < ${input.beforeDay}::date`)
    .where(sql<boolean>`day >= ${input.fromDay}::date`)
    .execute();
  return rows.map((r) => r.used);
}

// -------------------------------------------------------------------------------------- exposure books

export interface ExposureBook {
  memberId: string;
  epoch: number;
  declaredSubjects: number;
  signature: Uint8Array;
  keyFingerprint: Uint8Array;
  declaredAt: Date;
}

export async function upsertExposureBook(db: Db, b: ExposureBook): Promise<void> {
  await db
    .insertInto("exposure_book")
    .values({
      member_id: b.memberId,
      epoch: b.epoch,
      declared_subjects: BigInt(b.declaredSubjects),
      signature: b.signature,
      key_fingerprint: b.keyFingerprint,
      declared_at: b.declaredAt,
    })
    .onConflict((oc) =>
      oc.column("member_id").doUpdateSet({
        epoch: b.epoch,
        declared_subjects: BigInt(b.declaredSubjects),
        signature: b.signature,
        key_fingerprint: b.keyFingerprint,
        declared_at: b.declaredAt,
      }),
    )
    .execute();
}

export async function findExposureBook(db: Db, memberId: string): Promise<ExposureBook | undefined> {
  const r = await db
    .selectFrom("exposure_book")
    .selectAll()
    .where("member_id", "=", memberId)
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    memberId: r.member_id,
    epoch: r.epoch,
    declaredSubjects: Number(r.declared_subjects),
    signature: r.signature,
    keyFingerprint: r.key_fingerprint,
    declaredAt: r.declared_at,
  };
}
