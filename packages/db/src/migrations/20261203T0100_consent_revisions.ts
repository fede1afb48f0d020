/**
 * FROZEN. Consent import is idempotent per reference (ADR 0007): re-registering an unchanged record is a
 * no-op; a changed one is updated in place, its revision counted, and the superseded version kept here so
 * that a DPO can see what a lookup relied on before the change. Consent metadata only — never identifiers.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table consent add column revision int not null default 1 check (revision >= 1)`.execute(db);
  await sql`alter table consent add column updated_at timestamptz`.execute(db);
  await sql`
    create table consent_revision (
      consent_id uuid not null references consent (id),
      revision int not null check (revision >= 1),
      tag bytea not null check (length(tag) = 32),
      purpose text not null,
      legal_basis text not null,
      data_categories text[] not null,
      granted_at timestamptz not null,
      expires_at timestamptz not null,
      evidence_hash bytea not null check (length(evidence_hash) = 32),
      superseded_at timestamptz not null,
      primary key (consent_id, revision)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table consent_revision`.execute(db);
  await sql`alter table consent drop column updated_at`.execute(db);
  await sql`alter table consent drop column revision`.execute(db);
}
