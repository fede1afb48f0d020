/**
 * The network's configuration as the hub runs it, and the key-holder directory it serves to members.
 * The holders' public shares are read from the holders themselves (GET /v1/info) and must agree on the
 * network, epoch, threshold and group key; until enough holders have answered, network.info fails with
 * UNAVAILABLE instead of serving a partial set.
 */
import type { KeyHolderDirectory } from "@relink/core";
import { fromBase64Url, keyHolderInfo, RelinkError } from "@relink/protocol";
import { createRequester } from "@relink/protocol/http";
import { z } from "zod";

export const networkConfigSchema = z.object({
  networkId: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/),
  epoch: z.number().int().min(1),
  threshold: z.number().int().min(1),
  keyHolders: z
    .array(
      z.object({
        index: z.number().int().min(1),
        url: z.url(),
        /** The holder's Ed25519 identity key (base64url): it signs the holder's member-directory reads. */
        identityPublicKey: z.string().optional(),
      }),
    )
    .min(1),
  /** Directory records not seen for this many days are purged. */
  retentionDays: z.number().int().min(1).default(730),
  /** Ed25519 public keys (base64url) of network administrators. */
  adminKeys: z.array(z.string()).default([]),
  /** Ed25519 public keys (base64url) of the network's data-protection officers (ADR 0040). */
  dpoKeys: z.array(z.string()).optional(),
  /** Exposure queries (docs/protocol/exposure-he.md); every field defaults to the protocol's value. */
  exposure: z
    .object({
      /** Minimum number of lenders (other than the querier) that hold and answer for a subject. */
      k: z.number().int().min(2).max(100),
      budgetUnits: z.number().int().min(1),
      budgetWindowDays: z.number().int().min(1),
      cacheHours: z.number().min(0),
      subjectsDeadlineMs: z.number().int().min(100).max(600_000),
      aggregateDeadlineMs: z.number().int().min(100).max(600_000),
      maxRounds: z.number().int().min(1).max(10),
      /** Hours a lender's registration of a subject must age before it counts towards k (issue 15.4). */
      minHoldingHours: z
        .number()
        .min(0)
        .max(24 * 90),
      /** Lenders declare (and sign) their book size before registering (issue 15.4). */
      requireBookDeclaration: z.boolean(),
    })
    .partial()
    .optional(),
  /** Abuse controls (docs/adr/0045-abuse-controls.md); every field defaults to DEFAULT_ABUSE_POLICY. */
  abuse: z
    .object({
      dailyConsentRegistrations: z.number().int().min(0),
      maxTagsPerCase: z.number().int().min(1).max(1000),
      freshConsentLookupsAlert: z.number().int().min(1),
      unconsentedLookupsAlert: z.number().int().min(1),
      sanctions: z.enum(["automatic", "advisory"]),
    })
    .partial()
    .optional(),
});
export type NetworkConfig = z.infer<typeof networkConfigSchema>;

export function parseNetworkConfig(json: unknown): NetworkConfig {
  const parsed = networkConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`network config: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  const config = parsed.data;
  if (config.threshold > config.keyHolders.length)
    throw new Error("network config: threshold exceeds the number of key holders");
  for (const [field, keys] of [
    ["adminKeys", config.adminKeys],
    ["dpoKeys", config.dpoKeys ?? []],
    ["keyHolders.identityPublicKey", config.keyHolders.flatMap((h) => h.identityPublicKey ?? [])],
  ] as const) {
    for (const k of keys) {
      let n = -1;
      try {
        n = fromBase64Url(k).length;
      } catch {}
      if (n !== 32) throw new Error(`network config: ${field} must be 32-byte Ed25519 keys (base64url)`);
    }
  }
  return config;
}

/** Fetches and caches the holders' public shares; refetches until every holder has answered once. */
export function keyHolderDirectory(
  config: NetworkConfig,
  // One quick retry only: the directory is asked again on the next call anyway.
  doFetch: typeof fetch = createRequester({ retry: { retries: 1 } }),
): () => Promise<KeyHolderDirectory> {
  let complete: KeyHolderDirectory | undefined;
  const known = new Map<number, { url: string; publicShare: string; groupPublicKey: string }>();
  return async () => {
    if (complete) return complete;
    await Promise.all(
      config.keyHolders
        .filter((h) => !known.has(h.index))
        .map(async (h) => {
          try {
            const res = await doFetch(`${h.url.replace(/\/$/, "")}/v1/info`, {
              signal: AbortSignal.timeout(5000),
            });
            const info = keyHolderInfo.parse(await res.json());
            if (
              info.networkId !== config.networkId ||
              info.epoch !== config.epoch ||
              info.holder !== h.index
            ) {
              throw new Error(
                `holder ${h.index} reports ${info.networkId}/${info.epoch} as holder ${info.holder}`,
              );
            }
            if (info.threshold !== config.threshold)
              throw new Error(`holder ${h.index} reports threshold ${info.threshold}`);
            known.set(h.index, {
              url: h.url,
              publicShare: info.publicShare,
              groupPublicKey: info.groupPublicKey,
            });
          } catch {
            // Not ready or unreachable: asked again on the next call.
          }
        }),
    );
    const groupKeys = new Set([...known.values()].map((k) => k.groupPublicKey));
    if (groupKeys.size > 1) throw new RelinkError("INTERNAL", "key holders disagree on the group public key");
    if (known.size < config.threshold) {
      throw new RelinkError(
        "UNAVAILABLE",
        `${known.size} of ${config.threshold} key holders have published their keys`,
      );
    }
    const directory: KeyHolderDirectory = {
      groupPublicKey: [...groupKeys][0]!,
      holders: [...known.entries()]
        .sort(([a], [b]) => a - b)
        .map(([index, k]) => ({ index, url: k.url, publicShare: k.publicShare })),
    };
    if (known.size === config.keyHolders.length) complete = directory;
    return directory;
  };
}
