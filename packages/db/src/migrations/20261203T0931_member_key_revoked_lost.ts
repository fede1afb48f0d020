/**
 * FROZEN. A second revocation reason (ADR 0037): 'lost' when the network administrator re-keyed a member that
 * lost its request-signing key (`admin.rekeyMember`). 'rotated' stays for the member's own rotation.
 * SQL must stay valid on PostgreSQL 15 (the server) and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table member_key drop constraint member_key_revoked_reason_check,
      add constraint member_key_revoked_reason_check check (revoked_reason in ('rotated', 'lost'))`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table member_key drop constraint member_key_revoked_reason_check,
      add constraint member_key_revoked_reason_check check (revoked_reason in ('rotated'))`.execute(db);
}
