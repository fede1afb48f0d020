/**
 * Signed consent attestations (threat T1: self-declared consent). With each consent record the member
 * signs, with its Ed25519 request-signing key (RFC 8032), a statement binding its case, the subject's tag
 * (as a commitment), the purpose, legal basis, categories, validity and the hash of the evidence document
 * it keeps. The hub stores the signature next to the consent: a DPO or regulator can later hold the member
 * to it, and a consent can no longer be "a hash of nothing" typed in by whoever holds the API.
 *
 * Message: `lengthPrefixed` of
 *   "relink/v1/consent-attestation", networkId, memberId, reference, SHA-256("relink/v1/consent-tag" ‖ tag),
 *   purpose, legalBasis, sorted categories joined by ",", grantedAt and expiresAt (decimal Unix ms),
 *   evidenceHash (32 bytes), caseCommitment (32 bytes).
 * What it does not prove: that the evidence exists or says what the member claims — only an audit of the
 * member's files can (the hub refuses evidence hashes that cannot be real: see core consent-policy.ts).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64Url, lengthPrefixed, toBase64Url } from "./bytes.ts";
import type { ConsentRecord } from "./schemas.ts";

export const CONSENT_ATTESTATION_DST = "relink/v1/consent-attestation";
const TAG_COMMITMENT_DST = new TextEncoder().encode("relink/v1/consent-tag");
const CASE_DST = "relink/v1/consent-case\n";

export type UnsignedConsentRecord = Omit<ConsentRecord, "attestation">;

export interface AttestationContext {
  networkId: string;
  /** The member's id at the hub (uuid). */
  memberId: string;
}

export function consentTagCommitment(tag: Uint8Array): Uint8Array {
  const buf = new Uint8Array(TAG_COMMITMENT_DST.length + tag.length);
  buf.set(TAG_COMMITMENT_DST);
  buf.set(tag, TAG_COMMITMENT_DST.length);
  return sha256(buf);
}

/** HMAC-SHA256 of the member's case id under a member secret: the hub cannot test guesses of case ids. */
export function consentCaseCommitment(caseKey: Uint8Array, caseId: string): Uint8Array {
  if (caseKey.length < 32) throw new RangeError("caseKey must be at least 32 bytes");
  return hmac(sha256, caseKey, new TextEncoder().encode(`${CASE_DST}${caseId}`));
}

export function consentAttestationMessage(ctx: AttestationContext, r: UnsignedConsentRecord): Uint8Array {
  return lengthPrefixed(
    CONSENT_ATTESTATION_DST,
    ctx.networkId,
    ctx.memberId.toLowerCase(),
    r.reference,
    consentTagCommitment(fromBase64Url(r.tag)),
    r.purpose,
    r.legalBasis,
    [...r.dataCategories].sort().join(","),
    String(Date.parse(r.grantedAt)),
    String(Date.parse(r.expiresAt)),
    fromBase64Url(r.evidenceHash),
    fromBase64Url(r.caseCommitment),
  );
}

/**
 * Signs a consent record with the member's request-signing key — its secret key, or a signing function
 * (the SDK's RequestSigner) — and returns the complete record.
 */
export function attestConsent(
  key: Uint8Array | ((message: Uint8Array) => Uint8Array),
  ctx: AttestationContext,
  r: UnsignedConsentRecord,
): ConsentRecord {
  const message = consentAttestationMessage(ctx, r);
  const signature = typeof key === "function" ? key(message) : ed25519.sign(message, key);
  return { ...r, attestation: toBase64Url(signature) };
}

/** True when `r.attestation` is the member's signature over the record (malformed input: false). */
export function verifyConsentAttestation(
  publicKey: Uint8Array,
  ctx: AttestationContext,
  r: ConsentRecord,
): boolean {
  try {
    const { attestation, ...rest } = r;
    return ed25519.verify(fromBase64Url(attestation), consentAttestationMessage(ctx, rest), publicKey);
  } catch {
    return false;
  }
}

/** As attestConsent, with a signer that may be asynchronous (a browser's WebCrypto, the SDK's RequestSigner). */
export async function attestConsentWith(
  sign: (message: Uint8Array) => Uint8Array | Promise<Uint8Array>,
  ctx: AttestationContext,
  r: UnsignedConsentRecord,
): Promise<ConsentRecord> {
  const signature = await sign(consentAttestationMessage(ctx, r));
  return { ...r, attestation: toBase64Url(signature) };
}
