/**
 * Admitting an exposure query at the hub (docs/protocol/exposure-he.md §2; threat T4): the querier's
 * capability, the epoch, unique tags, consent per subject — by verified consent-membership proofs (ADR 0050,
 * ADR 0047: the same check lookups make) or by the hub's registry (purpose, category `credit_exposure`) —
 * and the querier's HE public key. Every refusal is a denial leaf.
 */
import { type Consent, coveringConsents } from "@relink/db";
import { type HeContext, HeError, type HePublicKey, isPresetId, loadHe } from "@relink/he";
import { type ExposureQueryInput, fromBase64Url, RelinkError, toHex } from "@relink/protocol";
import type { AuthenticatedMember } from "../auth.ts";
import { checkConsentProofs } from "../consent-proofs.ts";
import type { AuditEventInput, CoreDeps } from "../context.ts";
import { deny } from "../denials.ts";
import type { Coverage } from "./answer.ts";
import { type ExposurePolicy, QUERY_CAPABILITY } from "./policy.ts";

const CONSENT_CHUNK = 5000;

/** Capability, epoch and unique tags; refusals are denial leaves. */
export async function checkQueryShape(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: ExposureQueryInput,
  tags: Uint8Array[],
  base: Partial<AuditEventInput>,
): Promise<void> {
  if (!who.member.capabilities.includes(QUERY_CAPABILITY)) {
    await deny(deps, who, new RelinkError("FORBIDDEN", `member lacks the '${QUERY_CAPABILITY}' capability`), {
      ...base,
      rule: "exposure.capability",
    });
  }
  if (input.epoch !== deps.policy.epoch) {
    await deny(
      deps,
      who,
      new RelinkError("WRONG_EPOCH", `tags of epoch ${input.epoch}, network epoch ${deps.policy.epoch}`),
      { ...base, rule: "exposure.epoch" },
    );
  }
  if (new Set(tags.map(toHex)).size !== tags.length) {
    await deny(deps, who, new RelinkError("BAD_INPUT", "tags: a tag is repeated", { field: "tags" }), {
      ...base,
      rule: "exposure.tags",
    });
  }
}

async function consentsFor(
  deps: CoreDeps,
  memberId: string,
  tags: Uint8Array[],
  purpose: ExposureQueryInput["purpose"],
  at: Date,
): Promise<Map<string, Consent>> {
  const all = new Map<string, Consent>();
  for (let i = 0; i < tags.length; i += CONSENT_CHUNK) {
    const part = await coveringConsents(deps.db, {
      memberId,
      tags: tags.slice(i, i + CONSENT_CHUNK),
      purpose,
      category: "credit_exposure",
      at,
    });
    for (const [k, v] of part) all.set(k, v);
  }
  return all;
}

/**
 * Which subjects the query may ask about. With proofs (ADR 0050 via `checkConsentProofs`, scope
 * `exposure`): every tag, or the query is refused before anything else is read; a member that committed a
 * consent root must send them. Without: the registry's covering consents.
 */
export async function coverageOf(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: ExposureQueryInput,
  tags: Uint8Array[],
  now: Date,
  base: Partial<AuditEventInput>,
): Promise<Coverage> {
  const proven = await checkConsentProofs(
    deps,
    who,
    "exposure",
    { purpose: input.purpose, tags, proofs: input.consentProofs, now },
    base,
  );
  if (proven) {
    return { covered: new Set(tags.map(toHex)), consentIds: [], legalBasis: "", proven };
  }
  const consents = await consentsFor(deps, who.member.id, tags, input.purpose, now);
  return {
    covered: new Set(consents.keys()),
    consentIds: [...consents.values()].map((c) => c.id),
    legalBasis: [...new Set([...consents.values()].map((c) => c.legalBasis))].sort().join(","),
    proven: undefined,
  };
}

/** Decodes and validates the querier's HE public key; refusals are BAD_INPUT denial leaves. */
export async function querierKey(
  deps: CoreDeps,
  who: AuthenticatedMember,
  policy: ExposurePolicy,
  text: string,
  base: Partial<AuditEventInput>,
): Promise<{ context: HeContext; key: HePublicKey; bytes: Uint8Array }> {
  const refuse = (why: string) =>
    deny(deps, who, new RelinkError("BAD_INPUT", `publicKey: ${why}`, { field: "publicKey" }), {
      ...base,
      rule: "exposure.public_key",
    });
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    return refuse("not base64url");
  }
  const he = await loadHe();
  let presetId: string;
  try {
    presetId = he.presetOf(bytes);
  } catch (error) {
    return refuse(error instanceof HeError ? error.code : "malformed");
  }
  if (!isPresetId(presetId) || !policy.presets.includes(presetId)) {
    return refuse(`preset ${presetId} is not accepted (accepted: ${policy.presets.join(", ")})`);
  }
  const context = he.context(presetId);
  try {
    return { context, key: context.loadPublicKey(bytes), bytes };
  } catch (error) {
    if (error instanceof HeError) return refuse(error.code);
    throw error;
  }
}
