/**
 * DPO procedures (ADRs 0040–0042): transport only. Each needs a DPO key (a member's, scoped to its own
 * leaves, or the network's); the core use case logs the access as its own audit leaf where it links
 * subjects or exports the ledger.
 */
import {
  exportLedgerSlice,
  memberCommitmentKeyFor,
  replayConsent,
  rotateDpoKey,
  subjectAccessReport,
} from "@relink/core";
import {
  consentReplayInput,
  consentReplayOutput,
  exportSliceInput,
  exportSliceOutput,
  fromBase64Url,
  memberCommitmentKeyOutput,
  rotateKeyInput,
  rotateKeyOutput,
  subjectReport,
  subjectReportInput,
} from "@relink/protocol";
import { rotatedKeyOf } from "./members.ts";
import { dpoProcedure, router } from "./trpc.ts";

export const dpoRouter = router({
  subjectReport: dpoProcedure
    .input(subjectReportInput)
    .output(subjectReport)
    .mutation(({ ctx, input }) =>
      subjectAccessReport(ctx.core, ctx.dpo, {
        tags: input.tags.map(fromBase64Url),
        requestReference: input.requestReference,
      }),
    ),
  consentReplay: dpoProcedure
    .input(consentReplayInput)
    .output(consentReplayOutput)
    .query(({ ctx, input }) => replayConsent(ctx.core, ctx.dpo, BigInt(input.index))),
  exportSlice: dpoProcedure
    .input(exportSliceInput)
    .output(exportSliceOutput)
    .mutation(({ ctx, input }) => exportLedgerSlice(ctx.core, ctx.dpo, input)),
  commitmentKey: dpoProcedure
    .output(memberCommitmentKeyOutput)
    .query(({ ctx }) => memberCommitmentKeyFor(ctx.core, ctx.dpo)),
  /**
   * A member DPO replaces the DPO key that signed this request, proved by the new key's signature over the
   * key-rotation statement under the DPO domain string (ADR 0037). The old key is refused from the commit on.
   */
  rotateKey: dpoProcedure
    .input(rotateKeyInput)
    .output(rotateKeyOutput)
    .mutation(async ({ ctx, input }) =>
      rotatedKeyOf(await rotateDpoKey(ctx.core, ctx.dpo, input), ctx.core.clock()),
    ),
});
