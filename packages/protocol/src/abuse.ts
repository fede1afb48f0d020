/**
 * Wire schemas of the abuse controls (docs/adr/0045-abuse-controls.md): network-admin procedures for alerts
 * and sanctions, honeytokens and the contact opt-out registry.
 */
import { z } from "zod";
import { epoch, LIMITS, safeText, slug, tag, uuid } from "./schemas.ts";

export const ALERT_SEVERITIES = ["low", "medium", "high"] as const;
export const SANCTION_STEPS = ["warn", "throttle", "suspend"] as const;

export const listAlertsInput = z.object({
  sinceDays: z.number().int().min(1).max(3650).optional(),
  limit: z.number().int().min(1).max(5000).optional(),
});

export const alertView = z.object({
  id: uuid,
  memberId: uuid,
  member: slug.or(z.string()),
  kind: z.string(),
  severity: z.enum(ALERT_SEVERITIES),
  window: z.string(),
  /** Counts and ids only. */
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  /** The audit leaf (receipt) that triggered the alert, and the alert's own leaf. */
  relatedLeaf: z.number().int().nullable(),
  auditLeaf: z.number().int().nullable(),
  createdAt: z.string(),
});

export const sanctionView = z.object({
  id: uuid,
  memberId: uuid,
  member: z.string(),
  step: z.enum(SANCTION_STEPS),
  alertId: uuid.nullable(),
  until: z.string().nullable(),
  /** The step's own `sanction.applied` leaf (its log reference); null only while it is being written. */
  auditLeaf: z.number().int().nullable(),
  createdAt: z.string(),
});

export const listAlertsOutput = z.object({ alerts: z.array(alertView), sanctions: z.array(sanctionView) });

export const plantHoneytokensInput = z.object({
  epoch,
  tags: z.array(tag).min(1).max(LIMITS.tagsPerLookup),
  /** The network's own note (which synthetic identity, where published); never shown to members. */
  note: safeText(200, "note"),
});
export const plantHoneytokensOutput = z.object({ planted: z.number().int(), receipt: z.unknown() });

export const registerOptOutsInput = z.object({
  epoch,
  tags: z.array(tag).min(1).max(LIMITS.tagsPerLookup),
  /** The network DPO's reference for the data subject's request (its ticket), opaque to the hub. */
  requestReference: safeText(128, "requestReference"),
});
export const registerOptOutsOutput = z.object({ registered: z.number().int(), receipt: z.unknown() });

/**
 * The registry as the network DPO sees it: one row per registration (request reference, time, epoch and how
 * many tags it added). Tags are not listed: they are all the hub holds of a subject, and no identifier is.
 */
export const optOutRegistryOutput = z.object({
  total: z.number().int(),
  registrations: z.array(
    z.object({
      requestReference: z.string(),
      epoch: z.number().int(),
      tags: z.number().int(),
      registeredAt: z.string(),
    }),
  ),
});

export type AlertView = z.infer<typeof alertView>;
export type SanctionView = z.infer<typeof sanctionView>;
