/**
 * The audit log as the other use cases see it (context.ts `AuditLog`): maps an AuditEventInput to a
 * canonical leaf — committing to subject tags with keyed, per-leaf-salted commitments (ADR 0040), never
 * storing them — and appends it, with its row in the subject index, in the caller's transaction; `receipt`
 * builds the offline-verifiable receipt for that leaf; `linkKey` opens one (member, subject) pair.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { type Database, insertAuditSubjects } from "@relink/db";
import {
  type AuditEvent,
  batchRoot,
  deriveCommitmentKey,
  keyedCommitment,
  memberCommitmentKey,
  SUBJECT_NONCE_BYTES,
  subjectLinkKey,
  subjectTagsRoot,
} from "@relink/tlog";
import type { Kysely, Transaction } from "kysely";
import type { AuditEventInput, AuditLog } from "../context.ts";
import { type AuditLogDeps, appendEvents, buildReceipt } from "./audit-log.ts";

async function inTransaction<T>(
  db: Kysely<Database> | Transaction<Database>,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? fn(db as Transaction<Database>) : db.transaction().execute(fn);
}

const MAX_INLINE_SUBJECTS = 64;
const MAX_INLINE_REFS = 64;

const fromHexString = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => Number.parseInt(x, 16));

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** How a leaf commits to its subjects (ADR 0040): the hub's commitment key and this leaf's random nonce. */
export interface SubjectKeying {
  commitmentKey: Uint8Array;
  nonce: Uint8Array;
}

/** The keyed commitments a leaf of `memberId` with this nonce carries for `tags`, in order. */
export function subjectCommitments(
  keying: SubjectKeying,
  memberId: string | null,
  tags: readonly Uint8Array[],
): Uint8Array[] {
  const memberKey = memberCommitmentKey(keying.commitmentKey, memberId);
  return tags.map((t) => keyedCommitment(subjectLinkKey(memberKey, t), keying.nonce));
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function consentRef(id: string): string {
  // Consent ids are UUIDs (16 bytes); anything else is committed to by its SHA-256.
  return UUID_RE.test(id) ? id.replaceAll("-", "").toLowerCase() : hex(sha256(new TextEncoder().encode(id)));
}

export function toAuditEvent(
  input: AuditEventInput,
  at: Date,
  softwareVersion: string,
  keying: SubjectKeying,
): AuditEvent {
  const e: AuditEvent = { type: input.type, time: at.getTime(), softwareVersion };
  if (input.memberId) e.member = input.memberId.toLowerCase();
  if (input.userPseudonym) e.userPseudonym = hex(input.userPseudonym);
  if (input.purpose) e.purpose = input.purpose;
  if (input.legalBasis) e.legalBasis = input.legalBasis;
  if (input.caseCommitment) e.caseCommitment = hex(input.caseCommitment);
  if (input.subjectTags && input.subjectTags.length > 0) {
    const commitments = subjectCommitments(keying, input.memberId, input.subjectTags);
    if (commitments.length <= MAX_INLINE_SUBJECTS) e.subjectTagCommitments = commitments.map(hex);
    else e.subjectTagsRoot = subjectTagsRoot(commitments);
    e.subjectNonce = hex(keying.nonce);
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

export interface AuditLogOptions {
  softwareVersion: string;
  /** The hub's audit commitment key (32 bytes); derived from the log signer's seed when not given. */
  commitmentKey?: Uint8Array;
  /** Randomness for leaf nonces; crypto.getRandomValues unless a test injects its own. */
  random?: (n: number) => Uint8Array;
}

export function createAuditLog(deps: AuditLogDeps & AuditLogOptions): AuditLog {
  const commitmentKey = deps.commitmentKey ?? deriveCommitmentKey(deps.signer.seed);
  const random = deps.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  return {
    append: async (trx, event, at) => {
      const keying = { commitmentKey, nonce: random(SUBJECT_NONCE_BYTES) };
      const e = toAuditEvent(event, at, deps.softwareVersion, keying);
      return inTransaction(trx, async (tx) => {
        const { first } = await appendEvents(tx, [e]);
        if (event.subjectTags && event.subjectTags.length > 0) {
          const commitments = subjectCommitments(keying, event.memberId, event.subjectTags);
          const packed = new Uint8Array(32 * commitments.length);
          for (const [i, c] of commitments.entries()) packed.set(c, 32 * i);
          await insertAuditSubjects(tx, {
            index: first,
            memberId: event.memberId?.toLowerCase() ?? null,
            nonce: keying.nonce,
            commitments: packed,
          });
        }
        return { index: first };
      });
    },
    receipt: (ref) => buildReceipt(deps, ref.index),
    linkKey: (memberId, tag) => subjectLinkKey(memberCommitmentKey(commitmentKey, memberId), tag),
    memberKey: (memberId) => memberCommitmentKey(commitmentKey, memberId),
  };
}
