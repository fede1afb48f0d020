/**
 * Session procedures of the portal: read models and network administration for signed-in people. Each is
 * gated by PORTAL_ACCESS (access.ts) and scoped to the person's own member; work that touches subjects
 * (publish, lookup, consents, exposure) is not here — the browser signs it with the member's key and calls
 * the same procedures as a member node.
 */
import {
  allMembers,
  memberConsents,
  memberKeysAndQuotas,
  memberStaff,
  onboardMember,
  optOutRegistry,
  plantHoneytokens,
  portalDashboard,
  registerOptOuts,
  reinstateMember,
  setQuotas,
  setStaffRoles,
  suspendMember,
} from "@relink/core";
import {
  listAlertsInput,
  listAlertsOutput,
  memberView,
  onboardMemberInput,
  optOutRegistryOutput,
  plantHoneytokensInput,
  plantHoneytokensOutput,
  RelinkError,
  registerOptOutsInput,
  registerOptOutsOutput,
} from "@relink/protocol";
import { z } from "zod";
import { alertsView } from "./abuse.ts";
import { MEMBER_ROLES, ROLES } from "./access.ts";
import { memberViewOf, reinstateMemberInput, setQuotasInput, suspendMemberInput } from "./members.ts";
import { router, sessionProcedure } from "./trpc.ts";

function ownMember(session: { memberId: string | null }): string {
  if (!session.memberId) throw new RelinkError("FORBIDDEN", "this page is for people working at a member");
  return session.memberId;
}

const role = z.enum(ROLES);
const isoTime = z.string();

/** A member key as the member administrator sees it (public data only). */
const keyView = z.object({
  id: z.string(),
  purpose: z.string(),
  algorithm: z.string(),
  fingerprint: z.string(),
  publicKey: z.string(),
  createdAt: isoTime,
});

export const portalRouter = router({
  me: sessionProcedure
    .output(
      z.object({
        userId: z.string(),
        memberId: z.string().nullable(),
        roles: z.array(z.object({ role, memberId: z.string().nullable() })),
      }),
    )
    .query(({ ctx }) => ({
      userId: ctx.portal.userId,
      memberId: ctx.portal.memberId,
      roles: ctx.portal.grants,
    })),

  dashboard: sessionProcedure
    .output(
      z.object({
        member: z
          .object({ id: z.string(), slug: z.string(), displayName: z.string(), status: z.string() })
          .nullable(),
        recordsPublished: z.number().nullable(),
        consentsActive: z.number().nullable(),
        consentsExpiringIn30Days: z.number().nullable(),
        lookupsToday: z.number().nullable(),
        evaluationsToday: z.number().nullable(),
        lookupQuota: z.number().nullable(),
        members: z.number(),
        logSize: z.number(),
        lastCheckpointAt: isoTime.nullable(),
      }),
    )
    .query(({ ctx }) => portalDashboard(ctx.core, ctx.portal.memberId)),

  consents: sessionProcedure
    .output(
      z.array(
        z.object({
          id: z.string(),
          reference: z.string(),
          tagPrefix: z.string(),
          purpose: z.string(),
          legalBasis: z.string(),
          dataCategories: z.array(z.string()),
          grantedAt: isoTime,
          expiresAt: isoTime,
          revokedAt: isoTime.nullable(),
          status: z.enum(["active", "expired", "revoked"]),
        }),
      ),
    )
    .query(({ ctx }) => memberConsents(ctx.core, ownMember(ctx.portal))),

  staff: sessionProcedure
    .output(
      z.array(
        z.object({
          userId: z.string(),
          email: z.string(),
          displayName: z.string(),
          status: z.string(),
          lastLoginAt: isoTime.nullable(),
          roles: z.array(role),
        }),
      ),
    )
    .query(({ ctx }) => memberStaff(ctx.core, ctx.portal.memberId)),

  setStaffRoles: sessionProcedure
    .input(
      z.object({
        userId: z.string().uuid(),
        roles: z.array(z.enum(MEMBER_ROLES)).max(MEMBER_ROLES.length),
      }),
    )
    .output(
      z.object({
        userId: z.string(),
        email: z.string(),
        displayName: z.string(),
        status: z.string(),
        lastLoginAt: isoTime.nullable(),
        roles: z.array(role),
      }),
    )
    .mutation(({ ctx, input }) =>
      setStaffRoles(ctx.core, { userId: ctx.portal.userId, memberId: ownMember(ctx.portal) }, input),
    ),

  /**
   * The member's active keys, its retired keys with when and why (ADRs 0068, 0037), and its quotas with
   * today's usage (read-only; ADR 0063).
   */
  memberKeys: sessionProcedure
    .output(
      z.object({
        keys: z.array(keyView.extend({ status: z.literal("active") })),
        retiredKeys: z.array(
          keyView.extend({ revokedAt: isoTime, reason: z.enum(["rotated", "lost"]).nullable() }),
        ),
        quotas: z.object({
          dailyLookupQuota: z.number(),
          dailyEvaluationQuota: z.number(),
          lookupsToday: z.number(),
          evaluationsToday: z.number(),
          day: z.string(),
        }),
      }),
    )
    .query(({ ctx }) => memberKeysAndQuotas(ctx.core, ownMember(ctx.portal))),

  members: sessionProcedure
    .output(z.array(memberView))
    .query(async ({ ctx }) => (await allMembers(ctx.core)).map(memberViewOf)),

  keyHolders: sessionProcedure
    .output(
      z.object({
        threshold: z.number().int(),
        epoch: z.number().int(),
        holders: z.array(z.object({ index: z.number().int(), url: z.string(), publicShare: z.string() })),
      }),
    )
    .query(async ({ ctx }) => ({
      threshold: ctx.core.policy.threshold,
      epoch: ctx.core.policy.epoch,
      holders: (await ctx.core.keyHolders()).holders,
    })),

  onboardMember: sessionProcedure
    .input(onboardMemberInput)
    .output(memberView)
    .mutation(async ({ ctx, input }) => memberViewOf(await onboardMember(ctx.core, input))),
  suspendMember: sessionProcedure
    .input(suspendMemberInput)
    .output(memberView)
    .mutation(async ({ ctx, input }) =>
      memberViewOf(await suspendMember(ctx.core, input.slug, input.reason)),
    ),
  reinstateMember: sessionProcedure
    .input(reinstateMemberInput)
    .output(memberView)
    .mutation(async ({ ctx, input }) => memberViewOf(await reinstateMember(ctx.core, input.slug))),
  setQuotas: sessionProcedure
    .input(setQuotasInput)
    .output(memberView)
    .mutation(async ({ ctx, input }) => memberViewOf(await setQuotas(ctx.core, input.slug, input))),

  // Abuse controls (ADRs 0045, 0036): the same core functions as `admin.*`, for a signed-in network admin or
  // network DPO. Tags arrive already computed: the browser's worker made them through the key holders.
  alerts: sessionProcedure
    .input(listAlertsInput.optional())
    .output(listAlertsOutput)
    .query(({ ctx, input }) => alertsView(ctx.core, input ?? {})),
  plantHoneytokens: sessionProcedure
    .input(plantHoneytokensInput)
    .output(plantHoneytokensOutput)
    .mutation(({ ctx, input }) => plantHoneytokens(ctx.core, input)),
  registerOptOuts: sessionProcedure
    .input(registerOptOutsInput)
    .output(registerOptOutsOutput)
    .mutation(({ ctx, input }) => registerOptOuts(ctx.core, input)),
  optOuts: sessionProcedure.output(optOutRegistryOutput).query(({ ctx }) => optOutRegistry(ctx.core)),
});
