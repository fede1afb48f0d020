/**
 * Audit-log use cases (docs/protocol/audit-log.md): append events as RFC 9162 leaves through one sequencer,
 * publish signed checkpoints and collect witness cosignatures, serve inclusion and consistency proofs, build
 * receipts, and re-verify everything stored. Storage is packages/db (repositories/audit-log.ts); hashing,
 * notes and receipts are packages/tlog. Dependencies come in as arguments; nothing here reads env or files.
 *
 * One file a concern: deps.ts (what they take), append.ts, checkpoints.ts, proofs.ts (the read side),
 * verify-stored.ts, fork-evidence.ts. This module is their public face.
 */
export { appendEvents, appendLeaves } from "./append.ts";
export {
  cosignedCheckpoint,
  createCheckpointScheduler,
  type PublishedCheckpoint,
  publishCheckpoint,
} from "./checkpoints.ts";
export type { AuditLogDeps, AuditLogger, WitnessEndpoint } from "./deps.ts";
export { recordForkEvidence } from "./fork-evidence.ts";
export {
  buildReceipt,
  getLeaf,
  latestCheckpoint,
  listLeaves,
  MAX_LEAVES_PAGE,
  proveConsistency,
  proveInclusion,
} from "./proofs.ts";
export { type StoredLogProblem, type StoredLogVerification, verifyStoredLog } from "./verify-stored.ts";
