/**
 * Member administration shared by the network administrator's procedures (`admin.*`, signed requests) and the
 * portal's (`portal.*`, a signed-in network administrator): the same inputs, the same view of a member.
 */
import type { Member } from "@relink/core";
import { type memberView, slug } from "@relink/protocol";
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
