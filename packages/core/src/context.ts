/**
 * What every use case receives. Only apps build real instances; tests pass their own clock and sinks.
 */
import type { Database } from "@relink/db";
import type { Kysely, Transaction } from "kysely";
import type { AbusePolicy } from "./abuse/policy.ts";
import type { VerifiedProofCache } from "./consent-proofs.ts";
import type { ExposureCoordinator } from "./exposure/coordinator.ts";
import type { RandomSource } from "./exposure/noise.ts";
import type { ExposurePolicy } from "./exposure/policy.ts";
import type { MemberDirectoryWatch } from "./member-directory-watch.ts";

export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** One audit event as the use cases describe it; the audit module encodes it into a log leaf. */
export interface AuditEventInput {
  type:
    | "member.onboarded"
    | "member.suspended"
    | "member.reinstated"
    | "member.key_rotated"
    | "member.rekeyed"
    | "directory.published"
    | "directory.erased"
    | "directory.purged"
    | "consent.registered"
    | "consent.revoked"
    | "lookup"
    | "denial"
    | "exposure.query"
    | "exposure.subjects_registered"
    | "exposure.subjects_unregistered"
    | "exposure.mask_key_registered"
    | "alert.raised"
    | "sanction.applied"
    | "honeytoken.planted"
    | "optout.registered"
    | "exposure.book_declared"
    | "consent.root_committed"
    | "dpo.subject_report"
    | "dpo.export";
  memberId: string | null;
  userPseudonym?: Uint8Array;
  purpose?: string;
  legalBasis?: string;
  caseCommitment?: Uint8Array;
  /** Subject tags the event concerns; the audit module commits to them, never stores them raw. */
  subjectTags?: Uint8Array[];
  /** Consent records (ids) the decision relied on. */
  consentIds?: string[];
  inputSize: number;
  outputCount: number;
  decision: { allowed: boolean; rules: string[]; reason?: string };
  requestHash?: Uint8Array;
  responseHash?: Uint8Array;
  /** consent.root_committed: the Poseidon root (32 bytes) and leaf count, and the vkey's SHA-256. */
  consentRoot?: { root: Uint8Array; count: number };
  zkVkeyHash?: Uint8Array;
  /** lookup: SHA-256 commitment to the consent-proof bundle the query carried (ADR 0050). */
  consentProofsHash?: Uint8Array;
}

export interface AuditRef {
  index: bigint;
}

/** The audit log as the use cases see it: append inside the caller's transaction, then build a receipt. */
export interface AuditLog {
  append(trx: Transaction<Database> | Kysely<Database>, event: AuditEventInput, at: Date): Promise<AuditRef>;
  receipt(ref: AuditRef): Promise<unknown>;
  /**
   * The (member, subject) link key of ADR 0040: with it, the leaves of `memberId` (null: the network's own
   * leaves) about `tag` can be recognised, and nothing else. Only DPO use cases call this.
   */
  linkKey(memberId: string | null, tag: Uint8Array): Uint8Array;
  /** The member's commitment key (link keys derive from it); given only to that member's DPO. */
  memberKey(memberId: string): Uint8Array;
}

export interface KeyHolderInfo {
  /** Shamir index of the holder's share (1..n). */
  index: number;
  url: string;
  /** The holder's public key share k_i·G for the current epoch, base64url. */
  publicShare: string;
}

export interface NetworkPolicy {
  /** Identifies the network in domain separation (tags of different networks never collide). */
  networkId: string;
  /** Current OPRF key epoch: tags of other epochs are refused. */
  epoch: number;
  /** t of the t-of-n key holders. */
  threshold: number;
  /** Directory records not seen for this many days are purged. */
  retentionDays: number;
  /** Capability a member needs to look up contacts. */
  lookupCapability: "collector";
  /** Exposure queries (k, budgets, cache, deadlines, presets); defaults in DEFAULT_EXPOSURE_POLICY. */
  exposure?: Partial<ExposurePolicy>;
  /** Abuse controls (consent vetting, quotas, alert thresholds, sanctions); defaults in DEFAULT_ABUSE_POLICY. */
  abuse?: Partial<AbusePolicy>;
  /**
   * Consent-membership proofs (ADR 0050): required of every member, the accepted query-time skew, and how far
   * ahead a proof's time may be (ADR 0049's horizon proofs; 0 = not at all, the default).
   */
  consentProofs?: { requiredForAll?: boolean; maxSkewMs?: number; maxHorizonMs?: number };
}

/** What the exposure use cases need beyond the database: the process's one round coordinator. */
export interface ExposureRuntime {
  coordinator: ExposureCoordinator;
  /** Randomness for differential-privacy noise; crypto.getRandomValues unless a test injects its own. */
  random?: RandomSource;
}

/** The epoch's key-holder set as members should use it. */
export interface KeyHolderDirectory {
  /** k·G for the epoch's OPRF key, base64url. */
  groupPublicKey: string;
  holders: KeyHolderInfo[];
}

export interface CoreDeps {
  /** Resolves the key holders' public shares (fetched from the holders and cached by the app). */
  keyHolders: () => Promise<KeyHolderDirectory>;
  db: Kysely<Database>;
  clock: () => Date;
  log: Logger;
  audit: AuditLog;
  policy: NetworkPolicy;
  /** Present when the app runs exposure queries (the hub); the exposure use cases refuse without it. */
  exposure?: ExposureRuntime;
  /** Consent-membership proofs already verified (ADR 0049); absent: every proof is verified each time. */
  verifiedProofs?: VerifiedProofCache;
  /** Present when key holders may follow the member directory by long poll (ADR 0038; the hub builds it). */
  memberDirectoryWatch?: MemberDirectoryWatch;
}
