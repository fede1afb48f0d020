/**
 * The symmetric primitives behind tags, label keys, sealed labels and the SDK's record ids (ADR 0043):
 * HMAC (RFC 2104) over SHA-256 and SHA-512, and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §2 on
 * RFC 8439 §2.8). Two interchangeable backends with byte-identical output:
 *
 * - {@link nobleSymmetric} (default): @noble/hashes and @noble/ciphers, pure JS — the browser path;
 * - {@link loadSodiumSymmetric}: libsodium 1.0.x compiled to WASM (libsodium-wrappers-sumo, which psi
 *   already loads for its group) — ≈ 10 × faster per call in Node, chosen by the apps for bulk work.
 *
 * node:crypto was measured and not chosen: its per-call object set-up (createHmac, createCipheriv on
 * OpenSSL 3) costs more than noble's whole computation for these 32–200-byte inputs (ADR 0043).
 *
 * Tests compare the backends on random inputs and check both on external vectors (test/vectors/symmetric).
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import sodium from "libsodium-wrappers-sumo";
import { concat } from "./bytes.ts";

export interface SymmetricCrypto {
  readonly name: "noble" | "sodium";
  hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array;
  hmacSha512(key: Uint8Array, message: Uint8Array): Uint8Array;
  /** XChaCha20-Poly1305 with a 32-byte key and 24-byte nonce: ciphertext || 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The inverse of {@link seal}; throws (any Error) when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Uint8Array;
}

export const nobleSymmetric: SymmetricCrypto = {
  name: "noble",
  hmacSha256: (key, message) => hmac(sha256, key, message),
  hmacSha512: (key, message) => hmac(sha512, key, message),
  seal: (key, nonce, ad, plaintext) => xchacha20poly1305(key, nonce, ad).encrypt(plaintext),
  open: (key, nonce, ad, sealed) => xchacha20poly1305(key, nonce, ad).decrypt(sealed),
};

/**
 * RFC 5869 HKDF with HMAC-SHA512 for outputs of at most 64 bytes (one expand block), with one extract
 * shared by every `info`: the same bytes as `hkdf(sha512, ikm, salt, info, length)` once per info.
 */
export function hkdfSha512(
  sym: SymmetricCrypto,
  ikm: Uint8Array,
  salt: Uint8Array,
  infos: readonly Uint8Array[],
  length: number,
): Uint8Array[] {
  if (!Number.isInteger(length) || length < 1 || length > 64) throw new RangeError("HKDF: 1..64 bytes");
  // RFC 5869 §2.2: an absent salt is HashLen zero bytes (HMAC pads short keys with zeros anyway).
  const prk = sym.hmacSha512(salt.length === 0 ? new Uint8Array(64) : salt, ikm);
  return infos.map((info) => sym.hmacSha512(prk, concat(info, ONE)).slice(0, length));
}
const ONE = new Uint8Array([1]);

interface Sodium {
  ready: Promise<void>;
  crypto_hash_sha256(m: Uint8Array): Uint8Array;
  crypto_auth_hmacsha256(m: Uint8Array, key: Uint8Array): Uint8Array;
  crypto_hash_sha512(m: Uint8Array): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    m: Uint8Array,
    ad: Uint8Array,
    nsec: null,
    nonce: Uint8Array,
    key: Uint8Array,
  ): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): Uint8Array;
}

/**
 * HMAC (RFC 2104 §2) from one-shot hashes: H((K' ⊕ opad) || H((K' ⊕ ipad) || m)), K' = the key padded
 * with zeros to the block size, or its hash if longer. One WASM call per hash instead of the
 * init/update/final state objects, which cost more than the hashing for short messages.
 */
function hmacFrom(hash: (m: Uint8Array) => Uint8Array, block: number, out: number) {
  return (key: Uint8Array, message: Uint8Array): Uint8Array => {
    const k = key.length > block ? hash(key) : key;
    const inner = new Uint8Array(block + message.length);
    const outer = new Uint8Array(block + out);
    inner.fill(0x36, 0, block);
    outer.fill(0x5c, 0, block);
    for (let i = 0; i < k.length; i++) {
      inner[i] = k[i]! ^ 0x36;
      outer[i] = k[i]! ^ 0x5c;
    }
    inner.set(message, block);
    outer.set(hash(inner), block);
    const mac = hash(outer);
    inner.fill(0, 0, block);
    outer.fill(0, 0, block);
    return mac;
  };
}

let sodiumSymmetric: Promise<SymmetricCrypto> | undefined;

/** libsodium WASM backend (loaded once per thread). */
export function loadSodiumSymmetric(): Promise<SymmetricCrypto> {
  sodiumSymmetric ??= (async () => {
    const s = sodium as unknown as Sodium;
    await s.ready;
    const KEY = 32;
    const NONCE = 24;
    const check = (key: Uint8Array, nonce: Uint8Array) => {
      if (key.length !== KEY) throw new RangeError("XChaCha20-Poly1305: expected a 32-byte key");
      if (nonce.length !== NONCE) throw new RangeError("XChaCha20-Poly1305: expected a 24-byte nonce");
    };
    const hmacSha256 = hmacFrom((m) => s.crypto_hash_sha256(m), 64, 32);
    return {
      name: "sodium",
      // libsodium's own HMAC-SHA256 takes exactly 32-byte keys (the record and label keys): one call.
      hmacSha256: (key, message) =>
        key.length === 32 ? s.crypto_auth_hmacsha256(message, key) : hmacSha256(key, message),
      hmacSha512: hmacFrom((m) => s.crypto_hash_sha512(m), 128, 64),
      seal(key, nonce, ad, plaintext) {
        check(key, nonce);
        return s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
      },
      open(key, nonce, ad, sealed) {
        check(key, nonce);
        return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key);
      },
    } satisfies SymmetricCrypto;
  })();
  return sodiumSymmetric;
}
