/**
 * FROZEN. Subject access and DPO roles (ADR 0040, 0041):
 *  - audit_log_subject: per audit leaf that concerns subjects, the leaf's member, its commitment nonce and
 *    the keyed subject commitments in leaf order. An index only — every value is also in (or, for batches
 *    over 64, committed to by the root in) the leaf, and readers check it against the leaf (no foreign key
 *    to audit_log_leaf: TRUNCATE of the log must keep failing on its append-only trigger, not on a
 *    reference, and verification must still see a tampered leaf table). Lets a subject
 *    access search test each leaf with one HMAC instead of re-deriving batch roots. Append-only like the log.
 *  - member_key.purpose gains 'dpo': a member's data-protection officer signs DPO requests with its own key.
 * SQL must stay valid on PostgreSQL 15 (the server) and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_log_subject (
      idx int8 primary key check (idx >= 0),
      member_id uuid references member (id),
      nonce bytea not null check (length(nonce) = 16),
      commitments bytea not null check (length(commitments) > 0 and length(commitments) % 32 = 0),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index audit_log_subject_member on audit_log_subject (member_id, idx)`.execute(db);
  await sql`
    create trigger audit_log_subject_append_only before update or delete on audit_log_subject
      for each row execute function audit_log_append_only()`.execute(db);
  await sql`
    create trigger audit_log_subject_no_truncate before truncate on audit_log_subject
      for each statement execute function audit_log_append_only()`.execute(db);

  await sql`alter table member_key drop constraint member_key_purpose_check`.execute(db);
  await sql`
    alter table member_key add constraint member_key_purpose_check
      check (purpose in ('request_signing', 'mask_agreement', 'witness', 'dpo'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from member_key where purpose = 'dpo'`.execute(db);
  await sql`alter table member_key drop constraint member_key_purpose_check`.execute(db);
  await sql`
    alter table member_key add constraint member_key_purpose_check
      check (purpose in ('request_signing', 'mask_agreement', 'witness'))`.execute(db);
  await sql`drop table audit_log_subject`.execute(db);
}
