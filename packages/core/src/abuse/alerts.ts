/**
 * Abuse alerts and the sanctions ladder (threat T1; docs/adr/0045-abuse-controls.md). An alert names the
 * member and, where there is one, the audit leaf (receipt) that triggered it; it is stored once per
 * (member, kind, window), written as an `alert.raised` leaf, logged, and — in automatic mode — moves the
 * member up the ladder warn → throttle → suspend, each step a `sanction.applied` leaf. The network admin
 * reads alerts and sanctions through `admin.alerts` (`relink admin alerts`).
 */
import {
  type Alert,
  type AlertSeverity,
  findMemberById,
  insertAlert,
  insertSanction,
  type LoggedSanction,
  listAlerts as listAlertRows,
  listSanctions,
  type Sanction,
  type SanctionStep,
  setAlertLeaf,
  setMemberStatus,
  setSanctionLeaf,
} from "@relink/db";
import type { CoreDeps } from "../context.ts";
import { abusePolicy } from "./policy.ts";

const DAY_MS = 86_400_000;
const POINTS: Record<AlertSeverity, number> = { low: 1, medium: 1, high: 3 };

export interface RaiseAlert {
  memberId: string;
  kind: string;
  severity: AlertSeverity;
  /** Deduplication window, e.g. the UTC day or `leaf:<n>` for one alert per triggering event. */
  windowKey: string;
  /** Counts and ids only: never tags, identifiers or contact values. */
  detail: Record<string, string | number | boolean>;
  relatedLeaf?: bigint;
}

/**
 * Alert kinds that inform the admin but never move a member up the ladder: each also has an everyday
 * innocent cause (a new loan queried the same day; a new batch of debtors consented and matched at once; a
 * busy day). The ladder moves on what fishing cannot avoid: a low hit rate, lookups without consent,
 * honeytokens.
 */
export const ADVISORY_ALERTS: ReadonlySet<string> = new Set([
  "exposure.fresh_registration",
  "consent.bulk_then_lookup",
  "lookup.volume",
]);

export interface RaisedAlert {
  alert: Alert;
  sanction?: Sanction;
}

/** Raises an alert unless the same (member, kind, window) already has one; applies the ladder. */
export async function raiseAlert(deps: CoreDeps, a: RaiseAlert): Promise<RaisedAlert | undefined> {
  const at = deps.clock();
  const raised = await deps.db.transaction().execute(async (trx) => {
    const alert = await insertAlert(trx, {
      memberId: a.memberId,
      kind: a.kind,
      severity: a.severity,
      windowKey: a.windowKey,
      detail: a.detail,
      relatedLeaf: a.relatedLeaf ?? null,
      createdAt: at,
    });
    if (!alert) return undefined;
    const leaf = await deps.audit.append(
      trx,
      {
        type: "alert.raised",
        memberId: a.memberId,
        inputSize: 1,
        outputCount: 0,
        decision: {
          allowed: true,
          rules: [
            `alert.${a.kind}`,
            `alert.severity:${a.severity}`,
            ...(a.relatedLeaf !== undefined ? [`alert.leaf:${a.relatedLeaf}`] : []),
          ],
        },
      },
      at,
    );
    await setAlertLeaf(trx, alert.id, leaf.index);
    return { ...alert, auditLeaf: leaf.index };
  });
  if (!raised) return undefined;
  deps.log.warn("abuse.alert", {
    memberId: a.memberId,
    kind: a.kind,
    severity: a.severity,
    ...(a.relatedLeaf !== undefined ? { relatedLeaf: String(a.relatedLeaf) } : {}),
    ...a.detail,
  });
  const sanction = ADVISORY_ALERTS.has(a.kind) ? undefined : await applyLadder(deps, raised);
  return { alert: raised, ...(sanction ? { sanction } : {}) };
}

/** The next step for a member from its alert points in the window. */
export function ladderStep(points: number): SanctionStep {
  return points >= 3 ? "suspend" : points === 2 ? "throttle" : "warn";
}

async function applyLadder(deps: CoreDeps, alert: Alert): Promise<Sanction | undefined> {
  const policy = abusePolicy(deps).sanctions;
  if (policy.mode !== "automatic") return undefined;
  const at = deps.clock();
  // The ladder counts alerts of the window — since the last suspension, which the admin has lifted if the
  // member is active again: a reinstated member starts from the bottom.
  const windowStart = new Date(at.getTime() - policy.windowDays * DAY_MS);
  const lastSuspension = (await listSanctions(deps.db, alert.memberId, windowStart))
    .filter((s) => s.step === "suspend")
    .at(-1)?.createdAt;
  const since =
    lastSuspension && lastSuspension > windowStart ? new Date(lastSuspension.getTime() + 1) : windowStart;
  const recent = await listAlertRows(deps.db, { since, memberId: alert.memberId, limit: 1000 });
  const points = recent
    .filter((r) => !ADVISORY_ALERTS.has(r.kind))
    .reduce((n, r) => n + POINTS[r.severity], 0);
  const step = ladderStep(points);
  const member = await findMemberById(deps.db, alert.memberId);
  if (!member || member.status === "suspended") return undefined;
  const sanction = await deps.db.transaction().execute(async (trx) => {
    const s = await insertSanction(trx, {
      memberId: alert.memberId,
      step,
      alertId: alert.id,
      until: step === "throttle" ? new Date(at.getTime() + policy.throttleDays * DAY_MS) : null,
      createdAt: at,
    });
    if (step === "suspend") {
      await setMemberStatus(trx, alert.memberId, {
        status: "suspended",
        reason: `sanction: ${alert.kind}`,
        at,
      });
    }
    const leaf = await deps.audit.append(
      trx,
      {
        type: "sanction.applied",
        memberId: alert.memberId,
        inputSize: points,
        outputCount: 1,
        decision: {
          allowed: true,
          rules: [
            `sanction.${step}`,
            `alert.${alert.kind}`,
            ...(alert.auditLeaf !== null ? [`alert.leaf:${alert.auditLeaf}`] : []),
          ],
        },
      },
      at,
    );
    await setSanctionLeaf(trx, s.id, leaf.index);
    return s;
  });
  deps.log.warn("abuse.sanction", { memberId: alert.memberId, member: member.slug, step, points });
  return sanction;
}

export interface AlertView extends Alert {
  memberSlug: string;
}

/** Alerts for the network admin, newest first, with the member's slug. */
export async function listAlerts(
  deps: CoreDeps,
  input: { sinceDays?: number; limit?: number } = {},
): Promise<{ alerts: AlertView[]; sanctions: (LoggedSanction & { memberSlug: string })[] }> {
  const at = deps.clock();
  const since = input.sinceDays ? new Date(at.getTime() - input.sinceDays * DAY_MS) : undefined;
  const alerts = await listAlertRows(deps.db, { ...(since ? { since } : {}), limit: input.limit ?? 500 });
  const slugs = new Map<string, string>();
  const slugOf = async (id: string) => {
    if (!slugs.has(id)) slugs.set(id, (await findMemberById(deps.db, id))?.slug ?? id);
    return slugs.get(id)!;
  };
  const out: AlertView[] = [];
  const sanctions: (LoggedSanction & { memberSlug: string })[] = [];
  for (const a of alerts) out.push({ ...a, memberSlug: await slugOf(a.memberId) });
  for (const id of new Set(alerts.map((a) => a.memberId))) {
    for (const s of await listSanctions(deps.db, id, since ?? new Date(0))) {
      sanctions.push({ ...s, memberSlug: await slugOf(id) });
    }
  }
  return { alerts: out, sanctions };
}
