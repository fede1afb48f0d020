/**
 * FROZEN. Fork evidence is kept once (issue #11: witness evidence deduplicated and bounded): a unique index
 * over the origin, the tree size and the unordered pair of notes (by MD5 of each: the notes are up to 64 KiB,
 * too long for a B-tree entry; MD5 here only groups identical text, it protects nothing). Repeated identical
 * evidence then inserts nothing (`on conflict do nothing`). The table stays append-only.
 * SQL valid on PostgreSQL 15 and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create unique index audit_log_fork_evidence_once on audit_log_fork_evidence
      (origin, tree_size, md5(least(note_a, note_b)), md5(greatest(note_a, note_b)))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index audit_log_fork_evidence_once`.execute(db);
}
