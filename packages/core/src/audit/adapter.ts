/**
 * The audit log as the other use cases see it (context.ts `AuditLog`): maps an AuditEventInput to a
 * canonical leaf — committing to subject tags, never storing them — and appends it in the caller's
 * transaction; `receipt` builds the offline-verifiable receipt for that leaf.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { AuditEvent } from "@relink/tlog";
import { batchRoot, subjectTagsRoot } from "@relink/tlog";
import type { AuditEventInput, AuditLog } from "../context.ts";
import { type AuditLogDeps, appendEvents, buildReceipt } from "./audit-log.ts";

/** Domain separation for subject-tag commitments in leaves (docs/protocol/audit-log.md §Commitments). */
const SUBJECT_TAG_DOMAIN = new TextEncoder().encode("relink/audit/subject-tag/v1\n");
const MAX_INLINE_SUBJECTS = 64;
const MAX_INLINE_REFS = 64;

const fromHexString = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => Number.parseInt(x, 16));

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** SHA-256(domain || tag): lets a DPO who holds a tag find the leaves about it; reveals nothing else. */
export function subjectTagCommitment(tag: Uint8Array): Uint8Array {
  const buf = new Uint8Array(SUBJECT_TAG_DOMAIN.length + tag.length);
  buf.set(SUBJECT_TAG_DOMAIN);
  buf.set(tag, SUBJECT_TAG_DOMAIN.length);
  return sha256(buf);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function consentRef(id: string): string {
  // Consent ids are UUIDs (16 bytes); anything else is committed to by its SHA-256.
  return UUID_RE.test(id) ? id.replaceAll("-", "").toLowerCase() : hex(sha256(new TextEncoder().encode(id)));
}

export function toAuditEvent(input: AuditEventInput, at: Date, softwareVersion: string): AuditEvent {
  const e: AuditEvent = { type: input.type, time: at.getTime(), softwareVersion };
  if (input.memberId) e.member = input.memberId.toLowerCase();
  if (input.userPseudonym) e.userPseudonym = hex(input.userPseudonym);
  if (input.purpose) e.purpose = input.purpose;
  if (input.legalBasis) e.legalBasis = input.legalBasis;
  if (input.caseCommitment) e.caseCommitment = hex(input.caseCommitment);
  if (input.subjectTags && input.subjectTags.length > 0) {
    const commitments = input.subjectTags.map(subjectTagCommitment);
    if (commitments.length <= MAX_INLINE_SUBJECTS) e.subjectTagCommitments = commitments.map(hex);
    else e.subjectTagsRoot = subjectTagsRoot(commitments);
  }
  if (input.consentIds && input.consentIds.length > 0) {
    const refs = input.consentIds.map(consentRef);
    if (refs.length <= MAX_INLINE_REFS) e.consentRefs = refs;
    else e.consentRefsRoot = batchRoot(refs.map(fromHexString));
  }
  e.inputSize = input.inputSize;
  e.outputCount = input.outputCount;
  e.decision = input.decision.allowed ? "allow" : "deny";
  if (input.decision.rules.length > 0) e.ruleIds = input.decision.rules;
  if (input.decision.reason) e.decisionReason = input.decision.reason;
  if (input.requestHash) e.requestHash = hex(input.requestHash);
  if (input.responseHash) e.responseHash = hex(input.responseHash);
  if (input.consentRoot)
    e.consentRoot = { root: hex(input.consentRoot.root), count: input.consentRoot.count };
  if (input.zkVkeyHash) e.zkVkeyHash = hex(input.zkVkeyHash);
  if (input.consentProofsHash) e.consentProofsHash = hex(input.consentProofsHash);
  return e;
}

export function createAuditLog(deps: AuditLogDeps & { softwareVersion: string }): AuditLog {
  return {
    append: async (trx, event, at) => {
      const { first } = await appendEvents(trx, [toAuditEvent(event, at, deps.softwareVersion)]);
      return { index: first };
    },
    receipt: (ref) => buildReceipt(deps, ref.index),
  };
}
