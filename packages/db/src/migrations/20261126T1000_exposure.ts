/**
 * FROZEN. Cross-lender exposure (docs/protocol/exposure-he.md): which lenders hold which subject tags,
 * the per-(querier, subject) budget ledger, and cached answers. The hub stores tags, counts and HE
 * ciphertexts here — never a figure of any lender's book. Mask-agreement keys live in member_key
 * (purpose 'mask_agreement', algorithm 'x25519'), created by 20261126T0700.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table exposure_subject (
      member_id uuid not null references member (id),
      tag bytea not null check (length(tag) = 32),
      epoch int not null check (epoch > 0),
      registered_at timestamptz not null default now(),
      primary key (member_id, tag)
    )`.execute(db);
  // Lender counts per tag at query time: an index-only scan by tag.
  await sql`create index exposure_subject_tag_idx on exposure_subject (tag, epoch, member_id)`.execute(db);

  await sql`
    create table exposure_budget_spend (
      querier_id uuid not null references member (id),
      tag bytea not null check (length(tag) = 32),
      spent_at timestamptz not null,
      units int not null check (units > 0)
    )`.execute(db);
  // The rolling 30-day sum per (querier, tag) is one range scan of this index.
  await sql`
    create index exposure_budget_spend_idx on exposure_budget_spend (querier_id, tag, spent_at) include (units)`.execute(
    db,
  );
  await sql`create index exposure_budget_spend_at_idx on exposure_budget_spend (spent_at)`.execute(db);

  await sql`
    create table exposure_answer_cache (
      querier_id uuid not null references member (id),
      request_key bytea not null check (length(request_key) = 32),
      query_id uuid not null unique,
      created_at timestamptz not null,
      public_key_hash bytea not null check (length(public_key_hash) = 32),
      answer jsonb not null,
      ciphertexts bytea not null,
      primary key (querier_id, request_key, created_at)
    )`.execute(db);
  await sql`create index exposure_answer_cache_created_idx on exposure_answer_cache (created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["exposure_answer_cache", "exposure_budget_spend", "exposure_subject"]) {
    await sql`drop table ${sql.table(t)}`.execute(db);
  }
}
