/**
 * What the lender and querier sides of cross-lender exposure share (docs/protocol/exposure-he.md): presets,
 * timing constants, the per-subject layout, result types and the querier-side error.
 */
import type { PresetId } from "@relink/he";
import {
  EXPOSURE_FEATURES,
  type EXPOSURE_SUBJECT_STATUSES,
  type ExposureFeature,
  OUTSTANDING_LIMB_BITS,
} from "@relink/protocol";

/** The preset a querier asks with unless told otherwise (§1: additions only, k-suppression at assignment). */
export const DEFAULT_EXPOSURE_PRESET: PresetId = "bfv-4096-add-v1";
/** How long a querier keeps a query's HE secret key: the hub's 24 h cache window plus clock margin. */
export const HE_KEY_RETENTION_MS = 24 * 3_600_000 + 10 * 60_000;
/** Tolerance for clock skew against the hub when judging a task's deadline (the hub's clock decides). */
export const DEADLINE_GRACE_MS = 1_000;
/** Fewest maskers a lender accepts in a round (the hub's default k); fewer and its mask protects little. */
export const DEFAULT_MIN_PARTICIPANTS = 3;

/** Slots per subject in subjects mode. */
export const FEATURES_PER_SUBJECT = EXPOSURE_FEATURES.length;
/** One limb of `outstanding` in aggregate mode. */
export const OUTSTANDING_LIMB_SIZE = 2 ** OUTSTANDING_LIMB_BITS;

export type ExposureStatus = (typeof EXPOSURE_SUBJECT_STATUSES)[number];
/** Sums over lenders: each feature ≤ its cap × the number of responders (aggregate: noisy, may be < 0). */
export type ExposureTotals = Readonly<Record<ExposureFeature, number>>;

/** A querier-side failure that is not the hub's typed error. */
export class ExposureError extends Error {
  override readonly name = "ExposureError";
  readonly code: "bad-response" | "garbled" | "key-unavailable" | "no-consent";
  constructor(code: ExposureError["code"], message: string) {
    super(message);
    this.code = code;
  }
}
