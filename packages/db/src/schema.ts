/**
 * The one `Database` interface for kysely. Column types are what domain code receives on both
 * dialects: int8 → bigint, numeric → string, bytea → Uint8Array, timestamptz → Date (see client.ts).
 */
import type { ColumnType, Generated } from "kysely";

/** A column the database fills in on insert (default) and that never changes afterwards. */
type CreatedAt = ColumnType<Date, Date | undefined, never>;

export type MemberKind = "bank" | "consumer_finance" | "auto_finance" | "collection_agency" | "other";
export type MemberCapability = "lender" | "collector" | "querier";
export type MemberStatus = "active" | "suspended";

export interface MemberTable {
  id: Generated<string>;
  /** Short, stable, lower-case handle used in CLIs, logs and the signed-note origin of member witnesses. */
  slug: string;
  display_name: string;
  kind: MemberKind;
  capabilities: MemberCapability[];
  status: ColumnType<MemberStatus, MemberStatus | undefined, MemberStatus>;
  suspended_reason: string | null;
  suspended_at: Date | null;
  daily_lookup_quota: ColumnType<bigint, bigint | undefined, bigint>;
  daily_evaluation_quota: ColumnType<bigint, bigint | undefined, bigint>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type MemberKeyPurpose = "request_signing" | "mask_agreement" | "witness";
export type KeyAlgorithm = "ed25519" | "x25519";

export interface MemberKeyTable {
  id: Generated<string>;
  member_id: string;
  purpose: MemberKeyPurpose;
  algorithm: KeyAlgorithm;
  public_key: Uint8Array;
  /** SHA-256 of algorithm || 0x00 || public key; how requests and logs refer to a key. */
  fingerprint: Uint8Array;
  created_at: CreatedAt;
  revoked_at: Date | null;
}

export type UserStatus = "active" | "disabled";

export interface UserTable {
  id: Generated<string>;
  /** Null for network staff (hub operator), set for people working at a member. */
  member_id: string | null;
  email: string;
  display_name: string;
  /** Random 32 bytes; the audit log names users by this, never by e-mail or name. */
  audit_pseudonym: Uint8Array;
  status: ColumnType<UserStatus, UserStatus | undefined, UserStatus>;
  created_at: CreatedAt;
  last_login_at: Date | null;
}

export type Role =
  | "collections_operator"
  | "data_engineer"
  | "risk_analyst"
  | "member_dpo"
  | "member_admin"
  | "network_admin"
  | "network_dpo";

export interface RoleGrantTable {
  id: Generated<string>;
  user_id: string;
  role: Role;
  /** The member the grant is scoped to; null only for network-wide roles. */
  member_id: string | null;
  granted_by: string | null;
  granted_at: CreatedAt;
  revoked_at: Date | null;
}

export interface Database {
  member: MemberTable;
  member_key: MemberKeyTable;
  user: UserTable;
  role_grant: RoleGrantTable;
}
