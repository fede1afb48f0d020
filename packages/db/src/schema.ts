/**
 * The one `Database` interface for kysely. Column types are what domain code receives on both
 * dialects: int8 → bigint, numeric → string, bytea → Uint8Array, timestamptz → Date (see client.ts).
 */
import type { ColumnType, Generated, Kysely, Transaction } from "kysely";

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

export type MemberKeyPurpose = "request_signing" | "mask_agreement" | "witness" | "dpo";
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
  /** Why it was revoked (ADR 0068); null while active and for keys revoked before reasons were kept. */
  revoked_reason: Generated<MemberKeyRevokedReason | null>;
}

/** 'rotated' by the member itself (ADR 0068); 'lost' when the administrator re-keyed it (ADR 0037). */
export type MemberKeyRevokedReason = "rotated" | "lost";

/** One row: incremented at commit by every change to `member` or `member_key` (ADR 0038). */
export interface MemberDirectoryVersionTable {
  id: boolean;
  version: ColumnType<bigint, never, never>;
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

export interface UserCredentialTable {
  user_id: string;
  /** `$scrypt$ln=…,r=…,p=…$<salt b64>$<hash b64>` (see core/portal-auth.ts). */
  password_hash: string;
  failed_attempts: ColumnType<number, number | undefined, number>;
  locked_until: Date | null;
  /** RFC 6238 shared secret; null when the user has not enrolled a second factor. */
  totp_secret: Uint8Array | null;
  /** The last accepted TOTP time step: a code is accepted once (replay within its window fails). */
  last_totp_step: bigint | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface PublicationBatchTable {
  id: string;
  member_id: string;
  epoch: number;
  upserted: number;
  deleted: number;
  request_hash: Uint8Array;
  applied_at: CreatedAt;
}

export type LabelKind = "phone" | "address" | "email" | "employer";

export interface DirectoryRecordTable {
  publisher_id: string;
  tag: Uint8Array;
  record_id: Uint8Array;
  epoch: number;
  kind: LabelKind;
  label_version: number;
  value_digest: Uint8Array;
  /** A calendar day, kept as the ISO string 'YYYY-MM-DD' (see client.ts: date is not parsed to Date). */
  last_seen_on: string;
  sealed: Uint8Array;
  batch_id: string;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type Purpose = "debt_collection" | "credit_assessment" | "fraud_prevention" | "legal_claim";
export type LegalBasis = "consent" | "contract_performance" | "legal_obligation" | "court_order";
export type DataCategory = "contact" | "employment" | "credit_exposure";

export interface ConsentTable {
  id: Generated<string>;
  member_id: string;
  reference: string;
  tag: Uint8Array;
  purpose: Purpose;
  legal_basis: LegalBasis;
  data_categories: DataCategory[];
  granted_at: Date;
  expires_at: Date;
  evidence_hash: Uint8Array;
  registered_at: CreatedAt;
  revoked_at: Date | null;
  /** 1 when registered; +1 per update (20261203T0100). */
  revision: Generated<number>;
  updated_at: Date | null;
}

/** Superseded versions of a consent (20261203T0100): what it said before each update. */
export interface ConsentRevisionTable {
  consent_id: string;
  revision: number;
  tag: Uint8Array;
  purpose: Purpose;
  legal_basis: LegalBasis;
  data_categories: DataCategory[];
  granted_at: Date;
  expires_at: Date;
  evidence_hash: Uint8Array;
  superseded_at: Date;
}

export interface RequestNonceTable {
  key_fingerprint: Uint8Array;
  nonce: Uint8Array;
  seen_at: Date;
}

export type QuotaCounter =
  | "lookup"
  | "evaluation"
  | "consent"
  /** Abuse monitoring accumulators (per member per day): tags asked without consent, tags whose consent was
   * registered shortly before the lookup, tags that returned records. */
  | "lookup_unconsented"
  | "lookup_fresh_consent"
  | "lookup_hit"
  /** Tags asked (with consent) whose subject opted out of contact relocation. */
  | "lookup_opted_out";

export interface QuotaUsageTable {
  member_id: string;
  day: string;
  counter: QuotaCounter;
  used: bigint;
}

/** Audit log (migration 20261126T0800): append-only; rows never change once inserted. */
/** Index of the keyed subject commitments of audit leaves (migration 20261203T0300, ADR 0040). */
export interface AuditLogSubjectTable {
  idx: bigint;
  member_id: string | null;
  nonce: Uint8Array;
  /** The leaf's subject commitments, 32 bytes each, in leaf order. */
  commitments: Uint8Array;
  created_at: CreatedAt;
}

export interface AuditLogLeafTable {
  idx: bigint;
  /** Canonical leaf bytes (packages/tlog leaf.ts). */
  leaf: Uint8Array;
  leaf_hash: Uint8Array;
  /** Perfect-subtree hashes this leaf completes, levels 1..k concatenated. */
  subtree_hashes: Uint8Array;
  event_type: number;
  created_at: CreatedAt;
}

export interface AuditLogCheckpointTable {
  tree_size: bigint;
  root_hash: Uint8Array;
  /** The signed note (checkpoint text and the log's signature), without cosignatures. */
  note: string;
  created_at: CreatedAt;
}

export interface AuditLogCosignatureTable {
  tree_size: bigint;
  witness: string;
  key_id: Uint8Array;
  signature_line: string;
  cosigned_at: Date;
  created_at: CreatedAt;
}

export interface AuditLogForkEvidenceTable {
  id: Generated<string>;
  origin: string;
  tree_size: bigint;
  note_a: string;
  note_b: string;
  detected_by: string;
  detail: ColumnType<string, string | undefined, never>;
  created_at: CreatedAt;
}

/** Exposure (migration 20261126T1000): a lender holds a subject (by resident-ID tag). */
export interface ExposureSubjectTable {
  member_id: string;
  tag: Uint8Array;
  epoch: number;
  registered_at: ColumnType<Date, Date | undefined, Date>;
}

/** One query's spending of a (querier, subject) budget; the rolling window sums these rows. */
export interface ExposureBudgetSpendTable {
  querier_id: string;
  tag: Uint8Array;
  spent_at: Date;
  units: number;
}

/** An answer kept for identical repeated queries (same querier, purpose, mode and tag set). */
export interface ExposureAnswerCacheTable {
  querier_id: string;
  /** SHA-256 over purpose, mode and the sorted tags. */
  request_key: Uint8Array;
  query_id: string;
  created_at: Date;
  /** SHA-256 of the HE public key the cached ciphertexts are encrypted under. */
  public_key_hash: Uint8Array;
  /** The answer without its ciphertexts (statuses, slot bases, counts); jsonb. */
  answer: ColumnType<unknown, string, never>;
  /** The result ciphertexts' envelopes, each prefixed by its length (u32, big-endian). */
  ciphertexts: Uint8Array;
}

/** Abuse controls (migration 20261203T0400_abuse). */
export interface ConsentAttestationTable {
  consent_id: string;
  member_id: string;
  tag: Uint8Array;
  case_commitment: Uint8Array;
  evidence_hash: Uint8Array;
  key_fingerprint: Uint8Array;
  signature: Uint8Array;
  created_at: CreatedAt;
}

export type AlertSeverity = "low" | "medium" | "high";

export interface AlertTable {
  id: Generated<string>;
  member_id: string;
  kind: string;
  severity: AlertSeverity;
  /** Deduplication: one alert per (member, kind, window), e.g. the UTC day. */
  window_key: string;
  /** Counts and ids only (jsonb), never tags or identifiers. */
  detail: ColumnType<unknown, string, never>;
  /** The audit leaf that triggered the alert (e.g. the lookup), when there is one. */
  related_leaf: bigint | null;
  /** The alert's own audit leaf. */
  audit_leaf: bigint | null;
  created_at: Date;
}

export type SanctionStep = "warn" | "throttle" | "suspend";

export interface MemberSanctionTable {
  id: Generated<string>;
  member_id: string;
  step: SanctionStep;
  alert_id: string | null;
  /** Throttles end at this instant; null for warnings and suspensions. */
  until: Date | null;
  audit_leaf: bigint | null;
  created_at: Date;
}

export interface HoneytokenTable {
  tag: Uint8Array;
  epoch: number;
  note: string;
  created_at: Date;
}

export interface ContactOptOutTable {
  tag: Uint8Array;
  epoch: number;
  request_reference: string;
  registered_at: Date;
}

export interface ExposureBookTable {
  member_id: string;
  epoch: number;
  declared_subjects: bigint;
  signature: Uint8Array;
  key_fingerprint: Uint8Array;
  declared_at: Date;
}

export interface Database {
  member: MemberTable;
  member_key: MemberKeyTable;
  member_directory_version: MemberDirectoryVersionTable;
  user: UserTable;
  role_grant: RoleGrantTable;
  user_credential: UserCredentialTable;
  audit_log_leaf: AuditLogLeafTable;
  audit_log_subject: AuditLogSubjectTable;
  audit_log_checkpoint: AuditLogCheckpointTable;
  audit_log_cosignature: AuditLogCosignatureTable;
  audit_log_fork_evidence: AuditLogForkEvidenceTable;
  publication_batch: PublicationBatchTable;
  directory_record: DirectoryRecordTable;
  consent: ConsentTable;
  consent_revision: ConsentRevisionTable;
  request_nonce: RequestNonceTable;
  quota_usage: QuotaUsageTable;
  exposure_subject: ExposureSubjectTable;
  exposure_budget_spend: ExposureBudgetSpendTable;
  exposure_answer_cache: ExposureAnswerCacheTable;
  consent_attestation: ConsentAttestationTable;
  alert: AlertTable;
  member_sanction: MemberSanctionTable;
  honeytoken: HoneytokenTable;
  contact_opt_out: ContactOptOutTable;
  exposure_book: ExposureBookTable;
  consent_root: ConsentRootTable;
  consent_proof_bundle: ConsentProofBundleTable;
}

/** A member's committed consent root (Poseidon, ADR 0050) and the audit leaf that logged it. */
export interface ConsentRootTable {
  member_id: string;
  root: Uint8Array;
  leaf_count: number;
  vkey_hash: Uint8Array;
  log_index: ColumnType<bigint, bigint, never>;
  committed_at: Date;
}

/** The consent-proof bundle (packages/zk bundle.ts, JSON text) a lookup carried, by its audit-leaf index. */
export interface ConsentProofBundleTable {
  log_index: ColumnType<bigint, bigint, never>;
  member_id: string;
  bundle: string;
  created_at: Date;
}

/** What repository functions take first: the database or an open transaction (kysely's example app). */
export type Db = Kysely<Database> | Transaction<Database>;
