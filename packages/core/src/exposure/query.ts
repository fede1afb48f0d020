/**
 * Exposure queries at the hub (docs/protocol/exposure-he.md §2–§5; threat T4): consent per subject for the
 * purpose and category `credit_exposure`, per-(querier, subject) budgets, a 24-hour answer cache, lender
 * counts and k-suppression at slot assignment, rounds through the coordinator (re-run without the lenders
 * that missed the deadline or sent something refused, k re-applied), the homomorphic sum, discrete Laplace
 * noise in aggregate mode, re-randomisation, and an audit leaf with counts only. The hub handles
 * ciphertexts and counts; no figure of any book reaches its tables or logs.
 */
import { randomUUID } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type Consent,
  coveringConsents,
  findCachedExposureAnswer,
  findExposureHolders,
  insertCachedExposureAnswer,
  packBlobs,
  spendExposureBudget,
} from "@relink/db";
import { type HeCiphertext, type HeContext, HeError, type HePublicKey, isPresetId, loadHe } from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_CAPS,
  EXPOSURE_FEATURES,
  type ExposureQueryInput,
  type ExposureQueryOutput,
  type ExposureTask,
  fromBase64Url,
  OUTSTANDING_LIMB_BITS,
  RelinkError,
  sha256Bytes,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import { raiseAlert } from "../abuse/alerts.ts";
import type { AuthenticatedMember } from "../auth.ts";
import type { AuditEventInput, CoreDeps } from "../context.ts";
import { deny, requireActive, utcDay } from "../denials.ts";
import { cryptoRandom, discreteLaplace, type RandomSource } from "./noise.ts";
import { type ExposurePolicy, exposurePolicy, exposureRuntime, QUERY_CAPABILITY } from "./policy.ts";
import { requireLender } from "./subjects.ts";

const FEATURES = EXPOSURE_FEATURES.length; // 9 slots per subject in subjects mode
const DAY_MS = 86_400_000;
/** ε of one aggregate query, split equally over the features. */
export const AGGREGATE_EPSILON = 1;
const CONSENT_CHUNK = 5000;

type SubjectStatus = ExposureQueryOutput["subjects"][number]["status"];

/** SHA-256 over purpose | mode | the sorted tags: the cache key of "the same query". */
export function exposureRequestKey(purpose: string, mode: string, tags: readonly Uint8Array[]): Uint8Array {
  // Hex once per tag, then sort (a comparator converting both sides costs 2 n log n conversions).
  const sorted = tags
    .map((t) => ({ t, hex: toHex(t) }))
    .sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0))
    .map((x) => x.t);
  const head = new TextEncoder().encode(`relink/exposure/request/v1\n${purpose}|${mode}|`);
  const buf = new Uint8Array(head.length + 32 * sorted.length);
  buf.set(head);
  sorted.forEach((t, i) => {
    buf.set(t, head.length + 32 * i);
  });
  return sha256(buf);
}

/**
 * Per-slot noise scale of an aggregate result with `responders` lenders (AGGREGATE_SLOTS order): the
 * discrete Laplace scale Δ/ε_f with Δ = responders × cap and ε_f = ε / 9; `outstanding` in units of 2^20
 * CNY in the mid limb (the other limbs carry none).
 */
export function aggregateNoiseScales(responders: number): number[] {
  const perFeature = FEATURES / AGGREGATE_EPSILON;
  const midUnit = 2 ** OUTSTANDING_LIMB_BITS;
  return AGGREGATE_SLOTS.map((slot) => {
    if (slot === "outstanding_lo" || slot === "outstanding_hi") return 0;
    const cap =
      slot === "outstanding_mid"
        ? Math.ceil(EXPOSURE_CAPS.outstanding / midUnit)
        : EXPOSURE_CAPS[slot as keyof typeof EXPOSURE_CAPS];
    return responders * cap * perFeature;
  });
}

async function consentsFor(
  deps: CoreDeps,
  memberId: string,
  tags: Uint8Array[],
  purpose: ExposureQueryInput["purpose"],
  at: Date,
): Promise<Map<string, Consent>> {
  const all = new Map<string, Consent>();
  for (let i = 0; i < tags.length; i += CONSENT_CHUNK) {
    const part = await coveringConsents(deps.db, {
      memberId,
      tags: tags.slice(i, i + CONSENT_CHUNK),
      purpose,
      category: "credit_exposure",
      at,
    });
    for (const [k, v] of part) all.set(k, v);
  }
  return all;
}

interface CachedAnswer {
  queryId: string;
  mode: ExposureQueryOutput["mode"];
  invited: number;
  responded: number;
  rounds: number;
  publicKeyHash: string;
  subjects: ExposureQueryOutput["subjects"];
  noise?: ExposureQueryOutput["noise"];
}

function countsOf(subjects: ExposureQueryOutput["subjects"]): Record<SubjectStatus, number> {
  const n: Record<SubjectStatus, number> = { ok: 0, suppressed: 0, no_consent: 0, budget_exhausted: 0 };
  for (const s of subjects) n[s.status]++;
  return n;
}

/** Counts only, as rule codes of the leaf's closed alphabet (docs/protocol/exposure-he.md §6). */
function countRules(a: CachedAnswer, k: number): string[] {
  const n = countsOf(a.subjects);
  return [
    `exposure.mode:${a.mode}`,
    `exposure.k:${k}`,
    `exposure.answered:${n.ok}`,
    `exposure.suppressed:${n.suppressed}`,
    `exposure.no_consent:${n.no_consent}`,
    `exposure.budget_exhausted:${n.budget_exhausted}`,
    `exposure.invited:${a.invited}`,
    `exposure.responded:${a.responded}`,
    `exposure.rounds:${a.rounds}`,
  ];
}

/** Decodes and validates the querier's HE public key; refusals are BAD_INPUT denial leaves. */
async function querierKey(
  deps: CoreDeps,
  who: AuthenticatedMember,
  policy: ExposurePolicy,
  text: string,
  base: Partial<AuditEventInput>,
): Promise<{ context: HeContext; key: HePublicKey; bytes: Uint8Array }> {
  const refuse = (why: string) =>
    deny(deps, who, new RelinkError("BAD_INPUT", `publicKey: ${why}`, { field: "publicKey" }), {
      ...base,
      rule: "exposure.public_key",
    });
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    return refuse("not base64url");
  }
  const he = await loadHe();
  let presetId: string;
  try {
    presetId = he.presetOf(bytes);
  } catch (error) {
    return refuse(error instanceof HeError ? error.code : "malformed");
  }
  if (!isPresetId(presetId) || !policy.presets.includes(presetId)) {
    return refuse(`preset ${presetId} is not accepted (accepted: ${policy.presets.join(", ")})`);
  }
  const context = he.context(presetId);
  try {
    return { context, key: context.loadPublicKey(bytes), bytes };
  } catch (error) {
    if (error instanceof HeError) return refuse(error.code);
    throw error;
  }
}

interface Holdings {
  /** tag hex → members holding it (eligible: active lenders with a mask key, querier excluded). */
  byTag: Map<string, Set<string>>;
  maskKeys: Map<string, Uint8Array>;
  /** Holders left out for want of a mask key (they cannot take part). */
  withoutMaskKey: number;
  /** Lenders left out for subjects they registered less than minHoldingHours ago: member → subjects. */
  fresh: Map<string, number>;
}

async function holdings(
  deps: CoreDeps,
  tags: Uint8Array[],
  querierId: string,
  seasonedBefore: Date,
): Promise<Holdings> {
  const rows =
    tags.length === 0
      ? []
      : await findExposureHolders(deps.db, { tags, epoch: deps.policy.epoch, excludeMember: querierId });
  const byTag = new Map<string, Set<string>>();
  const maskKeys = new Map<string, Uint8Array>();
  const without = new Set<string>();
  const fresh = new Map<string, number>();
  for (const r of rows) {
    if (!r.maskKey) {
      without.add(r.memberId);
      continue;
    }
    // Issue 15.4: a registration younger than minHoldingHours neither counts towards k nor is asked.
    if (r.registeredAt > seasonedBefore) {
      fresh.set(r.memberId, (fresh.get(r.memberId) ?? 0) + 1);
      continue;
    }
    maskKeys.set(r.memberId, r.maskKey);
    const key = toHex(r.tag);
    const set = byTag.get(key) ?? new Set<string>();
    set.add(r.memberId);
    byTag.set(key, set);
  }
  return { byTag, maskKeys, withoutMaskKey: without.size, fresh };
}

/**
 * Refuses a query whose sums could leave the range the querier decodes: per subject (subjects mode),
 * holders × 10,000,000 < t; per aggregate slot, the largest possible sum plus 40 noise scales < (t−1)/2.
 */
async function checkRanges(
  deps: CoreDeps,
  who: AuthenticatedMember,
  context: HeContext,
  mode: ExposureQueryInput["mode"],
  tags: Uint8Array[],
  held: Holdings,
  base: Partial<AuditEventInput>,
): Promise<void> {
  const t = context.plainModulus;
  if (mode === "subjects") {
    const maxHolders = Number((t - 1n) / BigInt(EXPOSURE_CAPS.outstanding));
    const worst = Math.max(0, ...[...held.byTag.values()].map((s) => s.size));
    if (worst > maxHolders) {
      await deny(
        deps,
        who,
        new RelinkError("BAD_INPUT", `a subject is held by more than ${maxHolders} lenders (plain modulus)`),
        { ...base, rule: "exposure.range" },
      );
    }
    return;
  }
  const perLender = new Map<string, number>();
  for (const tag of tags)
    for (const m of held.byTag.get(toHex(tag)) ?? []) perLender.set(m, (perLender.get(m) ?? 0) + 1);
  const subjectsHeld = [...perLender.values()].reduce((a, b) => a + b, 0);
  const lenders = perLender.size;
  const scales = aggregateNoiseScales(lenders);
  const limb = 2 ** OUTSTANDING_LIMB_BITS - 1;
  const worst = Math.max(
    ...AGGREGATE_SLOTS.map((slot, i) => {
      const sum = slot.startsWith("outstanding_")
        ? lenders * limb
        : subjectsHeld * EXPOSURE_CAPS[slot as keyof typeof EXPOSURE_CAPS];
      return sum + 40 * scales[i]!;
    }),
  );
  if (BigInt(worst) >= context.signedMax) {
    await deny(deps, who, new RelinkError("BAD_INPUT", "portfolio too large for one aggregate query"), {
      ...base,
      rule: "exposure.range",
    });
  }
}

interface RoundsResult {
  /** Answered subjects (tag hex → slot base); empty when nothing could be answered. */
  slots: Map<string, number>;
  invited: number;
  responded: number;
  rounds: number;
  sum?: HeCiphertext[];
  /** True when every round that ran failed (all candidates end suppressed). */
  failed: boolean;
  /** Milliseconds the coordinator spent validating and adding submissions, over all rounds. */
  absorbMs: number;
}

async function runRounds(
  deps: CoreDeps,
  args: {
    queryId: string;
    mode: ExposureQueryInput["mode"];
    policy: ExposurePolicy;
    context: HeContext;
    publicKeyText: string;
    candidates: Uint8Array[];
    held: Holdings;
  },
): Promise<RoundsResult> {
  const { coordinator } = exposureRuntime(deps);
  const { policy, context, held, mode } = args;
  let pool = new Set(held.maskKeys.keys());
  let invited = 0;
  let absorbMs = 0;
  for (let round = 1; round <= policy.maxRounds; round++) {
    // k-suppression on the counts of the lenders still in the pool.
    const answered = args.candidates.filter((t) => {
      let n = 0;
      for (const m of held.byTag.get(toHex(t)) ?? []) if (pool.has(m)) n++;
      return n >= policy.k;
    });
    if (answered.length === 0) {
      return { slots: new Map(), invited, responded: 0, rounds: round - 1, failed: round > 1, absorbMs };
    }
    const slots = new Map(answered.map((t, s) => [toHex(t), mode === "subjects" ? FEATURES * s : 0]));
    const ciphertextCount =
      mode === "subjects" ? Math.ceil((FEATURES * answered.length) / context.slotCount) : 1;
    const perMember = new Map<string, { tag: string; slotBase: number }[]>();
    for (const t of answered) {
      const key = toHex(t);
      for (const m of held.byTag.get(key) ?? []) {
        if (!pool.has(m)) continue;
        const list = perMember.get(m) ?? [];
        list.push({ tag: toBase64Url(t), slotBase: slots.get(key)! });
        perMember.set(m, list);
      }
    }
    const participants = [...perMember.keys()].sort();
    const maskList = participants.map((memberId) => ({
      memberId,
      maskKey: toBase64Url(held.maskKeys.get(memberId)!),
    }));
    const deadline = coordinator.now() + policy.deadlineMs[mode];
    const asOf = utcDay(deps.clock());
    const tasks = new Map<string, ExposureTask>(
      participants.map((m) => [
        m,
        {
          queryId: args.queryId,
          round,
          mode,
          presetId: context.id,
          publicKey: args.publicKeyText,
          ciphertextCount,
          slots: perMember.get(m)!,
          participants: maskList,
          asOf,
          deadline,
        },
      ]),
    );
    invited = participants.length;
    deps.log.info("exposure.round_started", {
      queryId: args.queryId,
      round,
      subjects: answered.length,
      participants: participants.length,
      ciphertexts: ciphertextCount,
    });
    const outcome = await coordinator.runRound({
      queryId: args.queryId,
      round,
      context,
      ciphertextCount,
      deadline,
      tasks,
      onAbsorbed: (ms) => {
        absorbMs += ms;
      },
    });
    if (outcome.sum) {
      return {
        slots,
        invited,
        responded: participants.length,
        rounds: round,
        sum: outcome.sum,
        failed: false,
        absorbMs,
      };
    }
    deps.log.warn("exposure.round_failed", {
      queryId: args.queryId,
      round,
      valid: outcome.valid.length,
      refused: outcome.refused.length,
      missing: outcome.missing.length,
    });
    pool = new Set(outcome.valid);
  }
  return { slots: new Map(), invited, responded: 0, rounds: policy.maxRounds, failed: true, absorbMs };
}

function finishResult(
  context: HeContext,
  key: HePublicKey,
  sum: HeCiphertext[],
  noise: number[] | undefined,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  try {
    if (noise) {
      // Encrypted under the querier's key and added: the hub never holds the noisy plaintext.
      const n = context.encrypt(key, noise, { signed: true });
      try {
        context.addInPlace(sum[0]!, n);
      } finally {
        n.dispose();
      }
    }
    for (const c of sum) {
      const fresh = context.rerandomize(c, key);
      try {
        out.push(context.saveCiphertext(fresh));
      } finally {
        fresh.dispose();
      }
    }
    return out;
  } finally {
    for (const c of sum) c.dispose();
  }
}

/**
 * Runs one exposure query for an authenticated querier and waits for its rounds (up to maxRounds ×
 * the mode's deadline). Returns the wire answer.
 */
export async function runExposureQuery(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: ExposureQueryInput,
): Promise<ExposureQueryOutput> {
  const runtime = exposureRuntime(deps);
  await requireActive(deps, who);
  const policy = exposurePolicy(deps);
  const tags = input.tags.map(fromBase64Url);
  const caseCommitment = fromBase64Url(input.caseCommitment);
  const base = { purpose: input.purpose, caseCommitment, subjectTags: tags, inputSize: tags.length };
  if (!who.member.capabilities.includes(QUERY_CAPABILITY)) {
    await deny(deps, who, new RelinkError("FORBIDDEN", `member lacks the '${QUERY_CAPABILITY}' capability`), {
      ...base,
      rule: "exposure.capability",
    });
  }
  if (input.epoch !== deps.policy.epoch) {
    await deny(
      deps,
      who,
      new RelinkError("WRONG_EPOCH", `tags of epoch ${input.epoch}, network epoch ${deps.policy.epoch}`),
      { ...base, rule: "exposure.epoch" },
    );
  }
  if (new Set(tags.map(toHex)).size !== tags.length) {
    await deny(deps, who, new RelinkError("BAD_INPUT", "tags: a tag is repeated", { field: "tags" }), {
      ...base,
      rule: "exposure.tags",
    });
  }
  const { context, key, bytes: keyBytes } = await querierKey(deps, who, policy, input.publicKey, base);
  try {
    const now = deps.clock();
    const covered = await consentsFor(deps, who.member.id, tags, input.purpose, now);
    const consented = tags.filter((t) => covered.has(toHex(t)));
    const consentIds = [...covered.values()].map((c) => c.id);
    const legalBasis = [...new Set([...covered.values()].map((c) => c.legalBasis))].sort().join(",");
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
        (s) => (s.status !== "no_consent") === covered.has(toHex(fromBase64Url(s.tag))),
      );
      if (sameConsents) {
        const ciphertexts = cached.ciphertexts.map(toBase64Url);
        const audit = await deps.audit.append(
          deps.db,
          {
            type: "exposure.query",
            memberId: who.member.id,
            ...base,
            ...(legalBasis ? { legalBasis } : {}),
            consentIds,
            outputCount: countsOf(answer.subjects).ok,
            decision: {
              allowed: true,
              rules: ["exposure.consent", "exposure.cached", ...countRules(answer, policy.k)],
            },
            requestHash: who.requestHash,
            responseHash: sha256Bytes(packBlobs(cached.ciphertexts)),
          },
          now,
        );
        deps.log.info("exposure.query", { member: who.member.slug, queryId: answer.queryId, cached: true });
        return {
          ...answer,
          k: policy.k,
          cached: true,
          ciphertexts,
          receipt: await deps.audit.receipt(audit),
        };
      }
    }

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
    const exhaustedSet = new Set(exhausted.map(toHex));

    const queryId = randomUUID();
    const rounds = await runRounds(deps, {
      queryId,
      mode: input.mode,
      policy,
      context,
      publicKeyText: input.publicKey,
      candidates: spent,
      held,
    });

    const noiseScales = input.mode === "aggregate" ? aggregateNoiseScales(rounds.responded) : undefined;
    let ciphertexts: Uint8Array[] = [];
    let finishMs = 0;
    if (rounds.sum) {
      const random: RandomSource = runtime.random ?? cryptoRandom;
      const noise = noiseScales?.map((scale) => (scale > 0 ? discreteLaplace(random, scale) : 0));
      const started = performance.now();
      ciphertexts = finishResult(context, key, rounds.sum, noise);
      finishMs = performance.now() - started;
    }
    const answer: CachedAnswer = {
      queryId,
      mode: input.mode,
      invited: rounds.invited,
      responded: rounds.responded,
      rounds: rounds.rounds,
      publicKeyHash: toBase64Url(sha256(keyBytes)),
      subjects: tags.map((t) => {
        const h = toHex(t);
        const tag = toBase64Url(t);
        if (!covered.has(h)) return { tag, status: "no_consent" };
        if (exhaustedSet.has(h)) return { tag, status: "budget_exhausted" };
        const slotBase = rounds.slots.get(h);
        if (slotBase === undefined) return { tag, status: "suppressed" };
        return input.mode === "subjects" ? { tag, status: "ok", slotBase } : { tag, status: "ok" };
      }),
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
        publicKeyHash: sha256(keyBytes),
        answer,
        ciphertexts,
      });
    }
    const counts = countsOf(answer.subjects);
    const audit = await deps.audit.append(
      deps.db,
      {
        type: "exposure.query",
        memberId: who.member.id,
        ...base,
        ...(legalBasis ? { legalBasis } : {}),
        consentIds,
        outputCount: counts.ok,
        decision: {
          allowed: true,
          rules: [
            "exposure.consent",
            ...(rounds.failed ? ["exposure.rounds_failed"] : []),
            ...countRules(answer, policy.k),
          ],
        },
        requestHash: who.requestHash,
        responseHash: sha256Bytes(packBlobs(ciphertexts)),
      },
      deps.clock(),
    );
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
    });
    return {
      ...answer,
      k: policy.k,
      cached: false,
      ciphertexts: ciphertexts.map(toBase64Url),
      receipt: await deps.audit.receipt(audit),
    };
  } finally {
    key.dispose();
  }
}

/**
 * "A lender registering a tag right before a query for it" (issue 15.4): one alert per lender and day,
 * naming the querier too. Advisory (no sanction): a new loan queried the same day is also this pattern.
 */
async function alertFreshHolders(
  deps: CoreDeps,
  who: AuthenticatedMember,
  fresh: Map<string, number>,
  now: Date,
): Promise<void> {
  for (const [memberId, subjects] of fresh) {
    await raiseAlert(deps, {
      memberId,
      kind: "exposure.fresh_registration",
      severity: "low",
      windowKey: utcDay(now),
      detail: { subjects, querier: who.member.id },
    });
  }
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
