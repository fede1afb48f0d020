/**
 * Request-signing key rotation (ADR 0068). The member signs the rotation request with its current key as any
 * other request (signing.ts); inside it the new key proves possession of itself: an Ed25519 signature by the
 * NEW key over a domain-separated statement naming the network, the member, the key being replaced (its
 * fingerprint) and the new public key, with a timestamp and a fresh nonce. The statement is a length-prefixed
 * list (bytes.ts `lengthPrefixed`, as request signing), so no field can run into the next:
 *
 *   "relink/v1/key-rotation", networkId, memberId, old key fingerprint (32), new public key (32),
 *   timestamp (decimal ms), nonce (16)
 *
 * Without the proof, a holder of the old key (a thief) could move the member onto a key someone else holds
 * — or onto a key of another member, to confuse attribution; with it, only a party holding both keys can
 * rotate. The statement names the old key, so a proof cannot be replayed once that key is revoked.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { z } from "zod";
import { fromBase64Url, lengthPrefixed, toBase64Url } from "./bytes.ts";
import { ed25519Verify } from "./ed25519.ts";
import { bytes } from "./schemas.ts";
import { NONCE_BYTES } from "./signing.ts";

export const KEY_ROTATION_DST = "relink/v1/key-rotation";
/**
 * A member DPO's key rotation (ADR 0037): the same statement under its own domain string, so a proof made for
 * one kind of key can never rotate the other.
 */
export const DPO_KEY_ROTATION_DST = "relink/v1/dpo-key-rotation";
export type KeyRotationDst = typeof KEY_ROTATION_DST | typeof DPO_KEY_ROTATION_DST;

export interface KeyRotationStatement {
  networkId: string;
  memberId: string;
  oldKeyFingerprint: Uint8Array;
  newPublicKey: Uint8Array;
  timestampMs: number;
  nonce: Uint8Array;
}

/** The bytes the new key signs (`dst`: the request-signing key's domain string unless a DPO key rotates). */
export function keyRotationMessage(
  s: KeyRotationStatement,
  dst: KeyRotationDst = KEY_ROTATION_DST,
): Uint8Array {
  if (s.oldKeyFingerprint.length !== 32) throw new RangeError("oldKeyFingerprint must be 32 bytes");
  if (s.newPublicKey.length !== 32) throw new RangeError("newPublicKey must be 32 bytes");
  if (s.nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  if (!Number.isSafeInteger(s.timestampMs) || s.timestampMs < 0) throw new RangeError("bad timestamp");
  return lengthPrefixed(
    dst,
    s.networkId,
    s.memberId,
    s.oldKeyFingerprint,
    s.newPublicKey,
    String(s.timestampMs),
    s.nonce,
  );
}

/** The proof of possession: the new key's signature over the statement. */
export function proveKeyPossession(
  newKey: { sign(message: Uint8Array): Uint8Array },
  s: KeyRotationStatement,
  dst: KeyRotationDst = KEY_ROTATION_DST,
): Uint8Array {
  return newKey.sign(keyRotationMessage(s, dst));
}

/** The wire input of a rotation: the statement's new key, time and nonce, and the proof over it. */
export function rotateKeyRequest(s: KeyRotationStatement, proof: Uint8Array): RotateKeyInput {
  return {
    newPublicKey: toBase64Url(s.newPublicKey),
    timestampMs: s.timestampMs,
    nonce: toBase64Url(s.nonce),
    proof: toBase64Url(proof),
  };
}

/** True only when `proof` is the new key's valid signature over the statement (strict RFC 8032). */
export function verifyKeyPossession(
  proof: Uint8Array,
  s: KeyRotationStatement,
  dst: KeyRotationDst = KEY_ROTATION_DST,
): boolean {
  return proof.length === 64 && ed25519Verify(proof, keyRotationMessage(s, dst), s.newPublicKey);
}

/** `member.rotateKey` input: the new key, the statement's timestamp and nonce, and the proof (base64url). */
export const rotateKeyInput = z.object({
  newPublicKey: z.string().max(64),
  timestampMs: z.number().int().min(0),
  nonce: bytes(NONCE_BYTES, "nonce"),
  proof: z.string().max(128),
});
export type RotateKeyInput = z.infer<typeof rotateKeyInput>;

export const rotateKeyOutput = z.object({
  memberId: z.string(),
  /** base64url fingerprints of the revoked and the new key. */
  oldFingerprint: z.string(),
  newFingerprint: z.string(),
  rotatedAt: z.string(),
  receipt: z.unknown(),
});
export type RotateKeyOutput = z.infer<typeof rotateKeyOutput>;

/**
 * Whether 32 bytes are a usable Ed25519 public key: a canonical encoding (RFC 8032 §5.1.3, strict) of a
 * point on the curve that is not of small order (a small-order key verifies forged signatures).
 */
export function isUsableEd25519PublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  try {
    const p = ed25519.Point.fromBytes(publicKey, false);
    p.assertValidity();
    return !p.isSmallOrder();
  } catch {
    return false;
  }
}

/** Decodes base64url, or undefined when it is not. */
export function tryBase64Url(text: string): Uint8Array | undefined {
  try {
    return fromBase64Url(text);
  } catch {
    return undefined;
  }
}
