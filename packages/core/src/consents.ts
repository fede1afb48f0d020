/** Consent registry use cases: registration and revocation, each logged. */
import { type Consent, insertConsents, revokeConsents } from "@relink/db";
import { type ConsentRecord, fromBase64Url } from "@relink/protocol";
import { recordConsentAttestations, vetConsentRegistration } from "./abuse/consent-policy.ts";
import type { AuthenticatedMember } from "./auth.ts";
import type { CoreDeps } from "./context.ts";
import { requireActive } from "./denials.ts";

export async function registerConsents(
  deps: CoreDeps,
  who: AuthenticatedMember,
  consents: ConsentRecord[],
): Promise<{ consents: Consent[]; receipt: unknown }> {
  await requireActive(deps, who);
  await vetConsentRegistration(deps, who, consents);
  const at = deps.clock();
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
  const done = await deps.db.transaction().execute(async (trx) => {
    const stored = await insertConsents(trx, rows, at);
    await recordConsentAttestations(trx, who, stored, consents);
    const audit = await deps.audit.append(
      trx,
      {
        type: "consent.registered",
        memberId: who.member.id,
        subjectTags: rows.map((r) => r.tag),
        consentIds: stored.map((c) => c.id),
        inputSize: rows.length,
        outputCount: stored.length,
        decision: { allowed: true, rules: ["consent.register"] },
        requestHash: who.requestHash,
      },
      at,
    );
    return { consents: stored, audit };
  });
  return { consents: done.consents, receipt: await deps.audit.receipt(done.audit) };
}

export async function revokeConsentsByReference(
  deps: CoreDeps,
  who: AuthenticatedMember,
  references: string[],
): Promise<{ revoked: Consent[]; receipt: unknown }> {
  await requireActive(deps, who);
  const at = deps.clock();
  const done = await deps.db.transaction().execute(async (trx) => {
    const revoked = await revokeConsents(trx, who.member.id, references, at);
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
    return { revoked, audit };
  });
  return { revoked: done.revoked, receipt: await deps.audit.receipt(done.audit) };
}
