/**
 * Consent vetting (threat T1: "consent is self-declared, so fishing works"; docs/adr/0045-abuse-controls.md).
 * Before a batch of consents is stored the hub checks, in this order, each refusal a denial leaf:
 *   1. capability: a consent covering `contact` or `employment` needs the `collector` capability, one
 *      covering `credit_exposure` the `querier` capability (a lender-only member registers none);
 *   2. attestation: each record carries the member's Ed25519 signature (request-signing key) over the
 *      record and its case commitment (@relink/protocol consent-attestation.ts);
 *   3. evidence that cannot be a real document's SHA-256: all zero, the hash of nothing (SHA-256 of the
 *      empty string), fewer than 12 distinct byte values (e.g. "bbbb…"), equal to the tag or to the case;
 *   4. one evidence document, one case: an evidence hash already used (in this batch or earlier) for another
 *      case commitment is refused, as is a case covering more than `maxTagsPerCase` distinct tags;
 *   5. rate: at most `dailyConsentRegistrations` records per member per UTC day (÷ throttleFactor while
 *      throttled by the sanctions ladder).
 * What it cannot check: that the evidence exists. The signed attestation makes the member answerable for it.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  attestationUse,
  type Consent,
  consumeQuota,
  type Database,
  insertConsentAttestations,
  isThrottled,
} from "@relink/db";
import {
  bytesEqual,
  type ConsentRecord,
  fromBase64Url,
  RelinkError,
  toHex,
  verifyConsentAttestation,
} from "@relink/protocol";
import type { Transaction } from "kysely";
import type { AuthenticatedMember } from "../auth.ts";
import type { CoreDeps } from "../context.ts";
import { deny, secondsUntilNextDay, utcDay } from "../denials.ts";
import { abusePolicy } from "./policy.ts";

const EMPTY_SHA256 = sha256(new Uint8Array());
const MIN_DISTINCT_BYTES = 12;

/** Why an evidence hash cannot be the SHA-256 of a real document, or undefined if it can. */
export function implausibleEvidence(evidence: Uint8Array, tag: Uint8Array, caseCommitment: Uint8Array) {
  if (evidence.every((b) => b === 0)) return "all zero";
  if (bytesEqual(evidence, EMPTY_SHA256)) return "the SHA-256 of empty input";
  if (new Set(evidence).size < MIN_DISTINCT_BYTES) return "a repetitive pattern, not a hash";
  if (bytesEqual(evidence, tag)) return "equal to the subject's tag";
  if (bytesEqual(evidence, caseCommitment)) return "equal to the case commitment";
  return undefined;
}

/** Runs checks 1–4 on a batch; throws (after a denial leaf) on the first refusal (5: chargeConsentQuota). */
export async function vetConsentRegistration(
  deps: CoreDeps,
  who: AuthenticatedMember,
  consents: readonly ConsentRecord[],
): Promise<void> {
  const policy = abusePolicy(deps);
  const tags = consents.map((c) => fromBase64Url(c.tag));
  const base = { subjectTags: tags, inputSize: consents.length };
  const refuse = (i: number, field: string, rule: string, why: string): Promise<never> =>
    deny(
      deps,
      who,
      new RelinkError("BAD_INPUT", `consents.${i}.${field}: ${why}`, {
        row: i + 1,
        field: `consents.${i}.${field}`,
      }),
      { ...base, rule },
    );

  const needed = new Set(consents.flatMap((c) => c.dataCategories.map((d) => policy.consentCapabilities[d])));
  for (const capability of needed) {
    if (!who.member.capabilities.includes(capability)) {
      await deny(
        deps,
        who,
        new RelinkError("FORBIDDEN", `registering these consents needs the '${capability}' capability`),
        { ...base, rule: "consent.capability" },
      );
    }
  }

  const ctx = { networkId: deps.policy.networkId, memberId: who.member.id };
  for (const [i, c] of consents.entries()) {
    if (!verifyConsentAttestation(who.key.publicKey, ctx, c)) {
      await refuse(i, "attestation", "consent.attestation", "not the member's signature over this record");
    }
  }

  const evidence = consents.map((c) => fromBase64Url(c.evidenceHash));
  const cases = consents.map((c) => fromBase64Url(c.caseCommitment));
  for (let i = 0; i < consents.length; i++) {
    const why = implausibleEvidence(evidence[i]!, tags[i]!, cases[i]!);
    if (why) await refuse(i, "evidenceHash", "consent.evidence", `implausible evidence hash (${why})`);
  }

  const { casesByEvidence, tagsByCase } = await attestationUse(deps.db, {
    memberId: who.member.id,
    evidenceHashes: evidence,
    caseCommitments: cases,
  });
  for (let i = 0; i < consents.length; i++) {
    const e = toHex(evidence[i]!);
    const k = toHex(cases[i]!);
    const used = casesByEvidence.get(e) ?? new Set<string>();
    used.add(k);
    casesByEvidence.set(e, used);
    if (used.size > 1) {
      await refuse(
        i,
        "evidenceHash",
        "consent.evidence_reuse",
        "this evidence document is already attested for another case (one document, one debtor)",
      );
    }
    const covered = tagsByCase.get(k) ?? new Set<string>();
    covered.add(toHex(tags[i]!));
    tagsByCase.set(k, covered);
    if (covered.size > policy.maxTagsPerCase) {
      await refuse(
        i,
        "caseCommitment",
        "consent.case_tags",
        `one case may cover at most ${policy.maxTagsPerCase} subject tags`,
      );
    }
  }
}

/** Thrown inside the registration's transaction (rolling it back) when the daily quota would be exceeded. */
export class ConsentQuotaExceeded extends Error {
  readonly limit: number;
  readonly throttled: boolean;
  constructor(limit: number, throttled: boolean) {
    super("consent quota exceeded");
    this.limit = limit;
    this.throttled = throttled;
  }
}

/**
 * Check 5: charges `records` (created or changed) to the member's daily consent quota inside the
 * registration's transaction; throws ConsentQuotaExceeded when that would exceed it.
 */
export async function chargeConsentQuota(
  deps: CoreDeps,
  trx: Transaction<Database>,
  who: AuthenticatedMember,
  records: number,
  now: Date,
): Promise<void> {
  if (records === 0) return;
  const policy = abusePolicy(deps);
  const throttled = await isThrottled(trx, who.member.id, now);
  const limit = throttled
    ? Math.floor(policy.dailyConsentRegistrations / policy.sanctions.throttleFactor)
    : policy.dailyConsentRegistrations;
  const used = await consumeQuota(trx, {
    memberId: who.member.id,
    day: utcDay(now),
    counter: "consent",
    amount: BigInt(records),
    limit: BigInt(limit),
  });
  if (used === undefined) throw new ConsentQuotaExceeded(limit, throttled);
}

/** The refusal of a registration over quota: a denial leaf, then QUOTA_EXCEEDED with the retry-after. */
export function denyConsentQuota(
  deps: CoreDeps,
  who: AuthenticatedMember,
  consents: readonly ConsentRecord[],
  e: ConsentQuotaExceeded,
): Promise<never> {
  return deny(
    deps,
    who,
    new RelinkError(
      "QUOTA_EXCEEDED",
      `daily consent registration quota of ${e.limit} records exceeded${e.throttled ? " (member throttled)" : ""}`,
      { retryAfterSeconds: secondsUntilNextDay(deps.clock()) },
    ),
    {
      subjectTags: consents.map((c) => fromBase64Url(c.tag)),
      inputSize: consents.length,
      rule: "consent.quota",
    },
  );
}

/** Stores each stored consent's attestation (matched by reference) in the registration's transaction. */
export async function recordConsentAttestations(
  trx: Transaction<Database>,
  who: AuthenticatedMember,
  stored: readonly Consent[],
  consents: readonly ConsentRecord[],
): Promise<void> {
  const byRef = new Map(consents.map((c) => [c.reference, c]));
  await insertConsentAttestations(
    trx,
    stored.flatMap((s) => {
      const c = byRef.get(s.reference);
      if (!c) return [];
      return [
        {
          consentId: s.id,
          memberId: who.member.id,
          tag: s.tag,
          caseCommitment: fromBase64Url(c.caseCommitment),
          evidenceHash: s.evidenceHash,
          keyFingerprint: who.key.fingerprint,
          signature: fromBase64Url(c.attestation),
        },
      ];
    }),
  );
}
