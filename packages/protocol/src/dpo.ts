/**
 * Wire schemas of the DPO procedures (ADRs 0040–0042): subject access report (PIPL Art. 45), consent
 * replay, the regulator export slice (PIPL Art. 54–56), and the member's audit commitment key.
 */
import { z } from "zod";
import { slug, tag } from "./schemas.ts";

/** A free-text reference written by a DPO (subject request number, PIPIA id): printable, no controls. */
export const dpoReference = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, "printable characters only (no control or bidi characters)");

export const subjectReportInput = z.object({
  /** The subject's tags (one per identifier), computed by the DPO through the key holders. */
  tags: z.array(tag).min(1).max(8),
  /** The subject's request (e.g. a ticket number); committed to in the report's own audit leaf. */
  requestReference: dpoReference,
});
export type SubjectReportInput = z.infer<typeof subjectReportInput>;

const consentView = z.object({
  id: z.string(),
  reference: z.string(),
  purpose: z.string(),
  legalBasis: z.string(),
  grantedAt: z.string(),
  expiresAt: z.string(),
  registeredAt: z.string(),
  revokedAt: z.string().nullable(),
  /** "leaf": the leaf lists this consent's id; "root": the leaf commits to its references by a root. */
  listed: z.enum(["leaf", "root"]),
});

export const subjectReportEntry = z.object({
  index: z.number().int().min(0),
  event: z.string(),
  /** ISO 8601 UTC, and the same instant in China Standard Time (UTC+8). */
  time: z.string(),
  timeUtc8: z.string(),
  member: z.object({ id: z.string(), slug: z.string(), displayName: z.string() }).nullable(),
  purpose: z.string().nullable(),
  legalBasis: z.string().nullable(),
  caseCommitment: z.string().nullable(),
  decision: z.string().nullable(),
  decisionReason: z.string().nullable(),
  rules: z.array(z.string()),
  inputSize: z.number().int().nullable(),
  outputCount: z.number().int().nullable(),
  consents: z.array(consentView),
  /** Which of the request's tags (by position) the leaf concerns, and the evidence that it does. */
  subject: z.object({
    tagIndex: z.number().int().min(0),
    linkKey: z.string(),
    position: z.number().int().min(0),
    batchPath: z.array(z.string()).optional(),
  }),
  receipt: z.unknown(),
});
export type SubjectReportEntry = z.infer<typeof subjectReportEntry>;

export const SUBJECT_REPORT_FORMAT = "relink-subject-report/v1";

export const subjectReport = z.object({
  format: z.literal(SUBJECT_REPORT_FORMAT),
  generatedAt: z.string(),
  scope: z.union([z.object({ kind: z.literal("member"), slug }), z.object({ kind: z.literal("network") })]),
  requestReference: z.string(),
  tags: z.number().int(),
  entries: z.array(subjectReportEntry),
  /** The receipt of the report's own audit leaf (`dpo.subject_report`). */
  reportReceipt: z.unknown(),
});
export type SubjectReport = z.infer<typeof subjectReport>;

export const consentReplayInput = z.object({ index: z.number().int().min(0) });

export const consentReplaySubject = z.object({
  /** Position of the subject's commitment in the queried leaf. */
  position: z.number().int().min(0),
  consentId: z.string(),
  reference: z.string(),
  /** The consent record's version in force at the query's time (1 = as first registered). */
  revision: z.number().int().min(1),
  purpose: z.string(),
  legalBasis: z.string(),
  grantedAt: z.string(),
  expiresAt: z.string(),
  registeredAt: z.string(),
  revokedAt: z.string().nullable(),
  coveredAtQueryTime: z.boolean(),
  /** Why not, when not: registered_after, not_yet_granted, expired, revoked_before, other_purpose, other_category. */
  reasons: z.array(z.string()),
  /** Whether the hub listed this consent in the leaf when it decided (inline references only). */
  listedInLeaf: z.boolean().nullable(),
  subject: z.object({ linkKey: z.string(), batchPath: z.array(z.string()).optional() }),
});

export const consentReplayOutput = z.object({
  index: z.number().int(),
  event: z.string(),
  time: z.string(),
  timeUtc8: z.string(),
  member: z.object({ id: z.string(), slug: z.string(), displayName: z.string() }).nullable(),
  purpose: z.string().nullable(),
  /** Subjects in the query. */
  subjects: z.number().int(),
  /** Subjects a consent record of the member covered at query time. */
  covered: z.number().int(),
  /** Every consent record of the member for a subject of the query, judged at the query's time. */
  consents: z.array(consentReplaySubject),
  /** True when the leaf's own consent list (inline) agrees with the replay. */
  consistentWithLeaf: z.boolean().nullable(),
  receipt: z.unknown(),
});
export type ConsentReplay = z.infer<typeof consentReplayOutput>;

export const exportSliceInput = z.object({
  /** Leaves with from ≤ index < to (to defaults to the latest checkpoint's size). */
  from: z.number().int().min(0),
  to: z.number().int().min(1).optional(),
  /** The member's personal-information protection impact assessment (PIPL Art. 55–56) reference. */
  pipiaReference: dpoReference,
});

export const exportSliceOutput = z.object({
  scope: z.union([z.object({ kind: z.literal("member"), slug }), z.object({ kind: z.literal("network") })]),
  from: z.number().int(),
  to: z.number().int(),
  /** The signed checkpoint (with cosignatures) the proofs are against: its size is `to`. */
  checkpoint: z.string(),
  /** Earlier checkpoints within the slice, each with a consistency proof to `checkpoint`. */
  history: z.array(z.object({ checkpoint: z.string(), consistencyProof: z.array(z.string()) })),
  /** Leaves in scope, each with its inclusion proof against `checkpoint` (base64). */
  leaves: z.array(
    z.object({ index: z.number().int(), leaf: z.string(), inclusionProof: z.array(z.string()) }),
  ),
  /** Consent records the leaves reference (the member's own, or all for the network). */
  consents: z.array(
    z.object({
      id: z.string(),
      member: z.string(),
      reference: z.string(),
      purpose: z.string(),
      legalBasis: z.string(),
      dataCategories: z.array(z.string()),
      grantedAt: z.string(),
      expiresAt: z.string(),
      registeredAt: z.string(),
      revokedAt: z.string().nullable(),
      evidenceSha256: z.string(),
    }),
  ),
  members: z.array(z.object({ id: z.string(), slug: z.string(), displayName: z.string() })),
  /** The export's own audit leaf (`dpo.export`) and its receipt. */
  exportReceipt: z.unknown(),
});
export type ExportSlice = z.infer<typeof exportSliceOutput>;

export const memberCommitmentKeyOutput = z.object({ memberId: z.string(), key: z.string() });
