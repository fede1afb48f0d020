/**
 * Portfolio totals as a querier should read them (docs/protocol/exposure-he.md §5): the hub adds discrete
 * Laplace noise, so a total can come out negative or be far from the truth on a small portfolio. Here the
 * figures are post-processed and labelled; post-processing a differentially private output never weakens
 * its guarantee (Dwork & Roth, "The Algorithmic Foundations of Differential Privacy", Prop. 2.1).
 *  - value: the noisy total clamped at 0 (every true total is ≥ 0); totals are already whole numbers.
 *  - ci95: a 95 % interval for the true total from the noise distribution alone (it says nothing about
 *    lenders that did not respond), also clamped at 0. Discrete Laplace with scale b, α = e^(−1/b):
 *    P(|X| ≥ m) = 2α^m / (1 + α) for m ≥ 1, so the half-width is the least m with P(|X| > m) ≤ 5 %.
 *    `outstanding` is the sum of three limbs' noise (lo + 2^20·mid + 2^40·hi): each limb's half-width at
 *    1 − 5 %/3 (union bound), so the interval covers at least 95 %.
 *  - noise_scale: b (for outstanding, the limbs' b weighted as above); unit: what the figure counts.
 */
import {
  AGGREGATE_SLOTS,
  EXPOSURE_FEATURES,
  type ExposureFeature,
  OUTSTANDING_LIMB_BITS,
} from "@relink/protocol";

export const FEATURE_UNITS: Readonly<Record<ExposureFeature, { unit: string; zh: string; means: string }>> = {
  active_lenders: {
    unit: "lenders",
    zh: "机构",
    means: "other lenders with an active loan, summed over subjects",
  },
  outstanding: { unit: "CNY", zh: "元", means: "outstanding balance at other lenders (whole yuan)" },
  dpd_current: { unit: "loans", zh: "笔", means: "loans 0 days past due" },
  dpd_1_29: { unit: "loans", zh: "笔", means: "loans 1–29 days past due" },
  dpd_30_59: { unit: "loans", zh: "笔", means: "loans 30–59 days past due" },
  dpd_60_89: { unit: "loans", zh: "笔", means: "loans 60–89 days past due" },
  dpd_90_plus: { unit: "loans", zh: "笔", means: "loans 90 or more days past due" },
  opened_30d: { unit: "loans", zh: "笔", means: "loans opened in the last 30 days" },
  opened_90d: { unit: "loans", zh: "笔", means: "loans opened in the last 90 days" },
};

/** Least m ≥ 0 with P(|X| > m) ≤ tail for X discrete Laplace of scale b (0 when b = 0: no noise). */
export function discreteLaplaceHalfWidth(scale: number, tail: number): number {
  if (!(scale > 0)) return 0;
  const alpha = Math.exp(-1 / scale);
  // P(|X| ≥ m+1) = 2α^(m+1)/(1+α) ≤ tail  ⇔  m+1 ≥ ln(tail(1+α)/2) / ln α
  const m = Math.ceil(Math.log((tail * (1 + alpha)) / 2) / Math.log(alpha)) - 1;
  return Math.max(0, m);
}

export interface AggregateFigure {
  feature: ExposureFeature;
  /** The noisy total after post-processing (clamped at 0). */
  total: number;
  unit: string;
  noise_scale: number;
  ci95_low: number;
  ci95_high: number;
  /** The total as decrypted, before post-processing (may be negative). */
  raw: number;
}

export interface AggregatePresentation {
  /** Subjects whose figures are in the totals (the others were suppressed or refused). */
  answered: number;
  k: number | null;
  epsilon: number | null;
  figures: AggregateFigure[];
}

export function presentAggregate(
  totals: Readonly<Record<ExposureFeature, number>>,
  noise: { epsilon: number; scales: readonly number[] } | undefined,
  meta: { answered: number; k?: number | undefined },
): AggregatePresentation {
  const at = (slot: (typeof AGGREGATE_SLOTS)[number]) => noise?.scales[AGGREGATE_SLOTS.indexOf(slot)] ?? 0;
  const limb = 2 ** OUTSTANDING_LIMB_BITS;
  const figures = EXPOSURE_FEATURES.map((feature) => {
    let scale: number;
    let half: number;
    if (feature === "outstanding") {
      const limbs = [at("outstanding_lo"), at("outstanding_mid"), at("outstanding_hi")];
      scale = limbs[0]! + limbs[1]! * limb + limbs[2]! * limb * limb;
      half = limbs.reduce((h, b, i) => h + discreteLaplaceHalfWidth(b, 0.05 / 3) * limb ** i, 0);
    } else {
      scale = at(feature as (typeof AGGREGATE_SLOTS)[number]);
      half = discreteLaplaceHalfWidth(scale, 0.05);
    }
    const raw = Math.round(totals[feature]);
    return {
      feature,
      total: Math.max(0, raw),
      unit: FEATURE_UNITS[feature].unit,
      noise_scale: scale,
      ci95_low: Math.max(0, raw - half),
      ci95_high: Math.max(0, raw + half),
      raw,
    };
  });
  return { answered: meta.answered, k: meta.k ?? null, epsilon: noise?.epsilon ?? null, figures };
}
