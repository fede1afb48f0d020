/**
 * Sealing a DKG round-2 share to its recipient: a simplified HPKE-style single-shot seal, modelled on
 * RFC 9180 (HPKE) base mode with DHKEM(X25519):
 *
 *   sender   e ← random X25519 secret, enc = X25519(e, 9)                        (RFC 7748 §6.1)
 *            dh = X25519(e, pkR); refuse the all-zero output (low-order pkR)      (RFC 7748 §6.1, RFC 9180 §7.1.4)
 *            key || nonce = HKDF-SHA256(salt = enc || pkR, IKM = dh,
 *                                       info = "relink/v1/keyholder/seal", L = 32 + 24)   (RFC 5869)
 *            ct = XChaCha20-Poly1305(key, nonce, aad, share)    (draft-irtf-cfrg-xchacha; RFC 8439 AEAD)
 *   recipient dh = X25519(skR, enc), same derivation, open.
 *
 * Differences from RFC 9180, deliberately small: no suite-labelled Extract/Expand, XChaCha20-Poly1305 (not
 * an HPKE-registered AEAD) and one message per ephemeral key, so the nonce comes from the key schedule.
 * `enc || pkR` in the salt plays the role of HPKE's kem_context. The associated data binds sender,
 * recipient, network, epoch, the network-config digest and the round-1 transcript (see dkg-wire.ts), so a
 * sealed share cannot be replayed to another holder, epoch or ceremony. Sender authentication is not
 * HPKE's Auth mode but the sender's Ed25519 signature over the whole sealed envelope (dkg-wire.ts).
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

export const SEAL_INFO = new TextEncoder().encode("relink/v1/keyholder/seal");
export const ENC_BYTES = 32;
const KEY_BYTES = 32;
const NONCE_BYTES = 24;

export class SealOpenError extends Error {
  override readonly name = "SealOpenError";
}

export interface Sealed {
  /** The ephemeral X25519 public key (HPKE's `enc`). */
  encapsulatedKey: Uint8Array;
  ciphertext: Uint8Array;
}

function keySchedule(dh: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array) {
  let zero = 0;
  for (const b of dh) zero |= b;
  if (zero === 0) throw new SealOpenError("X25519 output is all-zero (low-order public key)");
  const salt = new Uint8Array(enc.length + recipientPublicKey.length);
  salt.set(enc, 0);
  salt.set(recipientPublicKey, enc.length);
  const okm = hkdf(sha256, dh, salt, SEAL_INFO, KEY_BYTES + NONCE_BYTES);
  return { key: okm.slice(0, KEY_BYTES), nonce: okm.slice(KEY_BYTES) };
}

function sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch (error) {
    throw new SealOpenError(`X25519: ${(error as Error).message}`);
  }
}

export function seal(recipientPublicKey: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Sealed {
  if (recipientPublicKey.length !== 32) throw new SealOpenError("recipient key must be 32 bytes");
  const ephemeral = x25519.utils.randomSecretKey();
  const encapsulatedKey = x25519.getPublicKey(ephemeral);
  const { key, nonce } = keySchedule(
    sharedSecret(ephemeral, recipientPublicKey),
    encapsulatedKey,
    recipientPublicKey,
  );
  return { encapsulatedKey, ciphertext: xchacha20poly1305(key, nonce, aad).encrypt(plaintext) };
}

/** Opens a sealed message; any tampering with enc, ciphertext or associated data throws SealOpenError. */
export function open(
  recipientSecretKey: Uint8Array,
  recipientPublicKey: Uint8Array,
  aad: Uint8Array,
  sealed: Sealed,
): Uint8Array {
  if (sealed.encapsulatedKey.length !== ENC_BYTES)
    throw new SealOpenError("encapsulated key must be 32 bytes");
  const { key, nonce } = keySchedule(
    sharedSecret(recipientSecretKey, sealed.encapsulatedKey),
    sealed.encapsulatedKey,
    recipientPublicKey,
  );
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(sealed.ciphertext);
  } catch {
    throw new SealOpenError("sealed share failed authentication");
  }
}
