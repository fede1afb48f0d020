/**
 * Wire schemas of the exposure protocol (docs/protocol/exposure-he.md §2–§5). HE keys and ciphertexts travel
 * as base64url of @relink/he envelopes; the hub and lenders validate them with @relink/he before use.
 */
import { z } from "zod";
import { lengthPrefixed } from "./bytes.ts";
import { bytes, consentProofsOf, epoch, hash32, purpose, tag, uuid } from "./schemas.ts";

export const EXPOSURE_FEATURES = [
  "active_lenders",
  "outstanding",
  "dpd_current",
  "dpd_1_29",
  "dpd_30_59",
  "dpd_60_89",
  "dpd_90_plus",
  "opened_30d",
  "opened_90d",
] as const;
export type ExposureFeature = (typeof EXPOSURE_FEATURES)[number];

/** Per-lender, per-subject caps (whole units); lenders clip, the sum stays below the plain modulus. */
export const EXPOSURE_CAPS: Readonly<Record<ExposureFeature, number>> = {
  active_lenders: 1,
  outstanding: 10_000_000,
  dpd_current: 50,
  dpd_1_29: 50,
  dpd_30_59: 50,
  dpd_60_89: 50,
  dpd_90_plus: 50,
  opened_30d: 50,
  opened_90d: 50,
};

/** Aggregate-mode slot layout: outstanding split into three 20-bit limbs. */
export const AGGREGATE_SLOTS = [
  "active_lenders",
  "outstanding_lo",
  "outstanding_mid",
  "outstanding_hi",
  "dpd_current",
  "dpd_1_29",
  "dpd_30_59",
  "dpd_60_89",
  "dpd_90_plus",
  "opened_30d",
  "opened_90d",
] as const;
export const OUTSTANDING_LIMB_BITS = 20;

export const EXPOSURE_LIMITS = {
  tagsPerRegistration: 10_000,
  tagsPerQuery: 100_000,
  /** An HE envelope of the largest preset's public key, base64url, with margin. */
  publicKeyChars: 400_000,
  /** One ciphertext envelope of the largest preset, base64url, with margin. */
  ciphertextChars: 400_000,
  ciphertextsPerSubmit: 300,
  maxPollWaitMs: 25_000,
} as const;

export const exposureMode = z.enum(["subjects", "aggregate"]);
export type ExposureMode = z.infer<typeof exposureMode>;

export const registerMaskKeyInput = z.object({ publicKey: bytes(32, "publicKey") });
export const registerMaskKeyOutput = z.object({ fingerprint: z.string(), receipt: z.unknown() });

export const registerExposureSubjectsInput = z.object({
  epoch,
  tags: z.array(tag).min(1).max(EXPOSURE_LIMITS.tagsPerRegistration),
});
export const unregisterExposureSubjectsInput = z.object({
  tags: z.array(tag).min(1).max(EXPOSURE_LIMITS.tagsPerRegistration),
});
/**
 * A lender's signed book declaration (threat T4, issue 15.4): how many subjects it holds. The hub refuses
 * registrations beyond it, and keeps the signature so the lender is answerable for the figure. Signed with
 * the member's request key over `exposureBookMessage`.
 */
export const EXPOSURE_BOOK_DST = "relink/v1/exposure-book";
export const MAX_DECLARED_SUBJECTS = 100_000_000;
export const declareExposureBookInput = z.object({
  epoch,
  declaredSubjects: z.number().int().min(0).max(MAX_DECLARED_SUBJECTS),
  signature: bytes(64, "signature"),
});
export const declareExposureBookOutput = z.object({
  declaredSubjects: z.number().int(),
  registered: z.number().int(),
  receipt: z.unknown(),
});

export function exposureBookMessage(
  ctx: { networkId: string; memberId: string },
  d: { epoch: number; declaredSubjects: number },
): Uint8Array {
  return lengthPrefixed(
    EXPOSURE_BOOK_DST,
    ctx.networkId,
    ctx.memberId.toLowerCase(),
    String(d.epoch),
    String(d.declaredSubjects),
  );
}

export const exposureSubjectsOutput = z.object({
  changed: z.number().int(),
  total: z.number().int(),
  receipt: z.unknown(),
});

const heBlob = (max: number, what: string) =>
  z
    .string()
    .min(16)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, `${what}: expected unpadded base64url`);

export const exposureQueryInput = z.object({
  epoch,
  purpose,
  mode: exposureMode,
  tags: z.array(tag).min(1).max(EXPOSURE_LIMITS.tagsPerQuery),
  caseCommitment: hash32,
  /** The querier's fresh HE public key (an @relink/he envelope). */
  publicKey: heBlob(EXPOSURE_LIMITS.publicKeyChars, "publicKey"),
  /**
   * Consent-membership proofs, one per tag (ADR 0050, ADR 0047): required, as for lookups, once the querier
   * committed a consent root (or for every member when the network says so).
   */
  consentProofs: consentProofsOf(EXPOSURE_LIMITS.tagsPerQuery).optional(),
});

export const EXPOSURE_SUBJECT_STATUSES = ["ok", "suppressed", "no_consent", "budget_exhausted"] as const;

export const exposureQueryOutput = z.object({
  queryId: uuid,
  mode: exposureMode,
  /** Lenders asked in the last round, and lenders whose answer is in the result. */
  invited: z.number().int(),
  responded: z.number().int(),
  rounds: z.number().int(),
  /** True when this is the cached answer of an identical query (under that query's public key). */
  cached: z.boolean(),
  /** SHA-256 (base64url) of the public key the result is encrypted under. */
  publicKeyHash: hash32,
  subjects: z.array(
    z.object({
      tag,
      status: z.enum(EXPOSURE_SUBJECT_STATUSES),
      /** Subjects mode: first slot of the subject's 9 features. */
      slotBase: z.number().int().min(0).optional(),
    }),
  ),
  /** Result ciphertexts (envelopes); empty when no subject was answered. */
  ciphertexts: z.array(z.string()),
  /** Aggregate mode: the noise's ε per feature and scale per slot (AGGREGATE_SLOTS order). */
  noise: z.object({ epsilon: z.number(), scales: z.array(z.number()) }).optional(),
  /** The hub's k: a subject is answered only when at least k other lenders hold it and respond. */
  k: z.number().int().min(1).optional(),
  receipt: z.unknown(),
});

export const exposurePollInput = z.object({
  waitMs: z.number().int().min(0).max(EXPOSURE_LIMITS.maxPollWaitMs),
});

export const exposureTask = z.object({
  queryId: uuid,
  round: z.number().int().min(1),
  mode: exposureMode,
  presetId: z.string(),
  publicKey: z.string(),
  ciphertextCount: z.number().int().min(1),
  /** This lender's subjects in the round and where their features go (aggregate mode: all 0). */
  slots: z.array(z.object({ tag, slotBase: z.number().int().min(0) })),
  /** Everyone masking in this round (this lender included), sorted by memberId. */
  participants: z.array(z.object({ memberId: uuid, maskKey: bytes(32, "maskKey") })),
  /** The day figures are computed as of (opened_30d / opened_90d), YYYY-MM-DD. */
  asOf: z.iso.date(),
  /** Unix milliseconds after which the hub no longer accepts this round's answer. */
  deadline: z.number().int(),
});
export const exposurePollOutput = z.object({ tasks: z.array(exposureTask) });

/**
 * The task stream (docs/protocol/exposure-he.md §3, ADR 0035): `POST /v1/exposure/tasks`, signed like every
 * member request, JSON body `exposurePollInput`. The hub answers 200 with content type
 * `application/x-ndjson` at once and then writes one `exposurePollOutput` line for each batch of tasks as it
 * assigns them, until `waitMs` has passed (then the lender opens the next stream). The same delivery as
 * `exposure.poll` — each task once — without a signed request per task.
 */
export const EXPOSURE_TASKS_PATH = "/v1/exposure/tasks";
export const EXPOSURE_TASKS_CONTENT_TYPE = "application/x-ndjson";

export const exposureSubmitInput = z.object({
  queryId: uuid,
  round: z.number().int().min(1),
  ciphertexts: z
    .array(heBlob(EXPOSURE_LIMITS.ciphertextChars, "ciphertext"))
    .min(1)
    .max(EXPOSURE_LIMITS.ciphertextsPerSubmit),
});
export const exposureSubmitOutput = z.object({ accepted: z.boolean() });

export type ExposureQueryInput = z.infer<typeof exposureQueryInput>;
export type ExposureQueryOutput = z.infer<typeof exposureQueryOutput>;
export type ExposureTask = z.infer<typeof exposureTask>;
export type ExposureSubmitInput = z.infer<typeof exposureSubmitInput>;

/**
 * The binary submit route (docs/protocol/exposure-he.md §6): `POST /v1/exposure/submit/<queryId>/<round>`,
 * content type application/octet-stream, signed like every member request; the body is the round's
 * ciphertext envelopes in order, each prefixed by its length as a big-endian u32.
 */
export const EXPOSURE_SUBMIT_PATH = "/v1/exposure/submit";
export const exposureSubmitPath = (queryId: string, round: number): string =>
  `${EXPOSURE_SUBMIT_PATH}/${queryId}/${round}`;

/** The submit body: `lengthPrefixed` of the envelopes (each u32 big-endian length ‖ envelope). */
export function packCiphertexts(envelopes: readonly Uint8Array[]): Uint8Array {
  return lengthPrefixed(...envelopes);
}

/** Splits a binary submit body; undefined if it is not a well-formed sequence of at most `max` frames. */
export function unpackCiphertexts(body: Uint8Array, max: number): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at < body.length; ) {
    if (at + 4 > body.length || out.length >= max) return undefined;
    const n = view.getUint32(at);
    if (n === 0 || at + 4 + n > body.length) return undefined;
    out.push(body.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out.length > 0 ? out : undefined;
}
