/**
 * The answer of an exposure query at the hub (docs/protocol/exposure-he.md §4–§6): the cache key of "the
 * same query", the aggregate noise scales, the per-subject statuses, the final noise + re-randomisation of
 * the sum, and the one audit leaf every answered query gets (counts only, never a figure).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { HeCiphertext, HeContext, HePublicKey } from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_CAPS,
  EXPOSURE_FEATURES,
  type ExposureQueryOutput,
  OUTSTANDING_LIMB_BITS,
  packCiphertexts,
  sha256Bytes,
  toHex,
} from "@relink/protocol";
import type { AuthenticatedMember } from "../auth.ts";
import { type ProvenQuery, storeConsentProofs } from "../consent-proofs.ts";
import type { AuditEventInput, CoreDeps } from "../context.ts";

export const FEATURES = EXPOSURE_FEATURES.length; // 9 slots per subject in subjects mode
/** ε of one aggregate query, split equally over the features. */
export const AGGREGATE_EPSILON = 1;

type SubjectStatus = ExposureQueryOutput["subjects"][number]["status"];

/** SHA-256 over purpose | mode | the sorted tags: the cache key of "the same query". */
export function exposureRequestKey(purpose: string, mode: string, tags: readonly Uint8Array[]): Uint8Array {
  // Hex once per tag, then sort (a comparator converting both sides costs 2 n log n conversions).
  const sorted = tags
    .map((t) => ({ t, hex: toHex(t) }))
    .sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0))
    .map((x) => x.t);
  const head = new TextEncoder().encode(`relink/exposure/request/v1\n${purpose}|${mode}|`);
  const buf = new Uint8Array(head.length + 32 * sorted.length);
  buf.set(head);
  sorted.forEach((t, i) => {
    buf.set(t, head.length + 32 * i);
  });
  return sha256(buf);
}

/**
 * Per-slot noise scale of an aggregate result with `responders` lenders (AGGREGATE_SLOTS order): the
 * discrete Laplace scale Δ/ε_f with Δ = responders × cap and ε_f = ε / 9; `outstanding` in units of 2^20
 * CNY in the mid limb (the other limbs carry none).
 */
export function aggregateNoiseScales(responders: number): number[] {
  const perFeature = FEATURES / AGGREGATE_EPSILON;
  const midUnit = 2 ** OUTSTANDING_LIMB_BITS;
  return AGGREGATE_SLOTS.map((slot) => {
    if (slot === "outstanding_lo" || slot === "outstanding_hi") return 0;
    const cap =
      slot === "outstanding_mid"
        ? Math.ceil(EXPOSURE_CAPS.outstanding / midUnit)
        : EXPOSURE_CAPS[slot as keyof typeof EXPOSURE_CAPS];
    return responders * cap * perFeature;
  });
}

/** What the hub caches of an answer (24 h) besides its ciphertexts. */
export interface CachedAnswer {
  queryId: string;
  mode: ExposureQueryOutput["mode"];
  invited: number;
  responded: number;
  rounds: number;
  publicKeyHash: string;
  subjects: ExposureQueryOutput["subjects"];
  noise?: ExposureQueryOutput["noise"];
}

export function countsOf(subjects: ExposureQueryOutput["subjects"]): Record<SubjectStatus, number> {
  const n: Record<SubjectStatus, number> = { ok: 0, suppressed: 0, no_consent: 0, budget_exhausted: 0 };
  for (const s of subjects) n[s.status]++;
  return n;
}

/** Counts only, as rule codes of the leaf's closed alphabet (docs/protocol/exposure-he.md §6). */
function countRules(a: CachedAnswer, k: number): string[] {
  const n = countsOf(a.subjects);
  return [
    `exposure.mode:${a.mode}`,
    `exposure.k:${k}`,
    `exposure.answered:${n.ok}`,
    `exposure.suppressed:${n.suppressed}`,
    `exposure.no_consent:${n.no_consent}`,
    `exposure.budget_exhausted:${n.budget_exhausted}`,
    `exposure.invited:${a.invited}`,
    `exposure.responded:${a.responded}`,
    `exposure.rounds:${a.rounds}`,
  ];
}

/** How the query's subjects were found covered: by the hub's consent registry, or by verified proofs. */
export interface Coverage {
  /** tag hex of every covered subject. */
  covered: ReadonlySet<string>;
  consentIds: string[];
  /** Registry path: the legal bases of the covering consents ("" with proofs: the hub never learns them). */
  legalBasis: string;
  proven: ProvenQuery | undefined;
}

/** What every leaf of the query names: purpose, case commitment, the asked tags and their count. */
export type QueryLeafBase = Pick<
  AuditEventInput,
  "purpose" | "caseCommitment" | "subjectTags" | "inputSize"
> & {
  inputSize: number;
};

/**
 * The query's one audit leaf (answered, cached or after failed rounds): counts only, the consents or the
 * commitment to the proofs, the answer's hash; with proofs, the bundle is stored by the leaf's index.
 */
export async function logExposureQuery(
  deps: CoreDeps,
  who: AuthenticatedMember,
  q: {
    base: QueryLeafBase;
    coverage: Coverage;
    answer: CachedAnswer;
    k: number;
    /** Rules between the consent rule and the counts: `exposure.cached`, `exposure.rounds_failed`. */
    flags: string[];
    ciphertexts: readonly Uint8Array[];
    at: Date;
    /** When the bundle is stored (the query's acceptance time). */
    acceptedAt: Date;
  },
): Promise<{ index: bigint }> {
  const { coverage } = q;
  const audit = await deps.audit.append(
    deps.db,
    {
      type: "exposure.query",
      memberId: who.member.id,
      ...q.base,
      ...(coverage.legalBasis ? { legalBasis: coverage.legalBasis } : {}),
      consentIds: coverage.consentIds,
      outputCount: countsOf(q.answer.subjects).ok,
      decision: {
        allowed: true,
        rules: [
          coverage.proven ? "exposure.consent-proof" : "exposure.consent",
          ...q.flags,
          ...countRules(q.answer, q.k),
        ],
      },
      requestHash: who.requestHash,
      // The leaf commits to the ciphertexts in the wire framing of the binary submit (`lengthPrefixed`).
      responseHash: sha256Bytes(packCiphertexts(q.ciphertexts)),
      ...(coverage.proven ? { consentProofsHash: coverage.proven.commitment } : {}),
    },
    q.at,
  );
  if (coverage.proven) {
    await storeConsentProofs(deps, who.member.id, audit.index, coverage.proven.bundle, q.acceptedAt);
  }
  return audit;
}

/** Adds the aggregate noise (if any), re-randomises and saves the sum; disposes of `sum`. */
export function finishResult(
  context: HeContext,
  key: HePublicKey,
  sum: HeCiphertext[],
  noise: number[] | undefined,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  try {
    if (noise) {
      // Encrypted under the querier's key and added: the hub never holds the noisy plaintext.
      const n = context.encrypt(key, noise, { signed: true });
      try {
        context.addInPlace(sum[0]!, n);
      } finally {
        n.dispose();
      }
    }
    for (const c of sum) {
      const fresh = context.rerandomize(c, key);
      try {
        out.push(context.saveCiphertext(fresh));
      } finally {
        fresh.dispose();
      }
    }
    return out;
  } finally {
    for (const c of sum) c.dispose();
  }
}
