/**
 * Keyed subject-tag commitments for audit leaves (ADR 0040, docs/protocol/audit-log.md §2.1).
 *
 * v1 (leaves without `subjectNonce`) committed to a tag as SHA-256(label || tag): anyone holding a tag —
 * and every member computes the same tag for the same person — could find every leaf about that person,
 * so a lender learned which of its own customers a competitor had queried (issue 15, point 2). v2:
 *
 *   memberKey   = HMAC-SHA256(K, "relink/audit/member-key/v1\n" || memberId | "network")
 *   linkKey     = HMAC-SHA256(memberKey, "relink/audit/subject-link/v1\n" || tag)
 *   commitment  = HMAC-SHA256(linkKey, "relink/audit/subject-commitment/v2\n" || nonce)
 *
 * K is the hub's audit commitment key (escrow: the hub already sees every tag it is asked about, so it
 * gains nothing; readers of the log gain nothing without it). `nonce` is 16 random bytes per leaf, stored in
 * the leaf, so two leaves about one subject carry unrelated commitments. A `linkKey` discloses exactly one
 * (member, subject) pair: with it a DPO or regulator can check the leaves of that member about that subject
 * and nothing else (HMAC as a PRF, RFC 2104; keys and labels domain-separated).
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, fromHex, toHex } from "./bytes.ts";
import type { AuditEvent } from "./leaf.ts";
import { hashLeaf, verifyInclusion } from "./merkle.ts";

const enc = new TextEncoder();
const MEMBER_KEY_DST = enc.encode("relink/audit/member-key/v1\n");
const LINK_KEY_DST = enc.encode("relink/audit/subject-link/v1\n");
const COMMITMENT_DST = enc.encode("relink/audit/subject-commitment/v2\n");
const KEY_DERIVATION_DST = enc.encode("relink/audit/commitment-key/v1\n");

export const SUBJECT_NONCE_BYTES = 16;

function cat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Derives the hub's audit commitment key from another 32-byte hub secret (the log signer's seed). */
export function deriveCommitmentKey(secret: Uint8Array): Uint8Array {
  return hmac(sha256, secret, KEY_DERIVATION_DST);
}

/** The per-member key; members' leaves are keyed apart, so a link key for one member opens no other's. */
export function memberCommitmentKey(commitmentKey: Uint8Array, memberId: string | null): Uint8Array {
  if (commitmentKey.length !== 32) throw new RangeError("audit commitment key must be 32 bytes");
  return hmac(sha256, commitmentKey, cat(MEMBER_KEY_DST, enc.encode(memberId?.toLowerCase() ?? "network")));
}

/** The (member, subject) link key: what a subject access report discloses for each member. */
export function subjectLinkKey(memberKey: Uint8Array, tag: Uint8Array): Uint8Array {
  return hmac(sha256, memberKey, cat(LINK_KEY_DST, tag));
}

/** The commitment a v2 leaf with this nonce carries for the subject of `linkKey`. */
export function keyedCommitment(linkKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== SUBJECT_NONCE_BYTES) throw new RangeError("subject nonce must be 16 bytes");
  return hmac(sha256, linkKey, cat(COMMITMENT_DST, nonce));
}

/** Position of `commitment` in a packed list of 32-byte commitments, or -1. */
export function findCommitment(packed: Uint8Array, commitment: Uint8Array): number {
  for (let i = 0, at = 0; at + 32 <= packed.length; i++, at += 32) {
    if (bytesEqual(packed.subarray(at, at + 32), commitment)) return i;
  }
  return -1;
}

/**
 * What a subject access report gives for one leaf, so that anyone can check that the leaf concerns the
 * subject without being able to test any other subject: the (member, subject) link key, the position of
 * the commitment in the leaf and, for batches committed by `subjectTagsRoot`, its RFC 9162 inclusion path.
 */
export interface SubjectEvidence {
  /** 32 bytes, hex. */
  linkKey: string;
  position: number;
  /** Hex hashes; only for leaves with `subjectTagsRoot`. */
  batchPath?: string[];
}

const HEX32 = /^[0-9a-f]{64}$/;

/** Checks that `event` (a verified leaf) commits to the subject of `evidence.linkKey`. Never throws. */
export function verifySubjectEvidence(
  event: AuditEvent,
  evidence: SubjectEvidence,
): { ok: true } | { ok: false; reason: string } {
  if (typeof evidence?.linkKey !== "string" || !HEX32.test(evidence.linkKey))
    return { ok: false, reason: "linkKey: 32 bytes of lower-case hex expected" };
  if (!Number.isSafeInteger(evidence.position) || evidence.position < 0)
    return { ok: false, reason: "position: a non-negative integer expected" };
  if (!event.subjectNonce || !/^[0-9a-f]{32}$/.test(event.subjectNonce))
    return { ok: false, reason: "the leaf has no keyed subject commitments (no subjectNonce)" };
  const c = keyedCommitment(fromHex(evidence.linkKey), fromHex(event.subjectNonce));
  if (event.subjectTagCommitments) {
    if (event.subjectTagCommitments[evidence.position] !== toHex(c))
      return { ok: false, reason: `the leaf's commitment ${evidence.position} is not the subject's` };
    return { ok: true };
  }
  if (event.subjectTagsRoot) {
    const { root, count } = event.subjectTagsRoot;
    const path = evidence.batchPath;
    if (!Array.isArray(path) || path.some((h) => typeof h !== "string" || !HEX32.test(h)))
      return { ok: false, reason: "batchPath: hex hashes expected" };
    if (evidence.position >= count) return { ok: false, reason: "position beyond the batch" };
    try {
      const ok = verifyInclusion(
        BigInt(evidence.position),
        BigInt(count),
        hashLeaf(c),
        path.map(fromHex),
        fromHex(root),
      );
      return ok ? { ok: true } : { ok: false, reason: "the subject's commitment is not in the batch root" };
    } catch (error) {
      return { ok: false, reason: `batchPath: ${(error as Error).message}` };
    }
  }
  return { ok: false, reason: "the leaf commits to no subjects" };
}
