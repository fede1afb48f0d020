/**
 * FROZEN. Abuse controls (threats T1 and T4; docs/adr/0045-abuse-controls.md): signed consent attestations,
 * the consent-registration quota counter, alerts and the sanctions ladder, network honeytokens, the
 * contact-relocation opt-out registry and lenders' signed book declarations. The hub stores tags, counts,
 * commitments and signatures here — never identifiers.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table consent_attestation (
      consent_id uuid primary key references consent (id),
      member_id uuid not null references member (id),
      tag bytea not null check (length(tag) = 32),
      case_commitment bytea not null check (length(case_commitment) = 32),
      evidence_hash bytea not null check (length(evidence_hash) = 32),
      key_fingerprint bytea not null check (length(key_fingerprint) = 32),
      signature bytea not null check (length(signature) = 64),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index consent_attestation_evidence_idx on consent_attestation (member_id, evidence_hash)`.execute(
    db,
  );
  await sql`create index consent_attestation_case_idx on consent_attestation (member_id, case_commitment)`.execute(
    db,
  );

  await sql`alter table quota_usage drop constraint quota_usage_counter_check`.execute(db);
  await sql`
    alter table quota_usage add constraint quota_usage_counter_check
      check (counter in ('lookup', 'evaluation', 'consent', 'lookup_unconsented', 'lookup_fresh_consent',
        'lookup_hit', 'lookup_opted_out'))`.execute(db);

  await sql`
    create table alert (
      id uuid primary key default gen_random_uuid(),
      member_id uuid not null references member (id),
      kind text not null check (kind ~ '^[a-z0-9][a-z0-9_.]{0,63}$'),
      severity text not null check (severity in ('low', 'medium', 'high')),
      window_key text not null check (length(window_key) between 1 and 100),
      detail jsonb not null,
      related_leaf int8,
      audit_leaf int8,
      created_at timestamptz not null,
      unique (member_id, kind, window_key)
    )`.execute(db);
  await sql`create index alert_created_idx on alert (created_at)`.execute(db);

  await sql`
    create table member_sanction (
      id uuid primary key default gen_random_uuid(),
      member_id uuid not null references member (id),
      step text not null check (step in ('warn', 'throttle', 'suspend')),
      alert_id uuid references alert (id),
      until timestamptz,
      audit_leaf int8,
      created_at timestamptz not null
    )`.execute(db);
  await sql`create index member_sanction_member_idx on member_sanction (member_id, created_at)`.execute(db);

  await sql`
    create table honeytoken (
      tag bytea primary key check (length(tag) = 32),
      epoch int not null check (epoch > 0),
      note text not null check (length(note) between 1 and 200),
      created_at timestamptz not null
    )`.execute(db);

  await sql`
    create table contact_opt_out (
      tag bytea primary key check (length(tag) = 32),
      epoch int not null check (epoch > 0),
      request_reference text not null check (length(request_reference) between 1 and 128),
      registered_at timestamptz not null
    )`.execute(db);

  await sql`
    create table exposure_book (
      member_id uuid primary key references member (id),
      epoch int not null check (epoch > 0),
      declared_subjects int8 not null check (declared_subjects >= 0),
      signature bytea not null check (length(signature) = 64),
      key_fingerprint bytea not null check (length(key_fingerprint) = 32),
      declared_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "exposure_book",
    "contact_opt_out",
    "honeytoken",
    "member_sanction",
    "alert",
    "consent_attestation",
  ]) {
    await sql`drop table ${sql.table(t)}`.execute(db);
  }
  await sql`delete from quota_usage where counter not in ('lookup', 'evaluation')`.execute(db);
  await sql`alter table quota_usage drop constraint quota_usage_counter_check`.execute(db);
  await sql`
    alter table quota_usage add constraint quota_usage_counter_check
      check (counter in ('lookup', 'evaluation'))`.execute(db);
}
