/**
 * Signed member requests. A member node signs every request to the hub with its Ed25519 request-signing
 * key; the hub verifies the signature against the registered key, refuses timestamps outside a skew window
 * and remembers nonces for that window so a request cannot be replayed.
 *
 * The signed message is a length-prefixed list (see `lengthPrefixed`) of:
 *   "relink/v1/request", METHOD, path, SHA-256(body), timestamp (decimal ms), nonce, key fingerprint.
 * This module only builds the bytes; signing and verification live with the key owners (sdk, core).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { lengthPrefixed } from "./bytes.ts";

export const REQUEST_SIGNATURE_DST = "relink/v1/request";

export const SIGNATURE_HEADERS = {
  key: "x-relink-key",
  timestamp: "x-relink-timestamp",
  nonce: "x-relink-nonce",
  signature: "x-relink-signature",
} as const;

/** How far a request's timestamp may be from the hub's clock, either way. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
export const NONCE_BYTES = 16;

export interface SignedRequestFields {
  method: string;
  /** Path and query exactly as sent (e.g. `/trpc/directory.publish`). */
  path: string;
  bodySha256: Uint8Array;
  timestampMs: number;
  nonce: Uint8Array;
  keyFingerprint: Uint8Array;
}

export function requestSigningMessage(f: SignedRequestFields): Uint8Array {
  if (f.bodySha256.length !== 32) throw new RangeError("bodySha256 must be 32 bytes");
  if (f.nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  if (f.keyFingerprint.length !== 32) throw new RangeError("keyFingerprint must be 32 bytes");
  if (!Number.isSafeInteger(f.timestampMs) || f.timestampMs < 0) throw new RangeError("bad timestamp");
  return lengthPrefixed(
    REQUEST_SIGNATURE_DST,
    f.method.toUpperCase(),
    f.path,
    f.bodySha256,
    String(f.timestampMs),
    f.nonce,
    f.keyFingerprint,
  );
}

/**
 * How every party names a public key: SHA-256(algorithm || 0x00 || public key). Binding the algorithm
 * keeps one key's bytes from posing as a key of another kind.
 */
export function keyFingerprint(algorithm: "ed25519" | "x25519", publicKey: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(algorithm);
  const input = new Uint8Array(label.length + 1 + publicKey.length);
  input.set(label, 0);
  input.set(publicKey, label.length + 1);
  return sha256(input);
}
