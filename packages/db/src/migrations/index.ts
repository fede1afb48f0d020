/**
 * The ordered list of migrations. Imported statically (not read from disk) so that bundlers
 * (Next.js) and plain Node see the same set. Names are frozen: kysely records them in the database.
 */
import type { Migration, MigrationProvider } from "kysely/migration";
import * as coreIdentity from "./20261126T0700_core_identity.ts";
import * as auditLog from "./20261126T0800_audit_log.ts";
import * as directoryConsent from "./20261126T0900_directory_consent.ts";
import * as exposure from "./20261126T1000_exposure.ts";
import * as consentRevisions from "./20261203T0100_consent_revisions.ts";
import * as forkEvidenceDedup from "./20261203T0200_fork_evidence_dedup.ts";
import * as auditSubjectsDpo from "./20261203T0300_audit_subjects_dpo.ts";
import * as abuse from "./20261203T0400_abuse.ts";
import * as consentRoots from "./20261203T0500_consent_roots.ts";
import * as portalCredentials from "./20261203T0600_portal_credentials.ts";
import * as memberKeyRevokedReason from "./20261203T0700_member_key_revoked_reason.ts";
import * as memberDirectoryVersion from "./20261203T0930_member_directory_version.ts";
import * as memberKeyRevokedLost from "./20261203T0931_member_key_revoked_lost.ts";

export const migrations: Record<string, Migration> = {
  "20261126T0700_core_identity": coreIdentity,
  "20261126T0800_audit_log": auditLog,
  "20261126T0900_directory_consent": directoryConsent,
  "20261126T1000_exposure": exposure,
  "20261203T0100_consent_revisions": consentRevisions,
  "20261203T0200_fork_evidence_dedup": forkEvidenceDedup,
  "20261203T0300_audit_subjects_dpo": auditSubjectsDpo,
  "20261203T0400_abuse": abuse,
  "20261203T0500_consent_roots": consentRoots,
  "20261203T0600_portal_credentials": portalCredentials,
  "20261203T0700_member_key_revoked_reason": memberKeyRevokedReason,
  "20261203T0930_member_directory_version": memberDirectoryVersion,
  "20261203T0931_member_key_revoked_lost": memberKeyRevokedLost,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
