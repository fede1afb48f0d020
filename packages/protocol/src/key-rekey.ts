/**
 * Re-keying a member that lost its request-signing key (ADR 0037). No proof of possession of the old key can
 * exist, so the network administrator decides; what the administrator cannot do alone is choose the key. The
 * member makes the new key offline and signs, with it, a domain-separated statement (the key-rotation style of
 * key-rotation.ts, its own domain string):
 *
 *   "relink/v1/key-rekey", networkId, member slug, new public key (32), timestamp (decimal ms), nonce (16)
 *
 * The slug, not the member id: a member that lost its machine still knows its slug, and slugs never change.
 * The statement travels to the administrator out of band as a proof file (`rekeyProofFile`, public data), and
 * the administrator's signed `admin.rekeyMember` carries it. Without the proof an administrator (or a thief
 * of the administrator key) could bind a member to a key the member does not hold, and a member could not
 * tell its key from one made for it; with it, the key is provably the holder-of-the-proof's. The timestamp
 * bounds how long a proof file lying around stays usable (REKEY_PROOF_MAX_AGE_MS); a proof cannot be used
 * twice, since a registered key can never be registered again.
 */
import { z } from "zod";
import { lengthPrefixed, toBase64Url } from "./bytes.ts";
import { ed25519Verify } from "./ed25519.ts";
import { rotateKeyInput } from "./key-rotation.ts";
import { slug } from "./schemas.ts";
import { NONCE_BYTES } from "./signing.ts";

export const KEY_REKEY_DST = "relink/v1/key-rekey";

/** How old a re-key proof may be when the administrator submits it: delivery out of band takes days. */
export const REKEY_PROOF_MAX_AGE_MS = 14 * 86_400_000;

export interface KeyRekeyStatement {
  networkId: string;
  /** The member's slug. */
  member: string;
  newPublicKey: Uint8Array;
  timestampMs: number;
  nonce: Uint8Array;
}

/** The bytes the new key signs. */
export function keyRekeyMessage(s: KeyRekeyStatement): Uint8Array {
  if (s.newPublicKey.length !== 32) throw new RangeError("newPublicKey must be 32 bytes");
  if (s.nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  if (!Number.isSafeInteger(s.timestampMs) || s.timestampMs < 0) throw new RangeError("bad timestamp");
  return lengthPrefixed(KEY_REKEY_DST, s.networkId, s.member, s.newPublicKey, String(s.timestampMs), s.nonce);
}

export function proveRekeyPossession(
  newKey: { sign(message: Uint8Array): Uint8Array },
  s: KeyRekeyStatement,
): Uint8Array {
  return newKey.sign(keyRekeyMessage(s));
}

/** True only when `proof` is the new key's valid signature over the statement (strict RFC 8032). */
export function verifyRekeyPossession(proof: Uint8Array, s: KeyRekeyStatement): boolean {
  return proof.length === 64 && ed25519Verify(proof, keyRekeyMessage(s), s.newPublicKey);
}

export const REKEY_PROOF_KIND = "relink.key-rekey-proof/v1";

/** The file the member hands the administrator (`relink key new --offline`): public data only. */
export const rekeyProofFile = rotateKeyInput.extend({
  kind: z.literal(REKEY_PROOF_KIND),
  networkId: z.string().min(1).max(200),
  member: slug,
});
export type RekeyProofFile = z.infer<typeof rekeyProofFile>;

export function rekeyProofFileOf(s: KeyRekeyStatement, proof: Uint8Array): RekeyProofFile {
  return {
    kind: REKEY_PROOF_KIND,
    networkId: s.networkId,
    member: s.member,
    newPublicKey: toBase64Url(s.newPublicKey),
    timestampMs: s.timestampMs,
    nonce: toBase64Url(s.nonce),
    proof: toBase64Url(proof),
  };
}

/** `admin.rekeyMember` input: the member and its proof file's statement and proof. */
export const rekeyMemberInput = rotateKeyInput.extend({ slug });
export type RekeyMemberInput = z.infer<typeof rekeyMemberInput>;

export const rekeyMemberOutput = z.object({
  memberId: z.string(),
  slug,
  /** base64url fingerprints of the keys revoked (reason 'lost') and of the new key. */
  revokedFingerprints: z.array(z.string()),
  newFingerprint: z.string(),
  rekeyedAt: z.string(),
  receipt: z.unknown(),
});
export type RekeyMemberOutput = z.infer<typeof rekeyMemberOutput>;
