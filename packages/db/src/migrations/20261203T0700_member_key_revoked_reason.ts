/**
 * FROZEN. Why a member key was revoked (ADR 0068): 'rotated' when the member replaced it with a new key
 * through `member.rotateKey`. Keys revoked before this migration keep a null reason. A reason needs a
 * revocation time.
 * SQL must stay valid on PostgreSQL 15 (the server) and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table member_key add column revoked_reason text
      check (revoked_reason in ('rotated')),
      add constraint member_key_revoked_reason_needs_time
      check (revoked_reason is null or revoked_at is not null)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table member_key drop column revoked_reason`.execute(db);
}
