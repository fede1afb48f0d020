/**
 * TEST-ONLY helpers. Nothing here may be used to create production keys: the trusted dealer below holds
 * the whole OPRF key, which is exactly what the threshold design exists to avoid. Production keys come
 * from the DKG (dkg.ts).
 */
import { ristretto255 } from "@noble/curves/ed25519.js";
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
