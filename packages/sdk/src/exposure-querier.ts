/**
 * Cross-lender exposure, querier side (docs/protocol/exposure-he.md §2, §5 and "Member side"): a fresh HE
 * key pair per query (the secret key kept 24 h in a local store, for cached answers), consent-membership
 * proofs for the asked tags when the member keeps a consent book (ADR 0050, ADR 0047), decryption of the
 * hub's re-randomised sum and decoding per subject or as portfolio totals.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { type He, type HeContext, loadHe, type PresetId } from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_CAPS,
  EXPOSURE_FEATURES,
  EXPOSURE_LIMITS,
  type ExposureMode,
  type ExposureQueryOutput,
  fromBase64Url,
  lengthPrefixed,
  type Purpose,
  toBase64Url,
} from "@relink/protocol";
import type { ExposureClient } from "./exposure-client.ts";
import {
  DEFAULT_EXPOSURE_PRESET,
  ExposureError,
  type ExposureStatus,
  type ExposureTotals,
  FEATURES_PER_SUBJECT,
  HE_KEY_RETENTION_MS,
  OUTSTANDING_LIMB_SIZE,
} from "./exposure-common.ts";
import type { ConsentProofs, MemberNode } from "./node.ts";

/** Where a querier keeps each query's HE secret key (by the SHA-256 of its public key) for 24 h. */
export interface HeKeyStore {
  put(publicKeyHash: string, secretKey: Uint8Array, expiresAtMs: number): void | Promise<void>;
  /** The key, unless absent or expired at `nowMs`. */
  get(publicKeyHash: string, nowMs: number): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  delete(publicKeyHash: string): void | Promise<void>;
}

/** A key store in memory (tests, one-shot processes). */
export function memoryHeKeyStore(): HeKeyStore {
  const keys = new Map<string, { secretKey: Uint8Array; expiresAtMs: number }>();
  return {
    put: (h, secretKey, expiresAtMs) => void keys.set(h, { secretKey, expiresAtMs }),
    get: (h, nowMs) => {
      const k = keys.get(h);
      return k && k.expiresAtMs > nowMs ? k.secretKey : undefined;
    },
    delete: (h) => void keys.delete(h),
  };
}

export const publicKeyHash = (publicKeyEnvelope: Uint8Array): string =>
  toBase64Url(sha256(publicKeyEnvelope));

/** A query's HE key pair, saved: the public-key envelope sent to the hub and the secret key kept locally. */
export interface SavedHeKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

function freshKeyPair(ctx: HeContext): SavedHeKeyPair {
  const pair = ctx.keygen();
  try {
    return { publicKey: ctx.savePublicKey(pair.publicKey), secretKey: ctx.saveSecretKey(pair.secretKey) };
  } finally {
    pair.dispose();
  }
}

/**
 * Fresh HE key pairs made ahead of the queries that spend them (ADR 0044): key generation (≈ 2–5 ms of CPU)
 * leaves the query's critical path. Each pair is handed out by `take()` exactly once and removed, so every
 * query still gets a key pair no other query used (exposure-he.md §1, "keygen() per query"); a pair's age
 * changes nothing about it. Refills one pair per deferred task (a macrotask, so an awaited request's reply
 * is not held up by more than one key generation) up to `size`; `take()` on an empty pool makes one at once.
 */
export interface HeKeyPool {
  readonly presetId: PresetId;
  /** A key pair no query has used, removed from the pool (made now if none is ready); schedules a refill. */
  take(): SavedHeKeyPair;
  /** Pairs ready now (diagnostics and tests). */
  readonly ready: number;
  /** Drops the pairs not taken (secret keys zeroed) and stops refilling; `take()` then throws. */
  close(): void;
}

export interface HeKeyPoolOptions {
  presetId?: PresetId;
  /** Pairs kept ready (1–16, default 1). */
  size?: number;
  /** Refill after `take()` (default true); false makes a one-shot pool that prepares its pairs once. */
  refill?: boolean;
  /** Runs a refill step later; default a `setTimeout(…, 0)` that does not keep a Node process alive. */
  defer?: (step: () => void) => void;
}

const deferStep = (step: () => void) => {
  const t = setTimeout(step, 0) as unknown as { unref?: () => void };
  t.unref?.();
};

export function heKeyPool(he: He, options: HeKeyPoolOptions = {}): HeKeyPool {
  const presetId = options.presetId ?? DEFAULT_EXPOSURE_PRESET;
  const size = options.size ?? 1;
  if (!Number.isInteger(size) || size < 1 || size > 16) throw new RangeError("size: an integer in 1..16");
  const ctx = he.context(presetId);
  const defer = options.defer ?? deferStep;
  const ready: SavedHeKeyPair[] = [];
  let scheduled = false;
  let closed = false;
  const fill = () => {
    if (scheduled || closed || ready.length >= size) return;
    scheduled = true;
    defer(() => {
      scheduled = false;
      if (closed || ready.length >= size) return;
      ready.push(freshKeyPair(ctx));
      fill();
    });
  };
  fill();
  return {
    presetId,
    get ready() {
      return ready.length;
    },
    take() {
      if (closed) throw new Error("the HE key pool is closed");
      const pair = ready.shift() ?? freshKeyPair(ctx);
      if (options.refill !== false) fill();
      return pair;
    },
    close() {
      closed = true;
      for (const pair of ready.splice(0)) pair.secretKey.fill(0);
    },
  };
}

export interface ExposureTagResult {
  tag: string;
  status: ExposureStatus;
  /** Subjects mode, status ok, decrypted: the sums over the responding lenders. */
  features?: ExposureTotals;
}

export interface ExposureDecoded {
  queryId: string;
  mode: ExposureMode;
  invited: number;
  responded: number;
  rounds: number;
  cached: boolean;
  publicKeyHash: string;
  /** The hub's k (subjects held by fewer other lenders are suppressed), when the hub says. */
  k?: number;
  /** False when the answer is cached under a key this node no longer holds; `undecryptable` says why. */
  decrypted: boolean;
  undecryptable?: string;
  tags: ExposureTagResult[];
  /** Aggregate mode: totals over the answered subjects, with the hub's noise (signed). */
  aggregate?: {
    answered: number;
    totals?: ExposureTotals;
    noise?: { epsilon: number; scales: number[] };
  };
  receipt: unknown;
  /**
   * With consent proofs: the bundle the query carried (JSON, as `relink receipt verify --consent-proofs`
   * reads it); its commitment is in the receipt's leaf.
   */
  consentProofs?: unknown;
}

const bad = (message: string): never => {
  throw new ExposureError("bad-response", message);
};

/**
 * Decrypts and decodes the hub's answer with the secret key it is under (`undefined`: not available — the
 * statuses are still returned, without figures). Subjects mode: 9 features at each answered subject's
 * slot base, each checked against cap × responders (a sum whose masks did not cancel fails that check).
 * Aggregate mode: the 11 slots decoded signed, the outstanding limbs recombined exactly.
 */
export function decodeExposureAnswer(
  he: He,
  output: ExposureQueryOutput,
  secretKey: Uint8Array | undefined,
  undecryptable = "no secret key for this answer",
): ExposureDecoded {
  const base: ExposureDecoded = {
    queryId: output.queryId,
    mode: output.mode,
    invited: output.invited,
    responded: output.responded,
    rounds: output.rounds,
    cached: output.cached,
    publicKeyHash: output.publicKeyHash,
    ...(output.k !== undefined ? { k: output.k } : {}),
    decrypted: false,
    tags: output.subjects.map((s) => ({ tag: s.tag, status: s.status })),
    receipt: output.receipt,
  };
  const answered = output.subjects.filter((s) => s.status === "ok");
  if (output.mode === "aggregate")
    base.aggregate = { answered: answered.length, ...(output.noise ? { noise: output.noise } : {}) };
  if (answered.length === 0 || output.ciphertexts.length === 0) {
    if (answered.length > 0) bad("subjects answered but no ciphertexts");
    return { ...base, decrypted: true };
  }
  if (!secretKey) return { ...base, undecryptable };
  const ctx = he.context(he.presetOf(secretKey));
  if (output.mode === "aggregate") {
    if (output.ciphertexts.length !== 1) bad("an aggregate answer has one ciphertext");
    return { ...base, decrypted: true, aggregate: { ...base.aggregate!, totals: aggregateTotals() } };
  }
  return { ...base, decrypted: true, tags: subjectFigures() };

  /** Aggregate mode: the 11 slots decoded signed (noise checked), the outstanding limbs recombined. */
  function aggregateTotals(): ExposureTotals {
    let values: bigint[];
    const sk = ctx.loadSecretKey(secretKey!);
    try {
      const ct = ctx.loadCiphertext(fromBase64Url(output.ciphertexts[0]!));
      try {
        values = ctx.decrypt(sk, ct, { signed: true, checkNoise: true });
      } finally {
        ct.dispose();
      }
    } finally {
      sk.dispose();
    }
    const v = Object.fromEntries(AGGREGATE_SLOTS.map((slot, i) => [slot, values[i]!])) as Record<
      (typeof AGGREGATE_SLOTS)[number],
      bigint
    >;
    const limb = BigInt(OUTSTANDING_LIMB_SIZE);
    const outstanding = v.outstanding_hi * limb * limb + v.outstanding_mid * limb + v.outstanding_lo;
    return Object.fromEntries(
      EXPOSURE_FEATURES.map((f) => [
        f,
        Number(f === "outstanding" ? outstanding : v[f as (typeof AGGREGATE_SLOTS)[number]]),
      ]),
    ) as ExposureTotals;
  }

  /**
   * Subjects mode skips SEAL's noise-budget computation (≈ one more decryption per ciphertext): a result
   * whose noise overflowed decrypts to uniform garbage, and every slot is checked below — answered
   * subjects' figures against cap × responders (8 of 9 features ≤ 50 × responders, against t ≈ 2^30)
   * and every other slot against 0 — so garbage is refused as "garbled" except with probability
   * < 2^-150 per ciphertext (ADR 0014). Slots are decoded as numbers (`decryptInto`, t < 2^32): no bigint
   * per slot, and one features object per subject built in a plain loop (issue 13: the bigint array and
   * per-subject `Object.fromEntries` were ≈ 2 × the decryptions themselves).
   */
  function subjectFigures(): ExposureTagResult[] {
    const slots = ctx.slotCount;
    const values = new Float64Array(output.ciphertexts.length * slots);
    const sk = ctx.loadSecretKey(secretKey!);
    try {
      output.ciphertexts.forEach((c, i) => {
        const ct = ctx.loadCiphertext(fromBase64Url(c));
        try {
          ctx.decryptInto(sk, ct, values, i * slots, { checkNoise: false });
        } finally {
          ct.dispose();
        }
      });
    } finally {
      sk.dispose();
    }
    const garbled = () =>
      new ExposureError(
        "garbled",
        "the result does not decode to sums of capped figures (masks did not cancel or the key is wrong)",
      );
    // Every slot outside the answered subjects' features must be exactly 0.
    const used = new Uint8Array(values.length);
    for (const s of answered) {
      const at = s.slotBase;
      if (at === undefined || at < 0 || at + FEATURES_PER_SUBJECT > values.length)
        bad("an answered subject has no slot base inside the result");
      used.fill(1, at!, at! + FEATURES_PER_SUBJECT);
    }
    for (let i = 0; i < values.length; i++) if (used[i] === 0 && values[i] !== 0) throw garbled();
    const byTag = new Map(output.subjects.map((s) => [s.tag, s]));
    // The largest honest sum per feature (cap × responders), once per answer rather than per slot.
    const limits = EXPOSURE_FEATURES.map((f) => EXPOSURE_CAPS[f] * Math.max(output.responded, 1));
    return base.tags.map((r) => {
      if (r.status !== "ok") return r;
      const at = byTag.get(r.tag)?.slotBase;
      if (at === undefined || at + FEATURES_PER_SUBJECT > values.length)
        bad("an answered subject has no slot base inside the result");
      const features: Record<string, number> = {};
      for (let i = 0; i < FEATURES_PER_SUBJECT; i++) {
        const x = values[at! + i]!;
        if (x > limits[i]!) throw garbled();
        features[EXPOSURE_FEATURES[i]!] = x;
      }
      return { ...r, features: features as ExposureTotals };
    });
  }
}

export interface RequestExposureOptions {
  purpose: Purpose;
  mode: ExposureMode;
  keyStore: HeKeyStore;
  /** The querier's case or batch id, committed to in the audit log. */
  caseId: string;
  he?: He;
  presetId?: PresetId;
  now?: () => number;
  signal?: AbortSignal;
  /**
   * Consent-membership proofs (ADR 0050, ADR 0047), as `MemberNode.match` carries them: each asked tag gets
   * a proof from the book; tags the book does not cover for the purpose are not asked about (they come back
   * `no_consent`, as the hub would answer). Injected (`consentProofs(book, prover)` from the SDK's Node entry)
   * so that this module, which the browser bundles, reaches no Node built-in (ADR 0062).
   */
  consentProofs?: ConsentProofs;
  /**
   * Where the query's fresh key pair comes from (ADR 0044): a pool made ahead, of the query's preset. Without
   * one, the pair is made when the query is sent (`queryExposure` prepares it while the tags are computed).
   */
  keyPool?: HeKeyPool;
}

/**
 * Asks the hub about tags (base64url): makes a fresh HE key pair, keeps its secret key in `keyStore` for
 * 24 h, sends the query and decodes the answer. A cached answer (`cached: true`) is under the key of the
 * first identical query: decrypted with that key when the store still has it, otherwise returned with
 * `decrypted: false` and the reason.
 */
export async function requestExposure(
  client: Pick<ExposureClient, "query">,
  who: { memberId: string; epoch: number },
  tags: readonly string[],
  options: RequestExposureOptions,
): Promise<ExposureDecoded> {
  const unique = [...new Set(tags)];
  if (unique.length === 0 || unique.length > EXPOSURE_LIMITS.tagsPerQuery)
    throw new RangeError(`a query asks about 1..${EXPOSURE_LIMITS.tagsPerQuery} subjects`);
  const he = options.he ?? (await loadHe());
  const now = options.now ?? Date.now;
  // With consent proofs, tags the book cannot prove are not asked about at all (they stay no_consent).
  const zk = options.consentProofs;
  const queryTime = now();
  const provable = (t: string) =>
    !zk || zk.covers(fromBase64Url(t), options.purpose, "credit_exposure", queryTime);
  const asked = unique.filter(provable);
  const unproven = unique.filter((t) => !provable(t));
  if (asked.length === 0) {
    throw new ExposureError(
      "no-consent",
      `the consent book covers none of the ${unique.length} subject(s) for '${options.purpose}'`,
    );
  }
  const proved = zk
    ? await zk.prove({
        tags: asked.map(fromBase64Url),
        purpose: options.purpose,
        category: "credit_exposure",
        queryTime,
      })
    : undefined;
  const ctx = he.context(options.presetId ?? DEFAULT_EXPOSURE_PRESET);
  const store = options.keyStore;
  const pool = options.keyPool;
  if (pool && pool.presetId !== ctx.id)
    throw new RangeError(`keyPool: preset ${pool.presetId}, the query's is ${ctx.id}`);
  const { publicKey, secretKey } = pool ? pool.take() : freshKeyPair(ctx);
  const mine = publicKeyHash(publicKey);
  await store.put(mine, secretKey, now() + HE_KEY_RETENTION_MS);
  let output: ExposureQueryOutput;
  try {
    output = await client.query(
      {
        epoch: who.epoch,
        purpose: options.purpose,
        mode: options.mode,
        tags: asked,
        caseCommitment: toBase64Url(sha256(lengthPrefixed("relink/v1/case", options.caseId, who.memberId))),
        publicKey: toBase64Url(publicKey),
        ...(proved ? { consentProofs: proved.wire } : {}),
      },
      options.signal,
    );
  } catch (error) {
    await store.delete(mine);
    throw error;
  }
  const withProofs = (d: ExposureDecoded): ExposureDecoded =>
    proved
      ? {
          ...d,
          tags: [...d.tags, ...unproven.map((tag) => ({ tag, status: "no_consent" as const }))],
          consentProofs: proved.bundle,
        }
      : d;
  if (output.publicKeyHash === mine) return withProofs(decodeExposureAnswer(he, output, secretKey));
  // Not under this query's key: the fresh key is of no use.
  await store.delete(mine);
  if (!output.cached) bad("the answer is under a public key this query did not send");
  const earlier = await store.get(output.publicKeyHash, now());
  return withProofs(
    decodeExposureAnswer(
      he,
      output,
      earlier,
      "this is the hub's cached answer to an identical query made within the last 24 h, encrypted under " +
        "that query's key, which this node no longer holds (it is kept 24 h, in the home directory of the " +
        "node that asked): run the query from that node, or again once the cache window has passed",
    ),
  );
}

export interface ExposureSubjectResult {
  subject: string;
  tag: string;
  /** `missing`: the hub's answer did not mention this subject's tag. */
  status: ExposureStatus | "missing";
  features?: ExposureTotals;
}

export interface ExposureQueryResult extends Omit<ExposureDecoded, "tags"> {
  subjects: ExposureSubjectResult[];
}

/**
 * Querier: exposure of subjects (canonical `cn-id:` identifiers) at the other lenders — per subject
 * (`mode: "subjects"`) or as portfolio totals with the hub's noise (`mode: "aggregate"`).
 */
export async function queryExposure(
  node: Pick<MemberNode, "tags" | "memberId" | "network">,
  subjects: readonly string[],
  options: RequestExposureOptions & { client: Pick<ExposureClient, "query"> },
): Promise<ExposureQueryResult> {
  const unique = [...new Set(subjects)];
  // Without a pool, the query's key pair is prepared while the key holders evaluate the tags (ADR 0044).
  const oneShot = options.keyPool
    ? undefined
    : heKeyPool(options.he ?? (await loadHe()), {
        ...(options.presetId ? { presetId: options.presetId } : {}),
        refill: false,
      });
  let decoded: ExposureDecoded;
  let tagOf: Map<string, string>;
  try {
    const computed = await node.tags(unique);
    tagOf = new Map(unique.map((s) => [s, toBase64Url(computed.get(s)!.tag)]));
    decoded = await requestExposure(
      options.client,
      { memberId: node.memberId, epoch: node.network.epoch.epoch },
      [...tagOf.values()],
      oneShot ? { ...options, keyPool: oneShot } : options,
    );
  } finally {
    oneShot?.close();
  }
  const byTag = new Map(decoded.tags.map((t) => [t.tag, t]));
  const { tags: _tags, ...rest } = decoded;
  return {
    ...rest,
    subjects: unique.map((subject) => {
      const tag = tagOf.get(subject)!;
      const r = byTag.get(tag);
      return r
        ? { subject, tag, status: r.status, ...(r.features ? { features: r.features } : {}) }
        : { subject, tag, status: "missing" as const };
    }),
  };
}
