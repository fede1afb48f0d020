/**
 * Consent-proof procedures (ADR 0050, docs/protocol/consent-proofs.md): transport only. Members commit a
 * consent root (logged), and fetch the proof bundle a lookup of theirs carried, by its audit-leaf index.
 */
import { commitConsentRoot, consentProofBundle } from "@relink/core";
import { commitConsentRootInput, commitConsentRootOutput } from "@relink/protocol";
import { z } from "zod";
import { memberProcedure, router } from "./trpc.ts";

export const consentProofRouter = router({
  commitRoot: memberProcedure
    .input(commitConsentRootInput)
    .output(commitConsentRootOutput)
    .mutation(async ({ ctx, input }) => commitConsentRoot(ctx.core, ctx.who, input)),
  bundle: memberProcedure
    .input(z.object({ logIndex: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }))
    .output(z.object({ bundle: z.string() }))
    .mutation(async ({ ctx, input }) => ({
      bundle: await consentProofBundle(ctx.core, ctx.who, BigInt(input.logIndex)),
    })),
});
