/**
 * Consent registry use cases: registration and revocation, each logged (ADR 0007).
 * Registration is idempotent per reference: an unchanged record is a no-op (no write, no leaf), a changed
 * one is updated (its old version kept) under its own audit leaf (rule `consent.update`), a revoked one
 * stays revoked. Revocation names unknown references in its error and changes nothing then.
 */
import { type Consent, consentsByReference, revokeConsentIds, upsertConsents } from "@relink/db";
import { type ConsentRecord, fromBase64Url, RelinkError } from "@relink/protocol";
import {
  ConsentQuotaExceeded,
  chargeConsentQuota,
  denyConsentQuota,
  recordConsentAttestations,
  vetConsentRegistration,
} from "./abuse/consent-policy.ts";
import type { AuthenticatedMember } from "./auth.ts";
import type { CoreDeps } from "./context.ts";
import { requireActive } from "./denials.ts";

export interface RegisterConsentsResult {
  /** Newly registered records. */
  consents: Consent[];
  updated: Consent[];
  unchanged: Consent[];
  /** Records under revoked references, left revoked. */
  revoked: Consent[];
  /** Receipt of the registration leaf, else of the update leaf; null when nothing changed. */
  receipt: unknown;
  /** Every leaf's receipt (registration first, then update). */
  receipts: unknown[];
}

export async function registerConsents(
  deps: CoreDeps,
  who: AuthenticatedMember,
  consents: ConsentRecord[],
): Promise<RegisterConsentsResult> {
  await requireActive(deps, who);
  await vetConsentRegistration(deps, who, consents);
  const at = deps.clock();
  const refs = consents.map((c) => c.reference);
  const dup = refs.find((r, i) => refs.indexOf(r) !== i);
  if (dup !== undefined)
    throw new RelinkError("BAD_INPUT", `reference "${dup}" appears twice in one registration`, {
      field: "reference",
    });
  const rows = consents.map((c) => ({
    memberId: who.member.id,
    reference: c.reference,
    tag: fromBase64Url(c.tag),
    purpose: c.purpose,
    legalBasis: c.legalBasis,
    dataCategories: c.dataCategories,
    grantedAt: new Date(c.grantedAt),
    expiresAt: new Date(c.expiresAt),
    evidenceHash: fromBase64Url(c.evidenceHash),
  }));
  const done = await deps.db
    .transaction()
    .execute(async (trx) => {
      const r = await upsertConsents(trx, rows, at);
      // Abuse controls (ADR 0045): the attestations of what changed, and the daily quota charged for it only
      // (an unchanged re-import costs nothing); over quota rolls the whole registration back.
      await recordConsentAttestations(trx, who, [...r.created, ...r.updated], consents);
      await chargeConsentQuota(deps, trx, who, r.created.length + r.updated.length, at);
      const leaves = [];
      for (const [changed, rule] of [
        [r.created, "consent.register"],
        [r.updated, "consent.update"],
      ] as const) {
        if (changed.length === 0) continue;
        leaves.push(
          await deps.audit.append(
            trx,
            {
              type: "consent.registered",
              memberId: who.member.id,
              subjectTags: changed.map((c) => c.tag),
              consentIds: changed.map((c) => c.id),
              inputSize: rows.length,
              outputCount: changed.length,
              decision: { allowed: true, rules: [rule] },
              requestHash: who.requestHash,
            },
            at,
          ),
        );
      }
      return { ...r, leaves };
    })
    .catch((error: unknown) => {
      if (error instanceof ConsentQuotaExceeded) return denyConsentQuota(deps, who, consents, error);
      throw error;
    });
  const receipts = [];
  for (const leaf of done.leaves) receipts.push(await deps.audit.receipt(leaf));
  return {
    consents: done.created,
    updated: done.updated,
    unchanged: done.unchanged,
    revoked: done.revoked,
    receipt: receipts[0] ?? null,
    receipts,
  };
}

/**
 * Revokes every record registered under each reference (`ref` itself or `ref#<n>`). An unknown reference
 * refuses the whole request, naming it; records already revoked are counted, not changed. The leaf (and
 * receipt) is written only when something was revoked.
 */
export async function revokeConsentsByReference(
  deps: CoreDeps,
  who: AuthenticatedMember,
  references: string[],
): Promise<{ revoked: Consent[]; alreadyRevoked: number; receipt: unknown }> {
  await requireActive(deps, who);
  const at = deps.clock();
  const done = await deps.db.transaction().execute(async (trx) => {
    const found = await consentsByReference(trx, who.member.id, references);
    const known = new Set(found.map((f) => f.reference));
    const unknown = [...new Set(references)].filter((r) => !known.has(r));
    if (unknown.length > 0) {
      const shown = unknown
        .slice(0, 20)
        .map((r) => `"${r}"`)
        .join(", ");
      throw new RelinkError(
        "NOT_FOUND",
        `unknown consent reference(s): ${shown}${unknown.length > 20 ? ` and ${unknown.length - 20} more` : ""}; nothing was revoked`,
        { field: "references" },
      );
    }
    const active = found.filter((f) => f.consent.revokedAt === null).map((f) => f.consent.id);
    const revoked = await revokeConsentIds(trx, who.member.id, [...new Set(active)], at);
    const alreadyRevoked = new Set(found.map((f) => f.consent.id)).size - revoked.length;
    if (revoked.length === 0) return { revoked, alreadyRevoked, audit: undefined };
    const audit = await deps.audit.append(
      trx,
      {
        type: "consent.revoked",
        memberId: who.member.id,
        subjectTags: revoked.map((c) => c.tag),
        consentIds: revoked.map((c) => c.id),
        inputSize: references.length,
        outputCount: revoked.length,
        decision: { allowed: true, rules: ["consent.revoke"] },
        requestHash: who.requestHash,
      },
      at,
    );
    return { revoked, alreadyRevoked, audit };
  });
  return {
    revoked: done.revoked,
    alreadyRevoked: done.alreadyRevoked,
    receipt: done.audit ? await deps.audit.receipt(done.audit) : null,
  };
}
