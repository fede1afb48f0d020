/**
 * The holder's key material for one epoch, in `<data-dir>/epochs/<networkId>/<epoch>/`:
 *   share.json        (0600) this holder's HolderKey: index, secret share k_i, public share k_i·G
 *   public-keys.json  (0644) the epoch's ThresholdPublicKeys: threshold, k·G, every k_l·G, config digest
 * Written once at the end of the DKG (atomically: temporary file, fsync, rename); read on every start.
 */
import { join } from "node:path";
import { bytes, bytesEqual, fromBase64Url, networkId, toBase64Url } from "@relink/protocol";
import { type HolderKey, nobleGroup, type ThresholdPublicKeys } from "@relink/psi";
import { z } from "zod";
import { PUBLIC_FILE_MODE, readJsonIfExists, SECRET_FILE_MODE, writeJsonAtomic } from "./files.ts";

export const SHARE_FILE = "share.json";
export const PUBLIC_KEYS_FILE = "public-keys.json";

const epochNumber = z.number().int().min(0).max(0xffffffff);

const shareFile = z.object({
  version: z.literal(1),
  networkId,
  epoch: epochNumber,
  index: z.number().int().min(1).max(255),
  secretShare: bytes(32, "secretShare"),
  publicShare: bytes(32, "publicShare"),
});

const publicKeysFile = z.object({
  version: z.literal(1),
  networkId,
  epoch: epochNumber,
  threshold: z.number().int().min(2),
  configDigest: bytes(32, "configDigest"),
  groupPublicKey: bytes(32, "groupPublicKey"),
  publicShares: z.array(
    z.object({ index: z.number().int().min(1).max(255), publicShare: bytes(32, "publicShare") }),
  ),
});

export interface StoredEpoch {
  key: HolderKey;
  publicKeys: ThresholdPublicKeys;
  configDigest: Uint8Array;
}

export function epochDir(dataDir: string, e: { networkId: string; epoch: number }): string {
  return join(dataDir, "epochs", e.networkId, String(e.epoch));
}

export function saveEpoch(dataDir: string, stored: StoredEpoch): void {
  const dir = epochDir(dataDir, stored.key);
  const { key, publicKeys } = stored;
  // Public keys first: a share without them is useless, public keys without a share are harmless.
  writeJsonAtomic(
    join(dir, PUBLIC_KEYS_FILE),
    {
      version: 1,
      networkId: publicKeys.networkId,
      epoch: publicKeys.epoch,
      threshold: publicKeys.threshold,
      configDigest: toBase64Url(stored.configDigest),
      groupPublicKey: toBase64Url(publicKeys.groupPublicKey),
      publicShares: [...publicKeys.publicShares]
        .sort(([a], [b]) => a - b)
        .map(([index, pk]) => ({ index, publicShare: toBase64Url(pk) })),
    },
    PUBLIC_FILE_MODE,
  );
  writeJsonAtomic(
    join(dir, SHARE_FILE),
    {
      version: 1,
      networkId: key.networkId,
      epoch: key.epoch,
      index: key.index,
      secretShare: toBase64Url(key.secretShare),
      publicShare: toBase64Url(key.publicShare),
    },
    SECRET_FILE_MODE,
  );
}

/** The stored key of this epoch, undefined if the DKG has not completed here; throws on inconsistency. */
export function loadEpoch(dataDir: string, e: { networkId: string; epoch: number }): StoredEpoch | undefined {
  const dir = epochDir(dataDir, e);
  const shareJson = readJsonIfExists(join(dir, SHARE_FILE));
  if (shareJson === undefined) return undefined;
  const pubJson = readJsonIfExists(join(dir, PUBLIC_KEYS_FILE));
  if (pubJson === undefined) throw new Error(`${dir}: ${SHARE_FILE} without ${PUBLIC_KEYS_FILE}`);
  const s = shareFile.safeParse(shareJson);
  if (!s.success) throw new Error(`${join(dir, SHARE_FILE)}: ${s.error.issues[0]!.message}`);
  const p = publicKeysFile.safeParse(pubJson);
  if (!p.success) throw new Error(`${join(dir, PUBLIC_KEYS_FILE)}: ${p.error.issues[0]!.message}`);
  const key: HolderKey = {
    networkId: s.data.networkId,
    epoch: s.data.epoch,
    index: s.data.index,
    secretShare: fromBase64Url(s.data.secretShare),
    publicShare: fromBase64Url(s.data.publicShare),
  };
  const publicShares = new Map(
    p.data.publicShares.map((x) => [x.index, fromBase64Url(x.publicShare)] as const),
  );
  const publicKeys: ThresholdPublicKeys = {
    networkId: p.data.networkId,
    epoch: p.data.epoch,
    threshold: p.data.threshold,
    groupPublicKey: fromBase64Url(p.data.groupPublicKey),
    publicShares,
  };
  if (
    key.networkId !== e.networkId ||
    key.epoch !== e.epoch ||
    publicKeys.networkId !== e.networkId ||
    publicKeys.epoch !== e.epoch
  ) {
    throw new Error(`${dir}: stored key belongs to another network or epoch`);
  }
  // The share must match its public share, and the public share must be the one every client will use.
  const derived = nobleGroup.mulBase(key.secretShare);
  const listed = publicShares.get(key.index);
  if (!bytesEqual(derived, key.publicShare) || !listed || !bytesEqual(listed, key.publicShare)) {
    throw new Error(`${dir}: secret share does not match its public share`);
  }
  return { key, publicKeys, configDigest: fromBase64Url(p.data.configDigest) };
}
