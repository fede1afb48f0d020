/**
 * The network configuration every holder of one epoch is started with (same file for all of them):
 *   { networkId, epoch, threshold, holders: [{ index, url, identityPublicKey, encryptionPublicKey }] }
 * Indices are exactly 1..n (the DKG's participant identifiers); keys are unpadded base64url.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytes, epoch, fromBase64Url, lengthPrefixed, networkId } from "@relink/protocol";
import { z } from "zod";
import { readJsonIfExists } from "./files.ts";

export const holderEntry = z.object({
  index: z.number().int().min(1).max(255),
  url: z.url({ protocol: /^https?$/ }),
  /** Ed25519 public key that signs this holder's DKG messages. */
  identityPublicKey: bytes(32, "identityPublicKey"),
  /** X25519 public key that round-2 shares to this holder are sealed to. */
  encryptionPublicKey: bytes(32, "encryptionPublicKey"),
});

export const networkConfigSchema = z
  .object({
    networkId,
    epoch,
    threshold: z.number().int().min(2),
    holders: z.array(holderEntry).min(2).max(255),
  })
  .superRefine((c, ctx) => {
    const indices = c.holders.map((h) => h.index).sort((a, b) => a - b);
    if (indices.some((i, k) => i !== k + 1)) {
      ctx.addIssue({ code: "custom", path: ["holders"], message: "holder indices must be exactly 1..n" });
    }
    if (c.threshold > c.holders.length) {
      ctx.addIssue({
        code: "custom",
        path: ["threshold"],
        message: "threshold exceeds the number of holders",
      });
    }
    for (const field of ["identityPublicKey", "encryptionPublicKey"] as const) {
      if (new Set(c.holders.map((h) => h[field])).size !== c.holders.length) {
        ctx.addIssue({ code: "custom", path: ["holders"], message: `two holders share an ${field}` });
      }
    }
  });

export type NetworkConfigWire = z.infer<typeof networkConfigSchema>;

export interface HolderPeer {
  index: number;
  url: string;
  identityPublicKey: Uint8Array;
  encryptionPublicKey: Uint8Array;
}

export interface NetworkConfig {
  networkId: string;
  epoch: number;
  threshold: number;
  holders: HolderPeer[];
  /**
   * SHA-256 over the network id, epoch, threshold and every holder's index and keys (not URLs, which may
   * differ by vantage point). Every DKG message carries it, so holders with different configs never mix.
   */
  digest: Uint8Array;
}

export const CONFIG_DIGEST_DST = "relink/v1/keyholder/network-config";

export function parseNetworkConfig(json: unknown, source = "network config"): NetworkConfig {
  const parsed = networkConfigSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new Error(`${source}: ${first.path.join(".") || "(root)"}: ${first.message}`);
  }
  const c = parsed.data;
  const holders = [...c.holders]
    .sort((a, b) => a.index - b.index)
    .map((h) => ({
      index: h.index,
      url: h.url.replace(/\/+$/, ""),
      identityPublicKey: fromBase64Url(h.identityPublicKey),
      encryptionPublicKey: fromBase64Url(h.encryptionPublicKey),
    }));
  const digest = sha256(
    lengthPrefixed(
      CONFIG_DIGEST_DST,
      c.networkId,
      String(c.epoch),
      String(c.threshold),
      String(holders.length),
      ...holders.flatMap((h) => [String(h.index), h.identityPublicKey, h.encryptionPublicKey]),
    ),
  );
  return { networkId: c.networkId, epoch: c.epoch, threshold: c.threshold, holders, digest };
}

export function loadNetworkConfig(path: string): NetworkConfig {
  const json = readJsonIfExists(path);
  if (json === undefined) throw new Error(`network config ${path} does not exist`);
  return parseNetworkConfig(json, path);
}
