/**
 * Cross-lender exposure (docs/protocol/exposure-he.md): the lenders' subject registrations, the
 * per-(querier, subject) budget ledger and cached answers. No figure of any book is ever stored here.
 */
import { sql, type Transaction } from "kysely";
import type { Database, Db } from "../schema.ts";

/** Rows per statement: keeps every statement far below PostgreSQL's 65,535 bind parameters. */
const CHUNK = 5000;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Registers (member, tag) pairs under an epoch. Returns how many rows changed: new pairs, and known pairs
 * moved to another epoch. Re-registering a pair under the same epoch changes nothing.
 */
export async function upsertExposureSubjects(
  db: Db,
  input: { memberId: string; epoch: number; tags: Uint8Array[] },
  at: Date,
): Promise<number> {
  let changed = 0;
  for (const part of chunks(input.tags, 1000)) {
    const rows = await db
      .insertInto("exposure_subject")
      .values(part.map((tag) => ({ member_id: input.memberId, tag, epoch: input.epoch, registered_at: at })))
      .onConflict((oc) =>
        oc
          .columns(["member_id", "tag"])
          .doUpdateSet({ epoch: (eb) => eb.ref("excluded.epoch"), registered_at: at })
          .where("exposure_subject.epoch", "<>", (eb) => eb.ref("excluded.epoch")),
      )
      .returning("tag")
      .execute();
    changed += rows.length;
  }
  return changed;
}

/** Removes the member's registrations of these tags; returns how many existed. */
export async function deleteExposureSubjects(db: Db, memberId: string, tags: Uint8Array[]): Promise<number> {
  let deleted = 0;
  for (const part of chunks(tags)) {
    const r = await db
      .deleteFrom("exposure_subject")
      .where("member_id", "=", memberId)
      .where("tag", "in", part)
      .executeTakeFirst();
    deleted += Number(r.numDeletedRows);
  }
  return deleted;
}

export async function countExposureSubjects(db: Db, memberId: string): Promise<number> {
  const row = await db
    .selectFrom("exposure_subject")
    .select((eb) => eb.fn.countAll<string | number | bigint>().as("n"))
    .where("member_id", "=", memberId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface ExposureHolder {
  tag: Uint8Array;
  memberId: string;
  /** The member's active X25519 mask-agreement key, or null if it has none (it cannot take part). */
  maskKey: Uint8Array | null;
  /** When the member (last) registered the tag under this epoch. */
  registeredAt: Date;
}

/**
 * Who holds these tags under the epoch: active members with the `lender` capability, `excludeMember`
 * (the querier) left out, each with its active mask-agreement key if any.
 */
export async function findExposureHolders(
  db: Db,
  input: { tags: Uint8Array[]; epoch: number; excludeMember: string },
): Promise<ExposureHolder[]> {
  const out: ExposureHolder[] = [];
  for (const part of chunks(input.tags)) {
    const rows = await db
      .selectFrom("exposure_subject as s")
      .innerJoin("member as m", "m.id", "s.member_id")
      .leftJoin("member_key as k", (j) =>
        j
          .onRef("k.member_id", "=", "s.member_id")
          .on("k.purpose", "=", "mask_agreement")
          .on("k.revoked_at", "is", null),
      )
      .select(["s.tag", "s.member_id", "k.public_key", "s.registered_at"])
      .where("s.tag", "in", part)
      .where("s.epoch", "=", input.epoch)
      .where("s.member_id", "<>", input.excludeMember)
      .where("m.status", "=", "active")
      .where(sql<boolean>`'lender' = any(m.capabilities)`)
      .execute();
    for (const r of rows)
      out.push({
        tag: r.tag,
        memberId: r.member_id,
        maskKey: r.public_key ?? null,
        registeredAt: r.registered_at,
      });
  }
  return out;
}

/** Serialises a member's exposure writes (mask-key rotation, budget spending) until the transaction ends. */
export async function lockMemberRow(trx: Transaction<Database>, memberId: string): Promise<void> {
  await sql`select id from member where id = ${memberId} for update`.execute(trx);
}

/** Units spent per tag (hex) by the querier since `since` (exclusive): one range scan of the ledger index. */
export async function exposureBudgetUsed(
  db: Db,
  input: { querierId: string; tags: Uint8Array[]; since: Date },
): Promise<Map<string, number>> {
  const used = new Map<string, number>();
  for (const part of chunks(input.tags)) {
    const rows = await db
      .selectFrom("exposure_budget_spend")
      .select(["tag", (eb) => eb.fn.sum<string | number | bigint>("units").as("units")])
      .where("querier_id", "=", input.querierId)
      .where("tag", "in", part)
      .where("spent_at", ">", input.since)
      .groupBy("tag")
      .execute();
    for (const r of rows) used.set(hex(r.tag), Number(r.units));
  }
  return used;
}

/**
 * Spends `units` of the querier's budget on each tag that has them left within the window
 * (`since`, `at`]; returns the tags spent on and those whose budget is exhausted. Serialised per querier
 * (row lock on the member): parallel queries by one querier cannot overspend together. Must run inside
 * a transaction.
 */
export async function spendExposureBudget(
  trx: Transaction<Database>,
  input: { querierId: string; tags: Uint8Array[]; at: Date; since: Date; limit: number; units?: number },
): Promise<{ spent: Uint8Array[]; exhausted: Uint8Array[] }> {
  const units = input.units ?? 1;
  await lockMemberRow(trx, input.querierId);
  const used = await exposureBudgetUsed(trx, input);
  const spent: Uint8Array[] = [];
  const exhausted: Uint8Array[] = [];
  for (const tag of input.tags) {
    if ((used.get(hex(tag)) ?? 0) + units <= input.limit) spent.push(tag);
    else exhausted.push(tag);
  }
  for (const part of chunks(spent, 1000)) {
    await trx
      .insertInto("exposure_budget_spend")
      .values(part.map((tag) => ({ querier_id: input.querierId, tag, spent_at: input.at, units })))
      .execute();
  }
  return { spent, exhausted };
}

export interface CachedExposureAnswer {
  querierId: string;
  requestKey: Uint8Array;
  queryId: string;
  createdAt: Date;
  publicKeyHash: Uint8Array;
  answer: unknown;
  ciphertexts: Uint8Array[];
}

/**
 * The cache column's framing: each ciphertext as u32 big-endian length ‖ bytes. The same bytes as protocol's
 * `lengthPrefixed`, which db may not import (ADR 0003); nothing outside this table reads them (ADR 0067).
 */
export function packBlobs(blobs: readonly Uint8Array[]): Uint8Array {
  const total = blobs.reduce((n, b) => n + 4 + b.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const b of blobs) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** Inverse of {@link packBlobs}; throws on a truncated or overlong frame. */
export function unpackBlobs(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new Error("truncated length prefix");
    const n = view.getUint32(at);
    if (at + 4 + n > bytes.length) throw new Error("truncated blob");
    out.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

export async function insertCachedExposureAnswer(
  db: Db,
  input: Omit<CachedExposureAnswer, "ciphertexts"> & { ciphertexts: Uint8Array[] },
): Promise<void> {
  await db
    .insertInto("exposure_answer_cache")
    .values({
      querier_id: input.querierId,
      request_key: input.requestKey,
      query_id: input.queryId,
      created_at: input.createdAt,
      public_key_hash: input.publicKeyHash,
      answer: JSON.stringify(input.answer),
      ciphertexts: packBlobs(input.ciphertexts),
    })
    .execute();
}

/** The querier's latest answer to the same request created after `since`, if any. */
export async function findCachedExposureAnswer(
  db: Db,
  input: { querierId: string; requestKey: Uint8Array; since: Date },
): Promise<CachedExposureAnswer | undefined> {
  const row = await db
    .selectFrom("exposure_answer_cache")
    .selectAll()
    .where("querier_id", "=", input.querierId)
    .where("request_key", "=", input.requestKey)
    .where("created_at", ">", input.since)
    .orderBy("created_at", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    querierId: row.querier_id,
    requestKey: row.request_key,
    queryId: row.query_id,
    createdAt: row.created_at,
    publicKeyHash: row.public_key_hash,
    answer: typeof row.answer === "string" ? JSON.parse(row.answer) : row.answer,
    ciphertexts: unpackBlobs(row.ciphertexts),
  };
}

/** Retention: forgets budget spending and cached answers older than the given instants. */
export async function purgeExposureLedger(
  db: Db,
  input: { spendBefore: Date; cacheBefore: Date },
): Promise<{ spend: number; cache: number }> {
  const a = await db
    .deleteFrom("exposure_budget_spend")
    .where("spent_at", "<", input.spendBefore)
    .executeTakeFirst();
  const b = await db
    .deleteFrom("exposure_answer_cache")
    .where("created_at", "<", input.cacheBefore)
    .executeTakeFirst();
  return { spend: Number(a.numDeletedRows), cache: Number(b.numDeletedRows) };
}
