/**
 * Exposure procedures (docs/protocol/exposure-he.md): transport only — validate with the protocol schemas,
 * call one core function. Lenders: registerMaskKey, registerSubjects, unregisterSubjects, poll (long poll,
 * a mutation because it hands each task out once), submit (small rounds; large ones use the hub's binary
 * route). Queriers: query (a mutation that waits for the rounds, up to 3 × the mode's deadline).
 */
import {
  declareExposureBook,
  pollExposureTasks,
  registerExposureSubjects,
  registerMaskKey,
  runExposureQuery,
  submitExposureRound,
  unregisterExposureSubjects,
} from "@relink/core";
import {
  declareExposureBookInput,
  declareExposureBookOutput,
  exposurePollInput,
  exposurePollOutput,
  exposureQueryInput,
  exposureQueryOutput,
  exposureSubjectsOutput,
  exposureSubmitInput,
  exposureSubmitOutput,
  fromBase64Url,
  registerExposureSubjectsInput,
  registerMaskKeyInput,
  registerMaskKeyOutput,
  unregisterExposureSubjectsInput,
} from "@relink/protocol";
import { memberProcedure, router } from "./trpc.ts";

/** Undecodable text becomes an empty envelope, which the coordinator refuses (dropping the lender). */
function envelope(text: string): Uint8Array {
  try {
    return fromBase64Url(text);
  } catch {
    return new Uint8Array(0);
  }
}

export const exposureRouter = router({
  registerMaskKey: memberProcedure
    .input(registerMaskKeyInput)
    .output(registerMaskKeyOutput)
    .mutation(({ ctx, input }) => registerMaskKey(ctx.core, ctx.who, input.publicKey)),
  declareBook: memberProcedure
    .input(declareExposureBookInput)
    .output(declareExposureBookOutput)
    .mutation(({ ctx, input }) => declareExposureBook(ctx.core, ctx.who, input)),
  registerSubjects: memberProcedure
    .input(registerExposureSubjectsInput)
    .output(exposureSubjectsOutput)
    .mutation(({ ctx, input }) => registerExposureSubjects(ctx.core, ctx.who, input)),
  unregisterSubjects: memberProcedure
    .input(unregisterExposureSubjectsInput)
    .output(exposureSubjectsOutput)
    .mutation(({ ctx, input }) => unregisterExposureSubjects(ctx.core, ctx.who, input)),
  query: memberProcedure
    .input(exposureQueryInput)
    .output(exposureQueryOutput)
    .mutation(({ ctx, input }) => runExposureQuery(ctx.core, ctx.who, input)),
  poll: memberProcedure
    .input(exposurePollInput)
    .output(exposurePollOutput)
    .mutation(({ ctx, input, signal }) => pollExposureTasks(ctx.core, ctx.who, input, signal)),
  submit: memberProcedure
    .input(exposureSubmitInput)
    .output(exposureSubmitOutput)
    .mutation(({ ctx, input }) =>
      submitExposureRound(ctx.core, ctx.who, {
        queryId: input.queryId,
        round: input.round,
        ciphertexts: input.ciphertexts.map(envelope),
      }),
    ),
});
