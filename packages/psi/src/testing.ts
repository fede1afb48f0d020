/**
 * TEST-ONLY helpers. Nothing here may be used to create production keys: the trusted dealer below holds
 * the whole OPRF key, which is exactly what the threshold design exists to avoid. Production keys come
 * from the DKG (dkg.ts).
 */
import { ristretto255 } from "@noble/curves/ed25519.js";
import { createHmacDrbg } from "@noble/curves/utils.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Rng } from "./bytes.ts";
import { checkEpochId, type EpochId } from "./domain.ts";
import { DkgError } from "./errors.ts";
import { bigintToScalar, nobleGroup, ORDER, randomScalar, scalarToBigint } from "./group.ts";
import type { HolderKey, ThresholdPublicKeys } from "./threshold.ts";

export interface InsecureDealerOutput {
  /** The whole key k — the reason this is test-only. */
  secretKey: Uint8Array;
  keys: HolderKey[];
  publicKeys: ThresholdPublicKeys;
}

/** Shamir-splits a (given or random) key k into t-of-n shares f(1..n) with f(0) = k. TESTS ONLY. */
export function insecureTrustedDealerSplitForTestsOnly(
  e: EpochId & { threshold: number; holders: number },
  rng: Rng,
  secretKey?: Uint8Array,
): InsecureDealerOutput {
  checkEpochId(e);
  if (e.threshold < 1 || e.threshold > e.holders) throw new DkgError("threshold must be in 1..holders");
  const k = secretKey ?? randomScalar(nobleGroup, rng);
  const coeffs = [scalarToBigint(k)];
  for (let i = 1; i < e.threshold; i++) coeffs.push(scalarToBigint(randomScalar(nobleGroup, rng)));
  const keys: HolderKey[] = [];
  const publicShares = new Map<number, Uint8Array>();
  for (let i = 1; i <= e.holders; i++) {
    let y = 0n;
    for (let c = coeffs.length - 1; c >= 0; c--) y = (y * BigInt(i) + coeffs[c]!) % ORDER;
    const secretShare = bigintToScalar(y);
    const publicShare = ristretto255.Point.BASE.multiply(y).toBytes();
    publicShares.set(i, publicShare);
    keys.push({ networkId: e.networkId, epoch: e.epoch, index: i, secretShare, publicShare });
  }
  return {
    secretKey: k,
    keys,
    publicKeys: {
      networkId: e.networkId,
      epoch: e.epoch,
      threshold: e.threshold,
      groupPublicKey: nobleGroup.mulBase(k),
      publicShares,
    },
  };
}

// ------------------------------------------------------------------------------------ seeded randomness

const hmacSha256 = (key: Uint8Array, message: Uint8Array) => hmac(sha256, key, message);

/**
 * The one seeded byte source of the tests (ADR 0067): request i of `n` bytes is HMAC-DRBG (NIST SP 800-90A
 * §10.1.2 with HMAC-SHA-256, noble's `createHmacDrbg`) instantiated with `relink/test-rng/<seed>` and the
 * request counter i, so a test replays from its seed whatever else it draws. TESTS ONLY: never for keys
 * that protect anything.
 */
export function seededRng(seed: number | string): Rng {
  const base = new TextEncoder().encode(`relink/test-rng/${seed}/`);
  let request = 0;
  return (n) => {
    const material = new Uint8Array(base.length + 4);
    material.set(base);
    new DataView(material.buffer).setUint32(base.length, request++);
    return createHmacDrbg<Uint8Array>(32, n, hmacSha256)(material, (block) => block.slice(0, n));
  };
}

/** Uniform numbers in [0, 1) from seededRng(seed), 32 bits each: for random test data (books, picks). */
export function seededFloats(seed: number | string): () => number {
  const next = seededRng(seed);
  let pool: Uint8Array = new Uint8Array(0);
  let at = 0;
  return () => {
    if (at === pool.length) {
      pool = next(4096);
      at = 0;
    }
    const v = new DataView(pool.buffer, pool.byteOffset + at, 4).getUint32(0);
    at += 4;
    return v / 2 ** 32;
  };
}
