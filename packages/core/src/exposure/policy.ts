/** Exposure policy: the network's parameters for exposure queries, with the protocol's defaults. */
import type { PresetId } from "@relink/he";
import { RelinkError } from "@relink/protocol";
import type { CoreDeps, ExposureRuntime } from "../context.ts";

export interface ExposurePolicy {
  /** A subject is answered only if at least k lenders other than the querier hold it and respond. */
  k: number;
  /** Units per (querier, subject) per rolling window; a query spends one per subject asked. */
  budgetUnits: number;
  budgetWindowDays: number;
  /** An identical query within this many hours gets the cached answer. */
  cacheHours: number;
  /** How long a round waits for its participants, per mode. */
  deadlineMs: { subjects: number; aggregate: number };
  maxRounds: number;
  /** HE presets a querier's key may use. */
  presets: readonly PresetId[];
  /**
   * A holder counts towards k (and is asked) for a subject only once its registration of that subject is
   * this old: a lender cannot register a tag "right before" a query for it (issue 15.4). 0 turns it off.
   */
  minHoldingHours: number;
  /** Lenders must declare (and sign) their book size before registering, and never register beyond it. */
  requireBookDeclaration: boolean;
}

export const DEFAULT_EXPOSURE_POLICY: ExposurePolicy = {
  k: 3,
  budgetUnits: 12,
  budgetWindowDays: 30,
  cacheHours: 24,
  deadlineMs: { subjects: 5_000, aggregate: 60_000 },
  maxRounds: 3,
  presets: ["bfv-4096-add-v1"],
  minHoldingHours: 24,
  requireBookDeclaration: true,
};

export function exposurePolicy(deps: Pick<CoreDeps, "policy">): ExposurePolicy {
  const p = deps.policy.exposure ?? {};
  return {
    ...DEFAULT_EXPOSURE_POLICY,
    ...p,
    deadlineMs: { ...DEFAULT_EXPOSURE_POLICY.deadlineMs, ...p.deadlineMs },
  };
}

export function exposureRuntime(deps: CoreDeps): ExposureRuntime {
  if (!deps.exposure) throw new RelinkError("UNAVAILABLE", "this hub does not run exposure queries");
  return deps.exposure;
}

/** Capability a member needs to ask exposure queries. */
export const QUERY_CAPABILITY = "querier";
/** Capability a member needs to register subjects and answer rounds. */
export const LENDER_CAPABILITY = "lender";
