/**
 * Contact lookup (threat T1: fishing). The querier gets sealed records only for tags it holds a valid
 * consent for, for this purpose and the "contact" category; never its own records; a corroboration count
 * rather than publisher identities (records carry only the publisher's opaque record id). Quota is charged per tag asked, before anything is read.
 */
import { consumeQuota, coveringConsents, findRecordsForTags } from "@relink/db";
import {
  CONTACT_CONDUCT,
  type ContactConduct,
  fromBase64Url,
  type LookupInput,
  RelinkError,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import { lookupQuotaLimit, monitorLookup, screenLookup } from "./abuse/lookup-monitor.ts";
import type { AuthenticatedMember } from "./auth.ts";
import { checkConsentProofs, storeConsentProofs } from "./consent-proofs.ts";
import type { CoreDeps } from "./context.ts";
import { deny, requireActive, secondsUntilNextDay, utcDay } from "./denials.ts";

export interface LookupRecordOut {
  kind: "phone" | "address" | "email" | "employer";
  recordId: string;
  labelVersion: number;
  lastSeenOn: string;
  sealed: string;
  corroboration: number;
}

export interface LookupResultOut {
  tag: string;
  status: "ok" | "no_consent";
  records: LookupRecordOut[];
}

export async function lookupContacts(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: LookupInput,
): Promise<{ results: LookupResultOut[]; conduct: ContactConduct; receipt: unknown }> {
  await requireActive(deps, who);
  const tags = input.tags.map(fromBase64Url);
  const caseCommitment = fromBase64Url(input.caseCommitment);
  const base = { purpose: input.purpose, caseCommitment, subjectTags: tags, inputSize: tags.length };
  if (!who.member.capabilities.includes(deps.policy.lookupCapability)) {
    await deny(
      deps,
      who,
      new RelinkError("FORBIDDEN", `member lacks the '${deps.policy.lookupCapability}' capability`),
      {
        ...base,
        rule: "lookup.capability",
      },
    );
  }
  if (input.epoch !== deps.policy.epoch) {
    await deny(
      deps,
      who,
      new RelinkError("WRONG_EPOCH", `tags of epoch ${input.epoch}, network epoch ${deps.policy.epoch}`),
      {
        ...base,
        rule: "lookup.epoch",
      },
    );
  }
  const now = deps.clock();
  const limit = await lookupQuotaLimit(deps, who, now);
  const used = await consumeQuota(deps.db, {
    memberId: who.member.id,
    day: utcDay(now),
    counter: "lookup",
    amount: BigInt(tags.length),
    limit,
  });
  if (used === undefined) {
    const retryAfterSeconds = secondsUntilNextDay(now);
    await deny(
      deps,
      who,
      new RelinkError("QUOTA_EXCEEDED", `daily lookup quota of ${limit} tags exceeded`, {
        retryAfterSeconds,
      }),
      { ...base, rule: "lookup.quota" },
    );
  }
  // With consent proofs (ADR 0050) every tag is covered by a verified proof, or the query was refused.
  const proven = await checkConsentProofs(
    deps,
    who,
    "lookup",
    { purpose: input.purpose, tags, proofs: input.consentProofs, now },
    { ...base, rule: "lookup.consent-proof" },
  );
  const covered = proven
    ? new Map(tags.map((t) => [toHex(t), { id: "", legalBasis: "" }] as const))
    : await coveringConsents(deps.db, {
        memberId: who.member.id,
        tags,
        purpose: input.purpose,
        category: "contact",
        at: now,
      });
  const consentedTags = tags.filter((t) => covered.has(toHex(t)));
  // Opted-out subjects (contact relocation) get no records: "ok" with nothing, as if no member held them.
  const screen = await screenLookup(deps, tags);
  const answerable = consentedTags.filter((t) => !screen.optedOut.has(toHex(t)));
  const records = await findRecordsForTags(deps.db, {
    tags: answerable,
    epoch: input.epoch,
    excludePublisher: who.member.id,
  });
  const byTag = new Map<string, LookupRecordOut[]>();
  for (const r of records) {
    const key = toHex(r.tag);
    const list = byTag.get(key) ?? [];
    list.push({
      kind: r.kind,
      recordId: toBase64Url(r.recordId),
      labelVersion: r.labelVersion,
      lastSeenOn: r.lastSeenOn,
      sealed: toBase64Url(r.sealed),
      corroboration: r.corroboration,
    });
    byTag.set(key, list);
  }
  const results: LookupResultOut[] = tags.map((t) => {
    const key = toHex(t);
    return covered.has(key)
      ? { tag: toBase64Url(t), status: "ok", records: byTag.get(key) ?? [] }
      : { tag: toBase64Url(t), status: "no_consent", records: [] };
  });
  const consentIds = proven ? [] : [...covered.values()].map((c) => c.id);
  const audit = await deps.audit.append(
    deps.db,
    {
      type: "lookup",
      memberId: who.member.id,
      purpose: input.purpose,
      legalBasis: proven
        ? undefined
        : [...new Set([...covered.values()].map((c) => c.legalBasis))].sort().join(","),
      caseCommitment,
      subjectTags: tags,
      consentIds,
      inputSize: tags.length,
      outputCount: records.length,
      decision: {
        allowed: true,
        rules: [
          proven ? "lookup.consent-proof" : "lookup.consent",
          ...(consentedTags.length < tags.length ? ["lookup.partial-consent"] : []),
        ],
      },
      requestHash: who.requestHash,
      consentProofsHash: proven?.commitment,
    },
    now,
  );
  if (proven) await storeConsentProofs(deps, who.member.id, audit.index, proven.bundle, now);
  if (consentedTags.length < tags.length) {
    deps.log.warn("lookup.unconsented-tags", {
      member: who.member.slug,
      asked: tags.length,
      unconsented: tags.length - consentedTags.length,
    });
  }
  await monitorLookup(deps, who, {
    asked: tags.length,
    consentIds,
    unconsented: tags.length - consentedTags.length,
    optedOut: consentedTags.length - answerable.length,
    hits: byTag.size,
    honeytokens: tags.filter((t) => screen.honeytokens.has(toHex(t))).length,
    leaf: audit.index,
    usedToday: used ?? 0n,
  });
  return { results, conduct: CONTACT_CONDUCT, receipt: await deps.audit.receipt(audit) };
}
