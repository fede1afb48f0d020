/** The abuse controls' wire views (ADR 0045), shared by `admin.alerts` (signed) and `portal.alerts` (session). */
import { listAlerts } from "@relink/core";
import type { listAlertsInput, listAlertsOutput } from "@relink/protocol";
import type { z } from "zod";

type Deps = Parameters<typeof listAlerts>[0];

/** Alerts newest first and the sanctions of the members they name, each with its log references. */
export async function alertsView(
  deps: Deps,
  input: z.infer<typeof listAlertsInput>,
): Promise<z.infer<typeof listAlertsOutput>> {
  const r = await listAlerts(deps, input);
  return {
    alerts: r.alerts.map((a) => ({
      id: a.id,
      memberId: a.memberId,
      member: a.memberSlug,
      kind: a.kind,
      severity: a.severity,
      window: a.windowKey,
      detail: a.detail as Record<string, string | number | boolean>,
      relatedLeaf: a.relatedLeaf === null ? null : Number(a.relatedLeaf),
      auditLeaf: a.auditLeaf === null ? null : Number(a.auditLeaf),
      createdAt: a.createdAt.toISOString(),
    })),
    sanctions: r.sanctions.map((x) => ({
      id: x.id,
      memberId: x.memberId,
      member: x.memberSlug,
      step: x.step,
      alertId: x.alertId,
      until: x.until?.toISOString() ?? null,
      auditLeaf: x.auditLeaf === null ? null : Number(x.auditLeaf),
      createdAt: x.createdAt.toISOString(),
    })),
  };
}
