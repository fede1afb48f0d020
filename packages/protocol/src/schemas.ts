/**
 * Versioned wire schemas (zod 4). Every hub procedure declares its input and output with these.
 * Bytes are unpadded base64url strings on the wire; `bytes(n)` checks the exact decoded length.
 */
import { z } from "zod";
import { fromBase64Url } from "./bytes.ts";

export const PROTOCOL_VERSION = 1;

/** Limits that bound every request the hub accepts. */
export const LIMITS = {
  tagsPerLookup: 1000,
  recordsPerBatch: 10_000,
  consentsPerBatch: 10_000,
  sealedLabelBytes: 2048,
} as const;

function decodesTo(min: number, max: number) {
  return (s: string) => {
    try {
      const n = fromBase64Url(s).length;
      return n >= min && n <= max;
    } catch {
      return false;
    }
  };
}

/** Exactly n bytes as base64url. */
export const bytes = (n: number, what: string) =>
  z.string().refine(decodesTo(n, n), { message: `${what}: expected ${n} bytes as unpadded base64url` });

/** Between min and max bytes as base64url. */
export const bytesBetween = (min: number, max: number, what: string) =>
  z
    .string()
    .max(Math.ceil((max * 4) / 3) + 2)
    .refine(decodesTo(min, max), {
      message: `${what}: expected ${min}..${max} bytes as unpadded base64url`,
    });

export const tag = bytes(32, "tag");
export const hash32 = bytes(32, "hash");
export const epoch = z.number().int().min(1).max(1_000_000);
export const uuid = z.uuid();
export const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, "lower-case letters, digits and dashes");
export const isoDate = z.iso.date();
/** A calendar day a member can plausibly have seen a contact (the hub also refuses future days). */
export const sightingDay = isoDate.refine((d) => d >= "1990-01-01" && d <= "2099-12-31", {
  message: "expected a day between 1990-01-01 and 2099-12-31",
});
export const isoDateTime = z.iso.datetime({ offset: true });

/**
 * Characters refused in free-text identifiers a member writes (consent references, reasons): C0/C1
 * controls (NUL included), lone surrogates, line/paragraph separators, the byte-order mark and the Unicode
 * bidirectional formatting characters (UAX #9: LRM, RLM, ALM, LRE..RLO, LRI..PDI) that make a reference
 * display as something it is not ("Trojan Source", CVE-2021-42574). PostgreSQL also refuses NUL in text.
 */
export const UNSAFE_TEXT_RE = /[\p{Cc}\p{Cs}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2028\u2029\uFEFF]/u;

/** A member-written reference (1..max characters) without control, NUL or bidi-override characters. */
export const safeText = (max: number, what: string) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !UNSAFE_TEXT_RE.test(s), {
      message: `${what}: control, NUL, bidirectional-override and separator characters are not allowed`,
    });

export const LABEL_KINDS = ["phone", "address", "email", "employer"] as const;
export const labelKind = z.enum(LABEL_KINDS);

/** Why a member asks. Each purpose has its own consent; a consent for one does not cover another. */
export const PURPOSES = ["debt_collection", "credit_assessment", "fraud_prevention", "legal_claim"] as const;
export const purpose = z.enum(PURPOSES);

/** Lawful bases of PIPL Article 13 that apply to members' processing. */
export const LEGAL_BASES = ["consent", "contract_performance", "legal_obligation", "court_order"] as const;
export const legalBasis = z.enum(LEGAL_BASES);

export const DATA_CATEGORIES = ["contact", "employment", "credit_exposure"] as const;
export const dataCategory = z.enum(DATA_CATEGORIES);

// ---------------------------------------------------------------------------------------------- members

export const MEMBER_KINDS = [
  "bank",
  "consumer_finance",
  "auto_finance",
  "collection_agency",
  "other",
] as const;
export const MEMBER_CAPABILITIES = ["lender", "collector", "querier"] as const;

export const onboardMemberInput = z.object({
  slug,
  displayName: z.string().min(1).max(200),
  kind: z.enum(MEMBER_KINDS),
  capabilities: z.array(z.enum(MEMBER_CAPABILITIES)).max(3),
  signingPublicKey: bytes(32, "signingPublicKey"),
  dailyLookupQuota: z.number().int().min(0).optional(),
  dailyEvaluationQuota: z.number().int().min(0).optional(),
});

export const memberView = z.object({
  id: uuid,
  slug,
  displayName: z.string(),
  kind: z.enum(MEMBER_KINDS),
  capabilities: z.array(z.enum(MEMBER_CAPABILITIES)),
  status: z.enum(["active", "suspended"]),
  suspendedReason: z.string().nullable(),
  dailyLookupQuota: z.number().int(),
  dailyEvaluationQuota: z.number().int(),
});

// -------------------------------------------------------------------------------------------- directory

/** One contact record: a sealed label under a subject's tag. `recordId` is the publisher's opaque key. */
export const directoryUpsert = z.object({
  tag,
  recordId: bytes(16, "recordId"),
  kind: labelKind,
  /** Stored as a PostgreSQL int4. */
  labelVersion: z.number().int().min(1).max(2_147_483_647),
  /** HMAC of the canonical value under the label key: lets the hub count corroborating members only. */
  valueDigest: hash32,
  /** Day the publisher last saw this contact point work; drives retention. */
  lastSeenOn: sightingDay,
  sealed: bytesBetween(40, LIMITS.sealedLabelBytes, "sealed"),
});

export const directoryDeletion = z.object({ tag, recordId: bytes(16, "recordId").optional() });

export const publishBatchInput = z
  .object({
    batchId: uuid,
    epoch,
    upserts: z.array(directoryUpsert).max(LIMITS.recordsPerBatch),
    deletions: z.array(directoryDeletion).max(LIMITS.recordsPerBatch),
  })
  .refine((b) => b.upserts.length + b.deletions.length > 0, { message: "empty batch" });

export const publishBatchOutput = z.object({
  batchId: uuid,
  /** True when this batch id was already applied: nothing changed. */
  replayed: z.boolean(),
  upserted: z.number().int(),
  deleted: z.number().int(),
  receipt: z.unknown(),
});

/** Erasure: every record of this member under the tag (a data subject's request). */
export const eraseInput = z.object({ tags: z.array(tag).min(1).max(LIMITS.tagsPerLookup) });

// --------------------------------------------------------------------------------------------- consents

export const consentReference = safeText(128, "reference");

export const consentRecord = z
  .object({
    /** The member's own reference for the consent, opaque to the hub (e.g. a hash of its case id). */
    reference: consentReference,
    tag,
    purpose,
    legalBasis,
    dataCategories: z.array(dataCategory).min(1).max(DATA_CATEGORIES.length),
    grantedAt: isoDateTime,
    expiresAt: isoDateTime,
    /** SHA-256 of the evidence the member keeps (signed form, court order, contract). */
    evidenceHash: hash32,
    /**
     * Commitment to the member's case (HMAC of its case id under a member secret): one case is one
     * debtor, so the hub can refuse one case or one evidence document spread over unrelated subjects.
     */
    caseCommitment: hash32,
    /** Ed25519 signature by the member's request key over `consentAttestationMessage` (consent-attestation.ts). */
    attestation: bytes(64, "attestation"),
  })
  .refine((c) => Date.parse(c.expiresAt) > Date.parse(c.grantedAt), {
    message: "expiresAt must be after grantedAt",
    path: ["expiresAt"],
  });

export const registerConsentsInput = z.object({
  consents: z.array(consentRecord).min(1).max(LIMITS.consentsPerBatch),
});
/**
 * Registration is idempotent per reference: `registered` new records (their `ids`), `updated` changed
 * records, `unchanged` ones already registered exactly so, `revoked` ones under a revoked reference (left
 * revoked). One receipt per leaf written (registration, update); `receipt` is the first or null.
 */
export const registerConsentsOutput = z.object({
  registered: z.number().int(),
  ids: z.array(uuid),
  updated: z.number().int().default(0),
  unchanged: z.number().int().default(0),
  revoked: z.number().int().default(0),
  receipt: z.unknown(),
  receipts: z.array(z.unknown()).default([]),
});

/**
 * Revokes every record registered under each reference: `ref` itself or `ref#<n>` (the SDK's per-identifier
 * records). An unknown reference fails the whole request (NOT_FOUND naming it). `receipt` is null when
 * every record was already revoked (nothing written).
 */
export const revokeConsentsInput = z.object({
  references: z.array(consentReference).min(1).max(LIMITS.consentsPerBatch),
});
export const revokeConsentsOutput = z.object({
  revoked: z.number().int(),
  alreadyRevoked: z.number().int().default(0),
  receipt: z.unknown(),
});

// ------------------------------------------------------------------------------ consent-membership proofs
// ADR 0050, docs/protocol/consent-proofs.md: committing a consent root; the proofs a lookup carries.

/** A Poseidon root: 32 bytes big-endian (the hub also checks it is a BN254 scalar). */
export const consentRoot = bytes(32, "consentRoot");

export const commitConsentRootInput = z.object({
  root: consentRoot,
  /** How many consents the tree holds (1 .. 2^20). */
  count: z
    .number()
    .int()
    .min(1)
    .max(2 ** 20),
  /** SHA-256 (base64url) of the verification key the member built its proofs for: must be the hub's. */
  vkeyHash: hash32,
});
export const commitConsentRootOutput = z.object({ committed: z.boolean(), receipt: z.unknown() });

/**
 * One proof per queried tag, in the order of `tags`, for a query of at most `maxTags` tags (lookups and
 * exposure queries carry the same shape; ADR 0050, ADR 0047).
 */
export const consentProofsOf = (maxTags: number) =>
  z.object({
    /** The query time the proofs used (ms since the Unix epoch); the hub accepts it within its skew. */
    queryTime: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    items: z
      .array(z.object({ root: consentRoot, proof: bytes(256, "proof") }))
      .min(1)
      .max(maxTags),
  });

/** A lookup's consent proofs. */
export const consentProofs = consentProofsOf(LIMITS.tagsPerLookup);

export type CommitConsentRootInput = z.infer<typeof commitConsentRootInput>;
export type ConsentProofsWire = z.infer<typeof consentProofs>;

// ---------------------------------------------------------------------------------------------- lookups

export const lookupInput = z.object({
  epoch,
  purpose,
  tags: z.array(tag).min(1).max(LIMITS.tagsPerLookup),
  /** Commitment to the querier's case (e.g. SHA-256 of its case id and a salt); goes into the audit leaf. */
  caseCommitment: hash32,
  /** Consent-membership proofs, one per tag (ADR 0050); required once the member committed a consent root. */
  consentProofs: consentProofs.optional(),
});

export const lookupRecord = z.object({
  kind: labelKind,
  /** The publisher's opaque record id (bound into the label's AD); says nothing about who published. */
  recordId: bytes(16, "recordId"),
  labelVersion: z.number().int(),
  lastSeenOn: isoDate,
  sealed: z.string(),
  /** Members (including this publisher) holding the same value for this subject. */
  corroboration: z.number().int().min(1),
});

export const lookupResult = z.object({
  tag,
  /**
   * `ok` also for a subject who opted out of contact relocation (then with no records): the querier
   * learns "no result", exactly as for a subject no member holds (docs/protocol/skip-trace.md §Opt-out).
   */
  status: z.enum(["ok", "no_consent"]),
  records: z.array(lookupRecord),
});

/**
 * Contact conduct window the member's dialler must honour for every contact returned (GB/T 45251: no
 * collection contact between 22:00 and 08:00 local time; the network's local time is UTC+8).
 */
export const contactConduct = z.object({
  /** IANA zone and fixed offset the window is expressed in. */
  timeZone: z.literal("Asia/Shanghai"),
  utcOffset: z.literal("+08:00"),
  /** Local time no contact may be made from (inclusive) … */
  noContactFrom: z.string().regex(/^\d{2}:\d{2}$/),
  /** … until (exclusive). */
  noContactUntil: z.string().regex(/^\d{2}:\d{2}$/),
  basis: z.string(),
});
export type ContactConduct = z.infer<typeof contactConduct>;

export const CONTACT_CONDUCT: ContactConduct = {
  timeZone: "Asia/Shanghai",
  utcOffset: "+08:00",
  noContactFrom: "22:00",
  noContactUntil: "08:00",
  basis: "GB/T 45251",
};

export const lookupOutput = z.object({
  results: z.array(lookupResult),
  /** Conduct rules for every contact in `results` (the dialler export carries them). */
  conduct: contactConduct,
  receipt: z.unknown(),
});

export type OnboardMemberInput = z.infer<typeof onboardMemberInput>;
export type MemberView = z.infer<typeof memberView>;
export type DirectoryUpsert = z.infer<typeof directoryUpsert>;
export type PublishBatchInput = z.infer<typeof publishBatchInput>;
export type PublishBatchOutput = z.infer<typeof publishBatchOutput>;
export type ConsentRecord = z.infer<typeof consentRecord>;
export type LookupInput = z.infer<typeof lookupInput>;
export type LookupOutput = z.infer<typeof lookupOutput>;
export type LookupRecord = z.infer<typeof lookupRecord>;
export type LabelKind = z.infer<typeof labelKind>;
export type Purpose = z.infer<typeof purpose>;

// ---------------------------------------------------------------------------------------------- key holders

/** Largest batch one evaluation request may carry (RFC 9497 batches allow 2^16 − 1; we stay well below). */
export const MAX_EVALUATION_BATCH = 4096;

export const networkId = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, "network id");

export const evaluateInput = z.object({
  networkId,
  epoch,
  blindedElements: z.array(bytes(32, "blindedElement")).min(1).max(MAX_EVALUATION_BATCH),
  /**
   * "batch" (default): the RFC 9497 batch DLEQ proof with the evaluations. "none": evaluations only — the
   * client proves them afterwards with one combined element it sends as an ordinary "batch" request of
   * one element (ADR 0013; docs/protocol/oprf.md).
   */
  proof: z.enum(["batch", "none"]).optional(),
});

export const evaluateOutput = z.object({
  networkId,
  epoch,
  holder: z.number().int().min(1).max(0xffff),
  evaluatedElements: z.array(z.string()),
  /** Absent exactly when the request asked for proof "none". */
  proof: z.string().optional(),
});

export const keyHolderInfo = z.object({
  networkId,
  epoch,
  holder: z.number().int().min(1).max(0xffff),
  threshold: z.number().int().min(1),
  publicShare: bytes(32, "publicShare"),
  groupPublicKey: bytes(32, "groupPublicKey"),
});

/** What a key holder needs to know of each member: its request key and evaluation quota. */
export const memberDirectoryEntry = z.object({
  memberId: uuid,
  slug,
  status: z.enum(["active", "suspended"]),
  signingKeys: z.array(bytes(32, "signingKey")),
  dailyEvaluationQuota: z.number().int().min(0),
});
/**
 * The directory and its version (ADR 0038): the version moves at the commit of every change to a member or
 * its keys. Optional only so that a holder can read a hub that predates it (it then relies on its TTL).
 */
export const memberDirectory = z.object({
  version: z.number().int().min(0).optional(),
  members: z.array(memberDirectoryEntry),
});

/**
 * `network.memberDirectory` input (ADR 0038): with the version the reader holds and a wait, the hub answers
 * when the version differs (at once if it already does), or after the wait (at most the hub's own bound).
 */
export const memberDirectoryInput = z
  .object({
    knownVersion: z.number().int().min(0).optional(),
    waitMs: z.number().int().min(0).max(600_000).optional(),
  })
  .optional();

export type EvaluateInput = z.infer<typeof evaluateInput>;
export type EvaluateOutput = z.infer<typeof evaluateOutput>;
export type KeyHolderInfoWire = z.infer<typeof keyHolderInfo>;
export type MemberDirectoryEntry = z.infer<typeof memberDirectoryEntry>;
