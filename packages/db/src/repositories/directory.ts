/**
 * The encrypted contact directory. Publication batches are idempotent by batch id and applied in one
 * transaction by the caller (core); erasure and retention delete rows.
 */
import { sql } from "kysely";
import type { Db, LabelKind } from "../schema.ts";

export interface DirectoryRow {
  publisherId: string;
  tag: Uint8Array;
  recordId: Uint8Array;
  epoch: number;
  kind: LabelKind;
  labelVersion: number;
  valueDigest: Uint8Array;
  lastSeenOn: string;
  sealed: Uint8Array;
}

export interface StoredBatch {
  id: string;
  memberId: string;
  epoch: number;
  upserted: number;
  deleted: number;
  requestHash: Uint8Array;
}

export async function findBatch(db: Db, id: string): Promise<StoredBatch | undefined> {
  const row = await db
    .selectFrom("publication_batch")
    .select(["id", "member_id", "epoch", "upserted", "deleted", "request_hash"])
    .where("id", "=", id)
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      memberId: row.member_id,
      epoch: row.epoch,
      upserted: row.upserted,
      deleted: row.deleted,
      requestHash: row.request_hash,
    }
  );
}

export async function insertBatch(db: Db, batch: StoredBatch, at: Date): Promise<void> {
  await db
    .insertInto("publication_batch")
    .values({
      id: batch.id,
      member_id: batch.memberId,
      epoch: batch.epoch,
      upserted: batch.upserted,
      deleted: batch.deleted,
      request_hash: batch.requestHash,
      applied_at: at,
    })
    .execute();
}

/**
 * Inserts or replaces records (by publisher, tag, record id). One statement per 10,000 rows whose
 * columns travel as arrays (`unnest`): a handful of parameters instead of eleven per row, which the
 * drivers serialise and the server parses markedly faster than a multi-row VALUES list.
 * A record may appear only once per call (PostgreSQL cannot update a row twice in one statement).
 */
export async function upsertRecords(
  db: Db,
  batchId: string,
  rows: DirectoryRow[],
  at: Date,
): Promise<number> {
  const chunk = 10_000;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const col = <T>(f: (r: DirectoryRow) => T) => part.map(f);
    await sql`
      insert into directory_record
        (publisher_id, tag, record_id, epoch, kind, label_version, value_digest, last_seen_on, sealed,
         batch_id, updated_at)
      select r.publisher_id, r.tag, r.record_id, r.epoch, r.kind, r.label_version, r.value_digest,
        r.last_seen_on, r.sealed, ${batchId}::uuid, ${at}::timestamptz
      from unnest(
        ${col((r) => r.publisherId)}::uuid[], ${col((r) => r.tag)}::bytea[],
        ${col((r) => r.recordId)}::bytea[], ${col((r) => r.epoch)}::int[], ${col((r) => r.kind)}::text[],
        ${col((r) => r.labelVersion)}::int[], ${col((r) => r.valueDigest)}::bytea[],
        ${col((r) => r.lastSeenOn)}::date[], ${col((r) => r.sealed)}::bytea[]
      ) as r (publisher_id, tag, record_id, epoch, kind, label_version, value_digest, last_seen_on, sealed)
      on conflict (publisher_id, tag, record_id) do update set
        epoch = excluded.epoch,
        kind = excluded.kind,
        label_version = excluded.label_version,
        value_digest = excluded.value_digest,
        last_seen_on = excluded.last_seen_on,
        sealed = excluded.sealed,
        batch_id = excluded.batch_id,
        updated_at = excluded.updated_at`.execute(db);
  }
  return rows.length;
}

/** Deletes one record, or every record of the publisher under the tag when recordId is omitted. */
export async function deleteRecords(
  db: Db,
  publisherId: string,
  deletions: { tag: Uint8Array; recordId?: Uint8Array | undefined }[],
): Promise<number> {
  let deleted = 0;
  for (const d of deletions) {
    let q = db
      .deleteFrom("directory_record")
      .where("publisher_id", "=", publisherId)
      .where("tag", "=", d.tag);
    if (d.recordId) q = q.where("record_id", "=", d.recordId);
    const r = await q.executeTakeFirst();
    deleted += Number(r.numDeletedRows);
  }
  return deleted;
}

export interface FoundRecord extends DirectoryRow {
  /** Distinct publishers holding the same value digest for this tag. */
  corroboration: number;
}

/**
 * Records under the given tags and epoch from every publisher except the querier, each with the number of
 * distinct publishers (the querier included) that hold the same value for the subject.
 */
export async function findRecordsForTags(
  db: Db,
  input: { tags: Uint8Array[]; epoch: number; excludePublisher: string },
): Promise<FoundRecord[]> {
  if (input.tags.length === 0) return [];
  const rows = await db
    .selectFrom("directory_record as r")
    .select([
      "r.publisher_id",
      "r.tag",
      "r.record_id",
      "r.epoch",
      "r.kind",
      "r.label_version",
      "r.value_digest",
      "r.last_seen_on",
      "r.sealed",
      sql<number>`(select count(distinct c.publisher_id)::int from directory_record c
        where c.tag = r.tag and c.value_digest = r.value_digest and c.epoch = r.epoch)`.as("corroboration"),
    ])
    .where("r.tag", "in", input.tags)
    .where("r.epoch", "=", input.epoch)
    .where("r.publisher_id", "<>", input.excludePublisher)
    .orderBy("r.last_seen_on", "desc")
    .execute();
  return rows.map((r) => ({
    publisherId: r.publisher_id,
    tag: r.tag,
    recordId: r.record_id,
    epoch: r.epoch,
    kind: r.kind,
    labelVersion: r.label_version,
    valueDigest: r.value_digest,
    lastSeenOn: r.last_seen_on,
    sealed: r.sealed,
    corroboration: r.corroboration,
  }));
}

/** Retention: deletes records whose publisher last saw them before the cut-off day. */
export async function purgeRecordsLastSeenBefore(db: Db, cutoffDay: string): Promise<number> {
  const r = await db.deleteFrom("directory_record").where("last_seen_on", "<", cutoffDay).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function countRecords(db: Db, publisherId?: string): Promise<number> {
  let q = db.selectFrom("directory_record").select(sql<number>`count(*)::int`.as("n"));
  if (publisherId) q = q.where("publisher_id", "=", publisherId);
  return (await q.executeTakeFirstOrThrow()).n;
}
