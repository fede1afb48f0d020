/**
 * FROZEN. Members, their public keys, people and their roles.
 * Never edit a migration that has shipped: add a new one.
 * SQL must stay valid on PostgreSQL 15 (the server) and 18 (PGlite).
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table member (
      id uuid primary key default gen_random_uuid(),
      slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
      display_name text not null check (length(display_name) between 1 and 200),
      kind text not null check (kind in ('bank', 'consumer_finance', 'auto_finance', 'collection_agency', 'other')),
      capabilities text[] not null default '{}'
        check (capabilities <@ array['lender', 'collector', 'querier']::text[]),
      status text not null default 'active' check (status in ('active', 'suspended')),
      suspended_reason text,
      suspended_at timestamptz,
      daily_lookup_quota int8 not null default 10000 check (daily_lookup_quota >= 0),
      daily_evaluation_quota int8 not null default 50000 check (daily_evaluation_quota >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((status = 'suspended') = (suspended_at is not null))
    )`.execute(db);

  await sql`
    create table member_key (
      id uuid primary key default gen_random_uuid(),
      member_id uuid not null references member (id) on delete restrict,
      purpose text not null check (purpose in ('request_signing', 'mask_agreement', 'witness')),
      algorithm text not null check (algorithm in ('ed25519', 'x25519')),
      public_key bytea not null check (length(public_key) = 32),
      fingerprint bytea not null unique check (length(fingerprint) = 32),
      created_at timestamptz not null default now(),
      revoked_at timestamptz,
      check ((purpose = 'mask_agreement') = (algorithm = 'x25519'))
    )`.execute(db);
  await sql`create index member_key_member_idx on member_key (member_id) where revoked_at is null`.execute(
    db,
  );

  await sql`
    create table "user" (
      id uuid primary key default gen_random_uuid(),
      member_id uuid references member (id) on delete restrict,
      email text not null check (email = lower(email) and email like '%_@_%'),
      display_name text not null check (length(display_name) between 1 and 200),
      audit_pseudonym bytea not null unique check (length(audit_pseudonym) = 32),
      status text not null default 'active' check (status in ('active', 'disabled')),
      created_at timestamptz not null default now(),
      last_login_at timestamptz
    )`.execute(db);
  await sql`create unique index user_email_idx on "user" (email)`.execute(db);

  await sql`
    create table role_grant (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references "user" (id) on delete cascade,
      role text not null check (role in ('collections_operator', 'data_engineer', 'risk_analyst',
        'member_dpo', 'member_admin', 'network_admin', 'network_dpo')),
      member_id uuid references member (id) on delete restrict,
      granted_by uuid references "user" (id),
      granted_at timestamptz not null default now(),
      revoked_at timestamptz,
      check ((role in ('network_admin', 'network_dpo')) = (member_id is null))
    )`.execute(db);
  await sql`
    create unique index role_grant_active_idx on role_grant (user_id, role, member_id) nulls not distinct
      where revoked_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table role_grant`.execute(db);
  await sql`drop table "user"`.execute(db);
  await sql`drop table member_key`.execute(db);
  await sql`drop table member`.execute(db);
}
