/**
 * FROZEN. The encrypted contact directory, publication batches, the consent registry, request nonces
 * (replay protection) and daily quota counters. The hub stores only tags, sealed labels, value digests,
 * coarse dates and consent metadata here — never identifiers or contact values.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table publication_batch (
      id uuid primary key,
      member_id uuid not null references member (id),
      epoch int not null check (epoch > 0),
      upserted int not null check (upserted >= 0),
      deleted int not null check (deleted >= 0),
      request_hash bytea not null check (length(request_hash) = 32),
      applied_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table directory_record (
      publisher_id uuid not null references member (id),
      tag bytea not null check (length(tag) = 32),
      record_id bytea not null check (length(record_id) = 16),
      epoch int not null check (epoch > 0),
      kind text not null check (kind in ('phone', 'address', 'email', 'employer')),
      label_version int not null check (label_version > 0),
      value_digest bytea not null check (length(value_digest) = 32),
      last_seen_on date not null,
      sealed bytea not null check (length(sealed) between 40 and 2048),
      batch_id uuid not null references publication_batch (id),
      updated_at timestamptz not null default now(),
      primary key (publisher_id, tag, record_id)
    )`.execute(db);
  await sql`create index directory_record_tag_idx on directory_record (tag)`.execute(db);
  await sql`create index directory_record_last_seen_idx on directory_record (last_seen_on)`.execute(db);

  await sql`
    create table consent (
      id uuid primary key default gen_random_uuid(),
      member_id uuid not null references member (id),
      reference text not null check (length(reference) between 1 and 128),
      tag bytea not null check (length(tag) = 32),
      purpose text not null check (purpose in ('debt_collection', 'credit_assessment', 'fraud_prevention', 'legal_claim')),
      legal_basis text not null
        check (legal_basis in ('consent', 'contract_performance', 'legal_obligation', 'court_order')),
      data_categories text[] not null
        check (cardinality(data_categories) > 0
          and data_categories <@ array['contact', 'employment', 'credit_exposure']::text[]),
      granted_at timestamptz not null,
      expires_at timestamptz not null,
      evidence_hash bytea not null check (length(evidence_hash) = 32),
      registered_at timestamptz not null default now(),
      revoked_at timestamptz,
      check (expires_at > granted_at),
      unique (member_id, reference)
    )`.execute(db);
  await sql`create index consent_lookup_idx on consent (member_id, tag, purpose)`.execute(db);

  await sql`
    create table request_nonce (
      key_fingerprint bytea not null check (length(key_fingerprint) = 32),
      nonce bytea not null check (length(nonce) = 16),
      seen_at timestamptz not null,
      primary key (key_fingerprint, nonce)
    )`.execute(db);
  await sql`create index request_nonce_seen_idx on request_nonce (seen_at)`.execute(db);

  await sql`
    create table quota_usage (
      member_id uuid not null references member (id),
      day date not null,
      counter text not null check (counter in ('lookup', 'evaluation')),
      used int8 not null check (used >= 0),
      primary key (member_id, day, counter)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["quota_usage", "request_nonce", "consent", "directory_record", "publication_batch"]) {
    await sql`drop table ${sql.table(t)}`.execute(db);
  }
}
