/** Routers as plain objects: each procedure validates with protocol schemas and calls one core function. */

import {
  createPortalUser,
  eraseSubjects,
  followMemberDirectory,
  lookupContacts,
  memberBySlugOrThrow,
  onboardMember,
  PASSWORD_POLICY,
  plantHoneytokens,
  publishBatch,
  registerConsents,
  registerDpoKey,
  registerOptOuts,
  reinstateMember,
  rekeyMember,
  revokeConsentsByReference,
  rotateMemberKey,
  setQuotas,
  suspendMember,
} from "@relink/core";
import {
  bytes,
  eraseInput,
  fromBase64Url,
  listAlertsInput,
  listAlertsOutput,
  lookupInput,
  lookupOutput,
  memberDirectory,
  memberDirectoryInput,
  memberView,
  onboardMemberInput,
  plantHoneytokensInput,
  plantHoneytokensOutput,
  publishBatchInput,
  publishBatchOutput,
  registerConsentsInput,
  registerConsentsOutput,
  registerOptOutsInput,
  registerOptOutsOutput,
  rekeyMemberInput,
  rekeyMemberOutput,
  revokeConsentsInput,
  revokeConsentsOutput,
  rotateKeyInput,
  rotateKeyOutput,
  slug,
  toBase64Url,
} from "@relink/protocol";
import { z } from "zod";
import { alertsView } from "./abuse.ts";
import { ROLES } from "./access.ts";
import { consentProofRouter } from "./consent-proofs.ts";
import { dpoRouter } from "./dpo.ts";
import { exposureRouter } from "./exposure.ts";
import {
  memberViewOf,
  reinstateMemberInput,
  rotatedKeyOf,
  setQuotasInput,
  suspendMemberInput,
} from "./members.ts";
import { portalRouter } from "./portal.ts";
import { adminProcedure, memberProcedure, networkReaderProcedure, publicProcedure, router } from "./trpc.ts";

const networkInfo = z.object({
  protocolVersion: z.number().int(),
  networkId: z.string(),
  epoch: z.number().int(),
  threshold: z.number().int(),
  groupPublicKey: z.string(),
  keyHolders: z.array(z.object({ index: z.number().int(), url: z.string(), publicShare: z.string() })),
});

export const appRouter = router({
  network: router({
    info: publicProcedure.output(networkInfo).query(async ({ ctx }) => {
      const holders = await ctx.core.keyHolders();
      return {
        protocolVersion: 1,
        networkId: ctx.core.policy.networkId,
        epoch: ctx.core.policy.epoch,
        threshold: ctx.core.policy.threshold,
        groupPublicKey: holders.groupPublicKey,
        keyHolders: holders.holders,
      };
    }),
    /** Long poll when given the reader's version and a wait (ADR 0038): key holders follow revocations. */
    memberDirectory: networkReaderProcedure
      .input(memberDirectoryInput)
      .output(memberDirectory)
      .query(async ({ ctx, input }) => followMemberDirectory(ctx.core, input ?? {})),
    whoami: memberProcedure.output(memberView).query(({ ctx }) => memberViewOf(ctx.who.member)),
  }),

  admin: router({
    onboardMember: adminProcedure
      .input(onboardMemberInput)
      .output(memberView)
      .mutation(async ({ ctx, input }) => memberViewOf(await onboardMember(ctx.core, input))),
    suspendMember: adminProcedure
      .input(suspendMemberInput)
      .output(memberView)
      .mutation(async ({ ctx, input }) =>
        memberViewOf(await suspendMember(ctx.core, input.slug, input.reason)),
      ),
    reinstateMember: adminProcedure
      .input(reinstateMemberInput)
      .output(memberView)
      .mutation(async ({ ctx, input }) => memberViewOf(await reinstateMember(ctx.core, input.slug))),
    /**
     * Re-keys a member that lost its request-signing key (ADR 0037): the member's proof file (new key, proof
     * of possession) in a request signed by an administrator key.
     */
    rekeyMember: adminProcedure
      .input(rekeyMemberInput)
      .output(rekeyMemberOutput)
      .mutation(async ({ ctx, input }) => {
        const r = await rekeyMember(ctx.core, ctx.admin, input);
        return {
          memberId: r.memberId,
          slug: r.slug,
          revokedFingerprints: r.revoked.map((k) => toBase64Url(k.fingerprint)),
          newFingerprint: toBase64Url(r.newKey.fingerprint),
          rekeyedAt: r.newKey.createdAt.toISOString(),
          receipt: r.receipt,
        };
      }),
    registerDpoKey: adminProcedure
      .input(z.object({ slug, publicKey: bytes(32, "publicKey") }))
      .output(z.object({ memberId: z.string(), fingerprint: z.string() }))
      .mutation(async ({ ctx, input }) => {
        const r = await registerDpoKey(ctx.core, input.slug, input.publicKey);
        return { memberId: r.memberId, fingerprint: toBase64Url(r.key.fingerprint) };
      }),
    setQuotas: adminProcedure
      .input(setQuotasInput)
      .output(memberView)
      .mutation(async ({ ctx, input }) => memberViewOf(await setQuotas(ctx.core, input.slug, input))),
    /** Abuse alerts and the sanctions applied from them (ADR 0045). */
    alerts: adminProcedure
      .input(listAlertsInput)
      .output(listAlertsOutput)
      .query(({ ctx, input }) => alertsView(ctx.core, input)),
    plantHoneytokens: adminProcedure
      .input(plantHoneytokensInput)
      .output(plantHoneytokensOutput)
      .mutation(async ({ ctx, input }) => plantHoneytokens(ctx.core, input)),
    /** The network DPO's opt-out registry (a subject's request; admin key stands for the network DPO). */
    registerOptOuts: adminProcedure
      .input(registerOptOutsInput)
      .output(registerOptOutsOutput)
      .mutation(async ({ ctx, input }) => registerOptOuts(ctx.core, input)),
    /** First accounts of a member (its member admin) or of network staff; later staff are added in the portal. */
    createPortalUser: adminProcedure
      .input(
        z.object({
          email: z.email().max(200),
          displayName: z.string().min(1).max(200),
          memberSlug: slug.nullable(),
          password: z.string().min(PASSWORD_POLICY.minLength).max(PASSWORD_POLICY.maxLength),
          roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
        }),
      )
      .output(z.object({ userId: z.string() }))
      .mutation(async ({ ctx, input }) => {
        const member = input.memberSlug ? await memberBySlugOrThrow(ctx.core, input.memberSlug) : null;
        const id = await createPortalUser(ctx.core, {
          email: input.email,
          displayName: input.displayName,
          memberId: member?.id ?? null,
          password: input.password,
          roles: input.roles,
        });
        return { userId: id.userId };
      }),
  }),

  /** The member's own account, signed with its key. */
  member: router({
    /**
     * Replaces the request-signing key that signed this request with a new one, proved by the new key's
     * signature over the key-rotation statement (ADR 0068). The old key is refused from the commit on.
     */
    rotateKey: memberProcedure
      .input(rotateKeyInput)
      .output(rotateKeyOutput)
      .mutation(async ({ ctx, input }) =>
        rotatedKeyOf(await rotateMemberKey(ctx.core, ctx.who, input), ctx.core.clock()),
      ),
  }),

  directory: router({
    publish: memberProcedure
      .input(publishBatchInput)
      .output(publishBatchOutput)
      .mutation(async ({ ctx, input }) => {
        const r = await publishBatch(ctx.core, ctx.who, input);
        return {
          batchId: r.batchId,
          replayed: r.replayed,
          upserted: r.upserted,
          deleted: r.deleted,
          receipt: r.receipt,
        };
      }),
    erase: memberProcedure
      .input(eraseInput)
      .output(z.object({ deleted: z.number().int(), receipt: z.unknown() }))
      .mutation(async ({ ctx, input }) => {
        const r = await eraseSubjects(ctx.core, ctx.who, input.tags.map(fromBase64Url));
        return { deleted: r.deleted, receipt: r.receipt };
      }),
  }),

  consent: router({
    register: memberProcedure
      .input(registerConsentsInput)
      .output(registerConsentsOutput)
      .mutation(async ({ ctx, input }) => {
        const r = await registerConsents(ctx.core, ctx.who, input.consents);
        return {
          registered: r.consents.length,
          ids: r.consents.map((c) => c.id),
          updated: r.updated.length,
          unchanged: r.unchanged.length,
          revoked: r.revoked.length,
          receipt: r.receipt,
          receipts: r.receipts,
        };
      }),
    revoke: memberProcedure
      .input(revokeConsentsInput)
      .output(revokeConsentsOutput)
      .mutation(async ({ ctx, input }) => {
        const r = await revokeConsentsByReference(ctx.core, ctx.who, input.references);
        return { revoked: r.revoked.length, alreadyRevoked: r.alreadyRevoked, receipt: r.receipt };
      }),
  }),

  lookup: router({
    run: memberProcedure
      .input(lookupInput)
      .output(lookupOutput)
      .mutation(async ({ ctx, input }) => lookupContacts(ctx.core, ctx.who, input)),
  }),

  consentProof: consentProofRouter,
  exposure: exposureRouter,

  portal: portalRouter,
  dpo: dpoRouter,
});

export type AppRouter = typeof appRouter;
