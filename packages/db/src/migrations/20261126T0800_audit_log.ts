/**
 * FROZEN. The audit transparency log (docs/protocol/audit-log.md, ADRs 0020–0029): leaves with the perfect
 * subtree hashes each one completes, signed checkpoints, witness cosignatures and fork evidence.
 * Every table is append-only: triggers reject UPDATE, DELETE and TRUNCATE. (A superuser can still disable
 * triggers; the log's defence against that is verification — recomputing hashes and checking signed
 * checkpoints — not the triggers.)
 * SQL must stay valid on PostgreSQL 15 (the server) and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_log_leaf (
      idx int8 primary key check (idx >= 0),
      leaf bytea not null check (length(leaf) between 15 and 16384),
      leaf_hash bytea not null check (length(leaf_hash) = 32),
      subtree_hashes bytea not null check (length(subtree_hashes) % 32 = 0 and length(subtree_hashes) <= 2016),
      event_type int4 not null check (event_type between 0 and 65535),
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`comment on column audit_log_leaf.subtree_hashes is
    'hashes of the perfect subtrees this leaf completes, levels 1..k in order (k = trailing one bits of idx)'`.execute(
    db,
  );

  await sql`
    create table audit_log_checkpoint (
      tree_size int8 primary key check (tree_size >= 0),
      root_hash bytea not null check (length(root_hash) = 32),
      note text not null check (length(note) <= 65536),
      created_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table audit_log_cosignature (
      tree_size int8 not null references audit_log_checkpoint (tree_size),
      witness text not null check (length(witness) between 1 and 255),
      key_id bytea not null check (length(key_id) = 4),
      signature_line text not null check (length(signature_line) <= 1024),
      cosigned_at timestamptz not null,
      created_at timestamptz not null default now(),
      primary key (tree_size, witness, key_id)
    )`.execute(db);

  await sql`
    create table audit_log_fork_evidence (
      id uuid primary key default gen_random_uuid(),
      origin text not null,
      tree_size int8 not null check (tree_size >= 0),
      note_a text not null,
      note_b text not null,
      detected_by text not null,
      detail text not null default '',
      created_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit log table % is append-only (% refused)', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  for (const table of [
    "audit_log_leaf",
    "audit_log_checkpoint",
    "audit_log_cosignature",
    "audit_log_fork_evidence",
  ]) {
    await sql`
      create trigger ${sql.raw(`${table}_no_change`)} before update or delete on ${sql.table(table)}
        for each row execute function audit_log_append_only()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
        for each statement execute function audit_log_append_only()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_log_fork_evidence`.execute(db);
  await sql`drop table audit_log_cosignature`.execute(db);
  await sql`drop table audit_log_checkpoint`.execute(db);
  await sql`drop table audit_log_leaf`.execute(db);
  await sql`drop function audit_log_append_only()`.execute(db);
}
