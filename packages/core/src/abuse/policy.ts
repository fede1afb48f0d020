/** The network's abuse-control parameters (docs/adr/0045-abuse-controls.md), with their defaults. */
import type { DataCategory, MemberCapability } from "@relink/db";
import type { CoreDeps } from "../context.ts";

export interface AbusePolicy {
  /** Capability a member needs to register a consent covering each data category. */
  consentCapabilities: Record<DataCategory, MemberCapability>;
  /** Consent records one member may register per UTC day (throttled members: divided by throttleFactor). */
  dailyConsentRegistrations: number;
  /** Distinct subject tags one case (one debtor) may cover: a person has a handful of identifiers. */
  maxTagsPerCase: number;
  /** A consent registered less than this long before a lookup of its tag counts as "fresh". */
  freshConsentMs: number;
  /** Alert when a member's lookups of freshly consented tags reach this many in a UTC day. */
  freshConsentLookupsAlert: number;
  /** Alert when a member asks this many tags without consent in a UTC day. */
  unconsentedLookupsAlert: number;
  /** Low hit rate: with at least `minLookups` tags asked today, fewer than `below` of them returned records. */
  hitRate: { minLookups: number; below: number };
  /** Volume: today's lookups above max(floor, multiplier × the mean of the previous `days` days). */
  volume: { floor: number; multiplier: number; days: number };
  /** Sanctions: alert points within `windowDays` (low/medium 1, high 3): 1 warn, 2 throttle, ≥ 3 suspend. */
  sanctions: {
    mode: "automatic" | "advisory";
    windowDays: number;
    throttleDays: number;
    throttleFactor: number;
  };
}

export const DEFAULT_ABUSE_POLICY: AbusePolicy = {
  consentCapabilities: { contact: "collector", employment: "collector", credit_exposure: "querier" },
  dailyConsentRegistrations: 2000,
  maxTagsPerCase: 8,
  freshConsentMs: 24 * 3_600_000,
  freshConsentLookupsAlert: 200,
  unconsentedLookupsAlert: 100,
  hitRate: { minLookups: 200, below: 0.02 },
  volume: { floor: 500, multiplier: 5, days: 30 },
  sanctions: { mode: "automatic", windowDays: 90, throttleDays: 7, throttleFactor: 10 },
};

export function abusePolicy(deps: Pick<CoreDeps, "policy">): AbusePolicy {
  const p = deps.policy.abuse ?? {};
  return {
    ...DEFAULT_ABUSE_POLICY,
    ...p,
    consentCapabilities: { ...DEFAULT_ABUSE_POLICY.consentCapabilities, ...p.consentCapabilities },
    hitRate: { ...DEFAULT_ABUSE_POLICY.hitRate, ...p.hitRate },
    volume: { ...DEFAULT_ABUSE_POLICY.volume, ...p.volume },
    sanctions: { ...DEFAULT_ABUSE_POLICY.sanctions, ...p.sanctions },
  };
}
