/**
 * FROZEN. Consent-membership proofs (ADR 0050, docs/protocol/consent-proofs.md): the consent roots members
 * committed (each also a `consent.root_committed` audit leaf) and the proof bundles lookups carried, kept
 * by the lookup's audit-leaf index so a DPO or regulator can fetch and re-verify them offline.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table consent_root (
      member_id uuid not null references member (id),
      root bytea not null check (length(root) = 32),
      leaf_count int not null check (leaf_count > 0),
      vkey_hash bytea not null check (length(vkey_hash) = 32),
      log_index bigint not null,
      committed_at timestamptz not null,
      primary key (member_id, root)
    )`.execute(db);
  await sql`
    create table consent_proof_bundle (
      log_index bigint primary key,
      member_id uuid not null references member (id),
      bundle text not null,
      created_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table consent_proof_bundle`.execute(db);
  await sql`drop table consent_root`.execute(db);
}
