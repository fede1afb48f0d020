/**
 * The lender side of an exposure query at the hub (docs/protocol/exposure-he.md §3–§4): who holds the
 * subjects (seasoned, with a mask key, never the querier), the range check against the plain modulus,
 * and the rounds through the coordinator — k-suppression on the lenders still in the pool, tasks, and a
 * re-run without the lenders that missed the deadline or sent something refused.
 */
import { findExposureHolders } from "@relink/db";
import type { HeCiphertext, HeContext } from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_CAPS,
  type ExposureQueryInput,
  type ExposureTask,
  OUTSTANDING_LIMB_BITS,
  RelinkError,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import { raiseAlert } from "../abuse/alerts.ts";
import type { AuthenticatedMember } from "../auth.ts";
import type { AuditEventInput, CoreDeps } from "../context.ts";
import { deny, utcDay } from "../denials.ts";
import { aggregateNoiseScales, FEATURES } from "./answer.ts";
import { type ExposurePolicy, exposureRuntime } from "./policy.ts";

export interface Holdings {
  /** tag hex → members holding it (eligible: active lenders with a mask key, querier excluded). */
  byTag: Map<string, Set<string>>;
  maskKeys: Map<string, Uint8Array>;
  /** Holders left out for want of a mask key (they cannot take part). */
  withoutMaskKey: number;
  /** Lenders left out for subjects they registered less than minHoldingHours ago: member → subjects. */
  fresh: Map<string, number>;
}

export async function holdings(
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
export async function checkRanges(
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

export interface RoundsResult {
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
  /** The same, in the hub thread's CPU time. */
  absorbCpuMs: number;
}

export async function runRounds(
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
  let absorbCpuMs = 0;
  for (let round = 1; round <= policy.maxRounds; round++) {
    // k-suppression on the counts of the lenders still in the pool.
    const answered = args.candidates.filter((t) => {
      let n = 0;
      for (const m of held.byTag.get(toHex(t)) ?? []) if (pool.has(m)) n++;
      return n >= policy.k;
    });
    if (answered.length === 0) {
      return {
        slots: new Map(),
        invited,
        responded: 0,
        rounds: round - 1,
        failed: round > 1,
        absorbMs,
        absorbCpuMs,
      };
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
      onAbsorbed: (ms, cpuMs) => {
        absorbMs += ms;
        absorbCpuMs += cpuMs;
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
        absorbCpuMs,
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
  return {
    slots: new Map(),
    invited,
    responded: 0,
    rounds: policy.maxRounds,
    failed: true,
    absorbMs,
    absorbCpuMs,
  };
}

/**
 * "A lender registering a tag right before a query for it" (issue 15.4): one alert per lender and day,
 * naming the querier too. Advisory (no sanction): a new loan queried the same day is also this pattern.
 */
export async function alertFreshHolders(
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
