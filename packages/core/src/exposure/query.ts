/**
 * Exposure queries at the hub (docs/protocol/exposure-he.md §2–§5; threat T4): consent per subject for the
 * purpose — verified consent-membership proofs (ADR 0047) or the registry's consents of category
 * `credit_exposure` —, per-(querier, subject) budgets, a 24-hour answer cache, lender counts and
 * k-suppression at slot assignment, rounds through the coordinator (re-run without the lenders that missed
 * the deadline or sent something refused, k re-applied), the homomorphic sum, discrete Laplace noise in
 * aggregate mode, re-randomisation, and an audit leaf with counts only. The hub handles ciphertexts and
 * counts; no figure of any book reaches its tables or logs.
 *
 * The steps live beside this file: admission.ts (shape, consent, the querier's key), rounds.ts (holders,
 * ranges, rounds), answer.ts (cache key, noise, statuses, the audit leaf).
 */
import { randomUUID } from "node:crypto";
import { findCachedExposureAnswer, insertCachedExposureAnswer, spendExposureBudget } from "@relink/db";
import {
  type ExposureQueryInput,
  type ExposureQueryOutput,
  type ExposureTask,
  fromBase64Url,
  RelinkError,
  sha256Bytes,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import type { AuthenticatedMember } from "../auth.ts";
import type { CoreDeps } from "../context.ts";
import { deny, requireActive } from "../denials.ts";
import { checkQueryShape, coverageOf, querierKey } from "./admission.ts";
import {
  AGGREGATE_EPSILON,
  aggregateNoiseScales,
  type CachedAnswer,
  type Coverage,
  countsOf,
  exposureRequestKey,
  FEATURES,
  finishResult,
  logExposureQuery,
} from "./answer.ts";
import { threadCpuMs } from "./coordinator.ts";
import { cryptoRandom, discreteLaplace, type RandomSource } from "./noise.ts";
import { exposurePolicy, exposureRuntime } from "./policy.ts";
import { alertFreshHolders, checkRanges, holdings, type RoundsResult, runRounds } from "./rounds.ts";
import { requireLender } from "./subjects.ts";

export { AGGREGATE_EPSILON, aggregateNoiseScales, exposureRequestKey } from "./answer.ts";

const DAY_MS = 86_400_000;

/**
 * Runs one exposure query for an authenticated querier and waits for its rounds (up to maxRounds ×
 * the mode's deadline). Returns the wire answer.
 */
export async function runExposureQuery(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: ExposureQueryInput,
): Promise<ExposureQueryOutput> {
  const acceptedAt = performance.now();
  await requireActive(deps, who);
  const policy = exposurePolicy(deps);
  const tags = input.tags.map(fromBase64Url);
  const caseCommitment = fromBase64Url(input.caseCommitment);
  const base = { purpose: input.purpose, caseCommitment, subjectTags: tags, inputSize: tags.length };
  await checkQueryShape(deps, who, input, tags, base);
  const { context, key, bytes: keyBytes } = await querierKey(deps, who, policy, input.publicKey, base);
  try {
    const now = deps.clock();
    const coverage = await coverageOf(deps, who, input, tags, now, base);
    const log = (answer: CachedAnswer, flags: string[], ciphertexts: readonly Uint8Array[], at: Date) =>
      logExposureQuery(deps, who, {
        base,
        coverage,
        answer,
        k: policy.k,
        flags,
        ciphertexts,
        at,
        acceptedAt: now,
      });
    const requestKey = exposureRequestKey(input.purpose, input.mode, tags);

    // An identical query (same consented subjects) within the cache window: the same answer, no budget.
    const cached = await findCachedExposureAnswer(deps.db, {
      querierId: who.member.id,
      requestKey,
      since: new Date(now.getTime() - policy.cacheHours * 3_600_000),
    });
    if (cached) {
      const answer = cached.answer as CachedAnswer;
      const sameConsents = answer.subjects.every(
        (s) => (s.status !== "no_consent") === coverage.covered.has(toHex(fromBase64Url(s.tag))),
      );
      if (sameConsents) {
        const audit = await log(answer, ["exposure.cached"], cached.ciphertexts, now);
        deps.log.info("exposure.query", { member: who.member.slug, queryId: answer.queryId, cached: true });
        return {
          ...answer,
          k: policy.k,
          cached: true,
          ciphertexts: cached.ciphertexts.map(toBase64Url),
          receipt: await deps.audit.receipt(audit),
        };
      }
    }

    const consented = tags.filter((t) => coverage.covered.has(toHex(t)));
    const held = await holdings(
      deps,
      consented,
      who.member.id,
      new Date(now.getTime() - policy.minHoldingHours * 3_600_000),
    );
    await alertFreshHolders(deps, who, held.fresh, now);
    await checkRanges(deps, who, context, input.mode, consented, held, base);
    const { spent, exhausted } = await deps.db.transaction().execute((trx) =>
      spendExposureBudget(trx, {
        querierId: who.member.id,
        tags: consented,
        at: now,
        since: new Date(now.getTime() - policy.budgetWindowDays * DAY_MS),
        limit: policy.budgetUnits,
      }),
    );

    const queryId = randomUUID();
    const roundsStarted = performance.now();
    const rounds = await runRounds(deps, {
      queryId,
      mode: input.mode,
      policy,
      context,
      publicKeyText: input.publicKey,
      candidates: spent,
      held,
    });

    const roundsMs = performance.now() - roundsStarted;
    const keyHash = sha256Bytes(keyBytes); // 88 kB: hashed once (node:crypto) for the answer and the cache row
    const noiseScales = input.mode === "aggregate" ? aggregateNoiseScales(rounds.responded) : undefined;
    let ciphertexts: Uint8Array[] = [];
    let finishMs = 0;
    let finishCpuMs = 0;
    if (rounds.sum) {
      const random: RandomSource = exposureRuntime(deps).random ?? cryptoRandom;
      const noise = noiseScales?.map((scale) => (scale > 0 ? discreteLaplace(random, scale) : 0));
      const started = performance.now();
      const cpu = threadCpuMs();
      ciphertexts = finishResult(context, key, rounds.sum, noise);
      finishMs = performance.now() - started;
      finishCpuMs = threadCpuMs() - cpu;
    }
    const answer: CachedAnswer = {
      queryId,
      mode: input.mode,
      invited: rounds.invited,
      responded: rounds.responded,
      rounds: rounds.rounds,
      publicKeyHash: toBase64Url(keyHash),
      subjects: subjectStatuses(input.mode, tags, coverage, new Set(exhausted.map(toHex)), rounds),
      ...(noiseScales && rounds.sum
        ? { noise: { epsilon: AGGREGATE_EPSILON / FEATURES, scales: noiseScales } }
        : {}),
    };
    if (!rounds.failed) {
      await insertCachedExposureAnswer(deps.db, {
        querierId: who.member.id,
        requestKey,
        queryId,
        createdAt: now,
        publicKeyHash: keyHash,
        answer,
        ciphertexts,
      });
    }
    const auditStarted = performance.now();
    const audit = await log(
      answer,
      rounds.failed ? ["exposure.rounds_failed"] : [],
      ciphertexts,
      deps.clock(),
    );
    const receipt = await deps.audit.receipt(audit);
    const auditMs = performance.now() - auditStarted;
    const counts = countsOf(answer.subjects);
    deps.log.info("exposure.query", {
      member: who.member.slug,
      queryId,
      mode: input.mode,
      asked: tags.length,
      answered: counts.ok,
      suppressed: counts.suppressed,
      noConsent: counts.no_consent,
      budgetExhausted: counts.budget_exhausted,
      invited: rounds.invited,
      responded: rounds.responded,
      rounds: rounds.rounds,
      lendersWithoutMaskKey: held.withoutMaskKey,
      // The hub's HE work (diagnostics): validating + adding submissions; noise, re-randomising, saving.
      absorbMs: Math.round(rounds.absorbMs * 10) / 10,
      finishMs: Math.round(finishMs * 10) / 10,
      // The same in the hub thread's CPU time: what the work cost, whatever else the machine ran.
      absorbCpuMs: Math.round(rounds.absorbCpuMs * 10) / 10,
      finishCpuMs: Math.round(finishCpuMs * 10) / 10,
      // Where the query's wall time went (diagnostics): admission up to the rounds, the rounds (lenders
      // answering), the audit leaf with its receipt (checkpoint and witness cosignatures when due).
      admitMs: Math.round((roundsStarted - acceptedAt) * 10) / 10,
      roundsMs: Math.round(roundsMs * 10) / 10,
      auditMs: Math.round(auditMs * 10) / 10,
    });
    return {
      ...answer,
      k: policy.k,
      cached: false,
      ciphertexts: ciphertexts.map(toBase64Url),
      receipt,
    };
  } finally {
    key.dispose();
  }
}

/** Each asked subject's status in the answer, in the order asked. */
function subjectStatuses(
  mode: ExposureQueryInput["mode"],
  tags: readonly Uint8Array[],
  coverage: Coverage,
  exhausted: ReadonlySet<string>,
  rounds: RoundsResult,
): ExposureQueryOutput["subjects"] {
  return tags.map((t) => {
    const h = toHex(t);
    const tag = toBase64Url(t);
    if (!coverage.covered.has(h)) return { tag, status: "no_consent" };
    if (exhausted.has(h)) return { tag, status: "budget_exhausted" };
    const slotBase = rounds.slots.get(h);
    if (slotBase === undefined) return { tag, status: "suppressed" };
    return mode === "subjects" ? { tag, status: "ok", slotBase } : { tag, status: "ok" };
  });
}

/** A lender's long poll for its round tasks. */
export async function pollExposureTasks(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: { waitMs: number },
  signal?: AbortSignal,
): Promise<{ tasks: ExposureTask[] }> {
  const { coordinator } = exposureRuntime(deps);
  await requireLender(deps, who, "exposure.capability");
  return { tasks: await coordinator.poll(who.member.id, input.waitMs, signal) };
}

/**
 * A lender's task stream (ADR 0035): checked once as a lender (active, `lender` capability), then `open()`
 * is called and every batch of tasks the coordinator assigns to this member goes to `send` as it is posted,
 * until `waitMs` has passed, `signal` aborts (the lender disconnected) or the hub closes. Each task is
 * delivered once, as by `exposure.poll`: a poll's waiter is removed when the signal aborts, so a task posted
 * after a disconnection stays pending for the lender's next stream or poll (or misses the deadline).
 * Authentication and the lender check run once per stream instead of once per task.
 */
export async function streamExposureTasks(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: { waitMs: number },
  io: { open: () => void; send: (tasks: ExposureTask[]) => void; signal: AbortSignal },
): Promise<void> {
  const { coordinator } = exposureRuntime(deps);
  await requireLender(deps, who, "exposure.capability");
  io.open();
  const end = coordinator.now() + input.waitMs;
  for (;;) {
    const left = end - coordinator.now();
    if (left <= 0 || io.signal.aborted || coordinator.closed) return;
    const tasks = await coordinator.poll(who.member.id, left, io.signal);
    if (tasks.length > 0) io.send(tasks);
  }
}

/**
 * A lender's answer to a round: its ciphertext envelopes. A refused answer (malformed, wrong preset or
 * count, transparent) drops the lender from the round and is a BAD_INPUT denial leaf; a late, duplicate
 * or unknown one is `accepted: false`.
 */
export async function submitExposureRound(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: { queryId: string; round: number; ciphertexts: readonly Uint8Array[] },
): Promise<{ accepted: boolean }> {
  const { coordinator } = exposureRuntime(deps);
  await requireLender(deps, who, "exposure.capability");
  const result = coordinator.submit(who.member.id, input.queryId, input.round, input.ciphertexts);
  if (result.status === "refused") {
    await deny(deps, who, new RelinkError("BAD_INPUT", `submission refused: ${result.reason}`), {
      rule: "exposure.ciphertext",
      inputSize: input.ciphertexts.length,
    });
  }
  if (result.status === "not_accepted") {
    deps.log.info("exposure.submission_not_accepted", {
      member: who.member.slug,
      queryId: input.queryId,
      round: input.round,
      reason: result.reason,
    });
  }
  return { accepted: result.status === "accepted" };
}
