/**
 * Member administration shared by the network administrator's procedures (`admin.*`, signed requests) and the
 * portal's (`portal.*`, a signed-in network administrator): the same inputs, the same view of a member.
 */
import type { Member, RotatedKey } from "@relink/core";
import { type memberView, type RotateKeyOutput, slug, toBase64Url } from "@relink/protocol";
import { z } from "zod";

/** The wire view of a member (quotas as numbers). */
export function memberViewOf(m: Member): z.infer<typeof memberView> {
  return {
    id: m.id,
    slug: m.slug,
    displayName: m.displayName,
    kind: m.kind,
    capabilities: m.capabilities,
    status: m.status,
    suspendedReason: m.suspendedReason,
    dailyLookupQuota: Number(m.dailyLookupQuota),
    dailyEvaluationQuota: Number(m.dailyEvaluationQuota),
  };
}

export const suspendMemberInput = z.object({ slug, reason: z.string().min(1).max(500) });
export const reinstateMemberInput = z.object({ slug });
export const setQuotasInput = z.object({
  slug,
  dailyLookupQuota: z.number().int().min(0).optional(),
  dailyEvaluationQuota: z.number().int().min(0).optional(),
});

/** The wire answer of a key rotation, the member's request-signing key or its DPO's (ADRs 0068, 0037). */
export function rotatedKeyOf(r: RotatedKey, now: Date): RotateKeyOutput {
  return {
    memberId: r.memberId,
    oldFingerprint: toBase64Url(r.oldKey.fingerprint),
    newFingerprint: toBase64Url(r.newKey.fingerprint),
    rotatedAt: (r.oldKey.revokedAt ?? now).toISOString(),
    receipt: r.receipt,
  };
}
