/**
 * What the abuse controls add to a contact lookup (docs/adr/0045-abuse-controls.md, docs/protocol/skip-trace.md):
 * the throttled quota, the opt-out registry and honeytokens (screened before records are read), and after
 * the lookup's leaf the per-member monitors — honeytoken lookups, lookups of freshly consented tags
 * (bulk consent-then-lookup), lookups without consent, hit rate and volume against the member's history —
 * each raising an alert (and the sanctions ladder) when it trips.
 */
import {
  consumeQuota,
  countConsentsRegisteredSince,
  dailyUsageHistory,
  findHoneytokens,
  findOptOuts,
  isThrottled,
  type QuotaCounter,
  quotaUsed,
} from "@relink/db";
import type { AuthenticatedMember } from "../auth.ts";
import type { CoreDeps } from "../context.ts";
import { utcDay } from "../denials.ts";
import { raiseAlert } from "./alerts.ts";
import { abusePolicy } from "./policy.ts";

const DAY_MS = 86_400_000;
const UNLIMITED = 2n ** 62n;

/** The member's daily lookup limit now: its quota, divided by the throttle factor while throttled. */
export async function lookupQuotaLimit(deps: CoreDeps, who: AuthenticatedMember, now: Date): Promise<bigint> {
  if (!(await isThrottled(deps.db, who.member.id, now))) return who.member.dailyLookupQuota;
  return who.member.dailyLookupQuota / BigInt(abusePolicy(deps).sanctions.throttleFactor);
}

export interface LookupScreen {
  /** Tags (hex) whose subject opted out of contact relocation: answered with no records. */
  optedOut: Set<string>;
  /** Tags (hex) that are network honeytokens: answered normally, and alerted on. */
  honeytokens: Set<string>;
}

export async function screenLookup(deps: CoreDeps, tags: Uint8Array[]): Promise<LookupScreen> {
  return { optedOut: await findOptOuts(deps.db, tags), honeytokens: await findHoneytokens(deps.db, tags) };
}

async function add(deps: CoreDeps, memberId: string, day: string, counter: QuotaCounter, n: number) {
  if (n <= 0) return undefined;
  return consumeQuota(deps.db, { memberId, day, counter, amount: BigInt(n), limit: UNLIMITED });
}

export interface LookupFacts {
  asked: number;
  /** Consent ids the lookup relied on. */
  consentIds: string[];
  unconsented: number;
  optedOut: number;
  /** Tags that returned at least one record. */
  hits: number;
  honeytokens: number;
  /** Audit leaf of the lookup (the receipt the alert names). */
  leaf: bigint;
  /** Today's lookup total after this one (the quota counter). */
  usedToday: bigint;
}

export async function monitorLookup(deps: CoreDeps, who: AuthenticatedMember, f: LookupFacts): Promise<void> {
  const policy = abusePolicy(deps);
  const now = deps.clock();
  const day = utcDay(now);
  const memberId = who.member.id;
  if (f.honeytokens > 0) {
    await raiseAlert(deps, {
      memberId,
      kind: "honeytoken.lookup",
      severity: "high",
      windowKey: `leaf:${f.leaf}`,
      detail: { honeytokens: f.honeytokens, asked: f.asked, lookupLeaf: Number(f.leaf) },
      relatedLeaf: f.leaf,
    });
  }
  if (f.optedOut > 0) {
    await add(deps, memberId, day, "lookup_opted_out", f.optedOut);
    deps.log.info("lookup.opted_out", { member: who.member.slug, count: f.optedOut, leaf: String(f.leaf) });
  }
  const fresh = await countConsentsRegisteredSince(
    deps.db,
    f.consentIds,
    new Date(now.getTime() - policy.freshConsentMs),
  );
  const freshToday = (await add(deps, memberId, day, "lookup_fresh_consent", fresh)) ?? 0n;
  const unconsentedToday = (await add(deps, memberId, day, "lookup_unconsented", f.unconsented)) ?? 0n;
  const hitsToday =
    (await add(deps, memberId, day, "lookup_hit", f.hits)) ??
    (await quotaUsed(deps.db, memberId, day, "lookup_hit"));
  const detail = { asked: f.asked, lookupsToday: Number(f.usedToday), lookupLeaf: Number(f.leaf) };
  if (freshToday >= BigInt(policy.freshConsentLookupsAlert)) {
    await raiseAlert(deps, {
      memberId,
      kind: "consent.bulk_then_lookup",
      severity: "medium",
      windowKey: day,
      detail: { ...detail, freshConsentLookupsToday: Number(freshToday) },
      relatedLeaf: f.leaf,
    });
  }
  if (unconsentedToday >= BigInt(policy.unconsentedLookupsAlert)) {
    await raiseAlert(deps, {
      memberId,
      kind: "lookup.without_consent",
      severity: "medium",
      windowKey: day,
      detail: { ...detail, unconsentedToday: Number(unconsentedToday) },
      relatedLeaf: f.leaf,
    });
  }
  if (
    f.usedToday >= BigInt(policy.hitRate.minLookups) &&
    Number(hitsToday) < policy.hitRate.below * Number(f.usedToday)
  ) {
    await raiseAlert(deps, {
      memberId,
      kind: "lookup.low_hit_rate",
      severity: "medium",
      windowKey: day,
      detail: { ...detail, hitsToday: Number(hitsToday) },
      relatedLeaf: f.leaf,
    });
  }
  const from = utcDay(new Date(now.getTime() - policy.volume.days * DAY_MS));
  const history = await dailyUsageHistory(deps.db, {
    memberId,
    counter: "lookup",
    beforeDay: day,
    fromDay: from,
  });
  const mean = history.reduce((n, u) => n + Number(u), 0) / policy.volume.days;
  if (Number(f.usedToday) > Math.max(policy.volume.floor, policy.volume.multiplier * mean)) {
    await raiseAlert(deps, {
      memberId,
      kind: "lookup.volume",
      severity: "low",
      windowKey: day,
      detail: { ...detail, dailyMean: Math.round(mean) },
      relatedLeaf: f.leaf,
    });
  }
}
