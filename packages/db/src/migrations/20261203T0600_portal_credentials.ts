/**
 * FROZEN. Portal sign-in: one password credential per user (scrypt, PHC-style string), failed-attempt
 * counter and lockout, optional TOTP secret (RFC 6238). The hash never leaves the hub; the audit log names
 * users only by their pseudonym.
 * SQL must stay valid on PostgreSQL 15 (the server) and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table user_credential (
      user_id uuid primary key references "user" (id) on delete cascade,
      password_hash text not null check (password_hash like '$scrypt$%'),
      failed_attempts int4 not null default 0 check (failed_attempts >= 0),
      locked_until timestamptz,
      totp_secret bytea check (totp_secret is null or length(totp_secret) between 16 and 64),
      last_totp_step int8,
      updated_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table user_credential`.execute(db);
}
