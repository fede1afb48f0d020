/**
 * Cross-lender exposure, member side (docs/protocol/exposure-he.md §2–§5 and "Member side").
 *
 * Lender: registers only the resident-ID tags of its book's subjects; answers the hub's tasks by placing
 * its capped figures in the slots the hub assigned (zeros elsewhere), adding its pairwise zero-sum mask over
 * every slot of the round, and encrypting under the querier's validated public key. Its figures leave the
 * node only masked and encrypted.
 * Querier: a fresh HE key pair per query (the secret key kept 24 h in a local store, for cached answers),
 * decrypts the hub's re-randomised sum and decodes it per subject or as portfolio totals.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type He,
  type HeContext,
  HeError,
  type HeSecretKey,
  isPresetId,
  loadHe,
  maskKeyPair,
  type PresetId,
  zeroSumMaskWords,
} from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_CAPS,
  EXPOSURE_FEATURES,
  EXPOSURE_LIMITS,
  type EXPOSURE_SUBJECT_STATUSES,
  type ExposureFeature,
  type ExposureMode,
  type ExposureQueryOutput,
  type ExposureTask,
  fromBase64Url,
  lengthPrefixed,
  OUTSTANDING_LIMB_BITS,
  type Purpose,
  toBase64Url,
} from "@relink/protocol";
import { type ExposureBook, type ExposureFigures, exposureFigures } from "./exposure-book.ts";
import { type ExposureClient, ExposureClientError } from "./exposure-client.ts";
import type { MemberNode } from "./node.ts";

/** The preset a querier asks with unless told otherwise (§1: additions only, k-suppression at assignment). */
export const DEFAULT_EXPOSURE_PRESET: PresetId = "bfv-4096-add-v1";
/** How long a querier keeps a query's HE secret key: the hub's 24 h cache window plus clock margin. */
export const HE_KEY_RETENTION_MS = 24 * 3_600_000 + 10 * 60_000;
/** Tolerance for clock skew against the hub when judging a task's deadline (the hub's clock decides). */
export const DEADLINE_GRACE_MS = 1_000;
/** Fewest maskers a lender accepts in a round (the hub's default k); fewer and its mask protects little. */
export const DEFAULT_MIN_PARTICIPANTS = 3;

const FEATURES_PER_SUBJECT = EXPOSURE_FEATURES.length;
const LIMB = 2 ** OUTSTANDING_LIMB_BITS;

export type ExposureStatus = (typeof EXPOSURE_SUBJECT_STATUSES)[number];
/** Sums over lenders: each feature ≤ its cap × the number of responders (aggregate: noisy, may be < 0). */
export type ExposureTotals = Readonly<Record<ExposureFeature, number>>;

/** A querier-side failure that is not the hub's typed error. */
export class ExposureError extends Error {
  override readonly name = "ExposureError";
  readonly code: "bad-response" | "garbled" | "key-unavailable";
  constructor(code: ExposureError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

// ------------------------------------------------------------------------------------------------ lender

/** What a lender answers from: its book, its member id and the tags (base64url) of the book's subjects. */
export interface LenderBook {
  readonly memberId: string;
  /** Tag (base64url) → canonical `cn-id:` subject. */
  readonly tags: ReadonlyMap<string, string>;
  readonly loans: number;
  /** Capped figures per subject as of a day (cached per day). */
  figuresAsOf(asOf: string): ReadonlyMap<string, ExposureFigures>;
}

export function lenderBook(
  memberId: string,
  book: ExposureBook,
  tags: ReadonlyMap<string, string>,
): LenderBook {
  const cache = new Map<string, ReadonlyMap<string, ExposureFigures>>();
  return {
    memberId,
    tags,
    loans: book.loans.length,
    figuresAsOf(asOf) {
      let f = cache.get(asOf);
      if (!f) {
        f = exposureFigures(book, asOf).figures;
        if (cache.size >= 4) cache.delete(cache.keys().next().value as string);
        cache.set(asOf, f);
      }
      return f;
    },
  };
}

/**
 * Registers the book's subjects with the hub: the tag of each subject's resident ID, in batches; tags in
 * `previousTags` (what this node registered before) that are no longer in the book are unregistered.
 * Returns the lender's answering book and the tags now registered (keep them for the next call).
 */
export async function registerExposureBook(
  node: Pick<MemberNode, "tags" | "memberId" | "network">,
  client: ExposureClient,
  book: ExposureBook,
  options: { previousTags?: readonly string[]; onProgress?: (done: number, total: number) => void } = {},
): Promise<{
  lender: LenderBook;
  tags: string[];
  registered: number;
  unregistered: number;
  total: number | undefined;
  receipts: unknown[];
}> {
  const computed = await node.tags(book.subjects);
  const index = new Map<string, string>();
  for (const subject of book.subjects) {
    const t = computed.get(subject);
    if (!t) throw new Error("the key holders returned no tag for a subject");
    index.set(toBase64Url(t.tag), subject);
  }
  const tags = [...index.keys()];
  const stale = [...new Set(options.previousTags ?? [])].filter((t) => !index.has(t));
  const step = EXPOSURE_LIMITS.tagsPerRegistration;
  const receipts: unknown[] = [];
  let registered = 0;
  let unregistered = 0;
  let total: number | undefined;
  // Unregister what left the book first, then declare the book's size (signed), then register: the hub
  // refuses registrations beyond the declared count (issue 15.4).
  for (let i = 0; i < stale.length; i += step) {
    const r = await client.unregisterSubjects(stale.slice(i, i + step));
    unregistered += r.changed;
    total = r.total;
    if (r.receipt) receipts.push(r.receipt);
  }
  const declared = await client.declareBook(
    { networkId: node.network.epoch.networkId, memberId: node.memberId },
    node.network.epoch.epoch,
    tags.length,
  );
  if (declared.receipt) receipts.push(declared.receipt);
  for (let i = 0; i < tags.length; i += step) {
    const r = await client.registerSubjects(node.network.epoch.epoch, tags.slice(i, i + step));
    registered += r.changed;
    total = r.total;
    if (r.receipt) receipts.push(r.receipt);
    options.onProgress?.(Math.min(i + step, tags.length), tags.length);
  }
  return {
    lender: lenderBook(node.memberId, book, index),
    tags,
    registered,
    unregistered,
    total,
    receipts,
  };
}

/** The member's X25519 mask key and whether the hub has it. */
export interface MaskKeyState {
  secretKey: Uint8Array;
  registered: boolean;
}

/**
 * Makes sure the member has a mask key and the hub knows it: creates one (saved before it is registered, so a
 * registered key is never lost) and registers it once. Returns the state to keep.
 */
export async function ensureMaskKey(
  client: Pick<ExposureClient, "registerMaskKey">,
  state: MaskKeyState | undefined,
  save: (state: MaskKeyState) => void | Promise<void>,
): Promise<MaskKeyState> {
  let s = state ?? { secretKey: maskKeyPair().secretKey, registered: false };
  if (!state) await save(s);
  if (!s.registered) {
    await client.registerMaskKey(maskKeyPair(s.secretKey).publicKey);
    s = { secretKey: s.secretKey, registered: true };
    await save(s);
  }
  return s;
}

export type RefusalReason =
  | "expired"
  | "bad-preset"
  | "bad-key"
  | "bad-participants"
  | "too-few-participants"
  | "bad-slots"
  | "overflow";

/** A task this lender will not answer; the hub's deadline then leaves it out of the round. */
export class ExposureTaskRefused extends Error {
  override readonly name = "ExposureTaskRefused";
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface ExposureAnswer {
  /** Ciphertext envelopes, one per 4096 (slotCount) slots of the round. */
  ciphertexts: Uint8Array[];
  /** The task's subjects this lender holds, and those it does not (answered as zeros). */
  subjects: number;
  unknown: number;
  bytes: number;
}

const refuse = (reason: RefusalReason, message: string): never => {
  throw new ExposureTaskRefused(reason, message);
};

function checkParticipants(task: ExposureTask, lender: LenderBook, maskSecret: Uint8Array, min: number) {
  const ids = task.participants.map((p) => p.memberId);
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!)) refuse("bad-participants", "participants are not sorted and unique");
  }
  const me = task.participants.find((p) => p.memberId === lender.memberId);
  if (!me) refuse("bad-participants", "this lender is not among the round's participants");
  const myKey = toBase64Url(maskKeyPair(maskSecret).publicKey);
  if (me?.maskKey !== myKey) refuse("bad-participants", "the round lists another mask key for this lender");
  if (new Set(task.participants.map((p) => p.maskKey)).size !== ids.length)
    refuse("bad-participants", "two participants share a mask key");
  if (ids.length < min)
    refuse("too-few-participants", `${ids.length} participant(s) in the round; this lender needs ${min}`);
}

/** Where each of this lender's subjects goes, checked against the round's size; aggregate: all at 0. */
function checkSlots(task: ExposureTask, ctx: HeContext): void {
  const length = task.ciphertextCount * ctx.slotCount;
  if (task.slots.length > EXPOSURE_LIMITS.tagsPerQuery) refuse("bad-slots", "more subjects than a query");
  if (new Set(task.slots.map((s) => s.tag)).size !== task.slots.length)
    refuse("bad-slots", "a subject appears twice in the round");
  if (task.mode === "aggregate") {
    if (task.ciphertextCount !== 1) refuse("bad-slots", "an aggregate round has one ciphertext");
    if (task.slots.some((s) => s.slotBase !== 0)) refuse("bad-slots", "aggregate slot bases must be 0");
    return;
  }
  const maxCount = Math.ceil((FEATURES_PER_SUBJECT * EXPOSURE_LIMITS.tagsPerQuery) / ctx.slotCount);
  if (task.ciphertextCount > maxCount) refuse("bad-slots", `more than ${maxCount} ciphertexts`);
  const bases = task.slots.map((s) => s.slotBase).sort((a, b) => a - b);
  for (let i = 0; i < bases.length; i++) {
    if (bases[i]! + FEATURES_PER_SUBJECT > length) refuse("bad-slots", "a slot base lies outside the round");
    if (i > 0 && bases[i]! < bases[i - 1]! + FEATURES_PER_SUBJECT)
      refuse("bad-slots", "two subjects' slots overlap");
  }
}

/** This lender's plaintext figures for the round's slots (zeros elsewhere). */
function placeFigures(
  task: ExposureTask,
  lender: LenderBook,
  length: number,
): { values: Float64Array; subjects: number; unknown: number } {
  const figures = lender.figuresAsOf(task.asOf);
  const values = new Float64Array(length);
  let subjects = 0;
  let unknown = 0;
  const of = (tag: string): ExposureFigures | undefined => {
    const subject = lender.tags.get(tag);
    const f = subject === undefined ? undefined : figures.get(subject);
    if (f) subjects++;
    else unknown++;
    return f;
  };
  if (task.mode === "subjects") {
    for (const { tag, slotBase } of task.slots) {
      const f = of(tag);
      if (!f) continue;
      EXPOSURE_FEATURES.forEach((feature, i) => {
        values[slotBase + i] = f[feature];
      });
    }
    return { values, subjects, unknown };
  }
  const sums = Object.fromEntries(EXPOSURE_FEATURES.map((f) => [f, 0])) as Record<ExposureFeature, number>;
  for (const { tag } of task.slots) {
    const f = of(tag);
    if (f) for (const feature of EXPOSURE_FEATURES) sums[feature] += f[feature];
  }
  const out = sums.outstanding;
  const limbs = {
    outstanding_lo: out % LIMB,
    outstanding_mid: Math.floor(out / LIMB) % LIMB,
    outstanding_hi: Math.floor(out / (LIMB * LIMB)),
  };
  AGGREGATE_SLOTS.forEach((slot, i) => {
    values[i] = slot in limbs ? limbs[slot as keyof typeof limbs] : sums[slot as ExposureFeature];
  });
  return { values, subjects, unknown };
}

/**
 * Answers one task: validates it (deadline, preset, the querier's public key — zero, low-entropy, malformed
 * or other-preset keys are refused —, participants including this lender under its own mask key, slots),
 * places the capped figures, adds the zero-sum mask over all ciphertextCount × slotCount slots and encrypts
 * each chunk unsigned. Throws ExposureTaskRefused; never returns a partial answer.
 */
export function answerExposureTask(
  task: ExposureTask,
  lender: LenderBook,
  maskSecret: Uint8Array,
  he: He,
  options: { now?: number; minParticipants?: number; graceMs?: number } = {},
): ExposureAnswer {
  // The deadline is on the hub's clock: a little grace keeps a lender whose clock runs ahead in the round.
  if ((options.now ?? Date.now()) >= task.deadline + (options.graceMs ?? DEADLINE_GRACE_MS))
    refuse("expired", "the round's deadline has passed");
  if (!isPresetId(task.presetId)) refuse("bad-preset", "unknown HE preset");
  const ctx = he.context(task.presetId as PresetId);
  checkParticipants(task, lender, maskSecret, options.minParticipants ?? DEFAULT_MIN_PARTICIPANTS);
  checkSlots(task, ctx);
  let keyBytes: Uint8Array;
  try {
    keyBytes = fromBase64Url(task.publicKey);
  } catch {
    return refuse("bad-key", "public key is not base64url");
  }
  let pk: ReturnType<HeContext["loadPublicKey"]>;
  try {
    pk = ctx.loadPublicKey(keyBytes);
  } catch (error) {
    if (error instanceof HeError) return refuse("bad-key", `querier's public key refused: ${error.code}`);
    throw error;
  }
  try {
    const length = task.ciphertextCount * ctx.slotCount;
    const placed = placeFigures(task, lender, length);
    const t = Number(ctx.plainModulus);
    for (const v of placed.values) if (!(v >= 0 && v < t)) refuse("overflow", "a figure does not fit a slot");
    const mask = combinedMask(task, lender.memberId, maskSecret, ctx.plainModulus, length);
    const ciphertexts: Uint8Array[] = [];
    let bytes = 0;
    const chunk = new Float64Array(ctx.slotCount);
    for (let c = 0; c < task.ciphertextCount; c++) {
      const at = c * ctx.slotCount;
      for (let s = 0; s < ctx.slotCount; s++) chunk[s] = (placed.values[at + s]! + mask[at + s]!) % t;
      const ct = ctx.encrypt(pk, chunk);
      try {
        const saved = ctx.saveCiphertext(ct);
        ciphertexts.push(saved);
        bytes += saved.length;
      } finally {
        ct.dispose();
      }
    }
    return { ciphertexts, subjects: placed.subjects, unknown: placed.unknown, bytes };
  } finally {
    pk.dispose();
  }
}

/**
 * This participant's zero-sum mask: @relink/he's zeroSumMaskWords (the same values as zeroSumMask, as
 * numbers — no bigint per slot); a bad participant key is a refusal.
 */
export function combinedMask(
  task: Pick<ExposureTask, "queryId" | "round" | "participants">,
  me: string,
  maskSecret: Uint8Array,
  modulus: bigint,
  length: number,
): Uint32Array {
  const round = { queryId: task.queryId, round: task.round, modulus, length };
  const participants = task.participants.map((p) => ({
    id: p.memberId,
    publicKey: fromBase64Url(p.maskKey),
  }));
  try {
    return zeroSumMaskWords(maskSecret, me, participants, round);
  } catch (error) {
    if (error instanceof HeError) return refuse("bad-participants", error.message);
    throw error;
  }
}

/** One JSON log line of the serve loop: counts and ids only, never figures, tags or identifiers. */
export type ExposureServeLog = { event: string } & Record<string, string | number | boolean>;

export interface ServeExposureOptions {
  client: ExposureClient;
  maskSecret: Uint8Array;
  /** Stops the loop (between tasks; an in-flight poll is aborted). */
  signal: AbortSignal;
  he?: He;
  /** Long-poll wait (≤ EXPOSURE_LIMITS.maxPollWaitMs), default 20 s. */
  pollWaitMs?: number;
  /** Submissions larger than this many envelope bytes go to the binary route (default 1 MiB). */
  binaryAboveBytes?: number;
  minParticipants?: number;
  /** Back-off after a failed poll or submission: doubles from initialMs up to maxMs, with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  log?: (line: ExposureServeLog) => void;
  now?: () => number;
}

export interface ExposureServeStats {
  polls: number;
  pollErrors: number;
  tasks: number;
  answered: number;
  refused: number;
  expired: number;
  submitFailures: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

const errorCode = (error: unknown): string =>
  error instanceof ExposureClientError || error instanceof HeError || error instanceof ExposureError
    ? error.code
    : error instanceof ExposureTaskRefused
      ? error.reason
      : ((error as Error)?.name ?? "error");

/**
 * The lender's daemon loop: long-polls for tasks, answers each (earliest deadline first) before its
 * deadline, submits (binary route when large), retries a failed submission while the deadline allows, backs
 * off after errors, and stops when `signal` aborts. Refused and late tasks are skipped: the hub's deadline
 * leaves this lender out of the round.
 */
export async function serveExposure(
  lender: LenderBook,
  options: ServeExposureOptions,
): Promise<ExposureServeStats> {
  const { client, signal } = options;
  const he = options.he ?? (await loadHe());
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const waitMs = Math.min(options.pollWaitMs ?? 20_000, EXPOSURE_LIMITS.maxPollWaitMs);
  const binaryAbove = options.binaryAboveBytes ?? 1 << 20;
  const initial = options.backoff?.initialMs ?? 500;
  const max = options.backoff?.maxMs ?? 30_000;
  const jitter = (ms: number) => Math.round(ms * (0.5 + Math.random() / 2));
  const stats: ExposureServeStats = {
    polls: 0,
    pollErrors: 0,
    tasks: 0,
    answered: 0,
    refused: 0,
    expired: 0,
    submitFailures: 0,
  };
  let backoff = initial;

  async function handle(task: ExposureTask): Promise<void> {
    stats.tasks++;
    const ids = { queryId: task.queryId, round: task.round, mode: task.mode };
    const started = now();
    let answer: ExposureAnswer;
    try {
      answer = answerExposureTask(task, lender, options.maskSecret, he, {
        now: started,
        ...(options.minParticipants !== undefined ? { minParticipants: options.minParticipants } : {}),
      });
    } catch (error) {
      if (error instanceof ExposureTaskRefused && error.reason === "expired") {
        stats.expired++;
        log({ event: "task.expired", ...ids });
      } else {
        stats.refused++;
        log({ event: "task.refused", ...ids, reason: errorCode(error) });
      }
      return;
    }
    const binary = answer.bytes > binaryAbove;
    let delay = initial;
    for (;;) {
      if (now() >= task.deadline + DEADLINE_GRACE_MS) {
        stats.expired++;
        log({ event: "task.expired", ...ids, stage: "submit" });
        return;
      }
      try {
        const r = await client.submit(task.queryId, task.round, answer.ciphertexts, { binary, signal });
        stats.answered++;
        log({
          event: "task.answered",
          ...ids,
          subjects: answer.subjects,
          unknown: answer.unknown,
          ciphertexts: answer.ciphertexts.length,
          bytes: r.bytes,
          via: r.via,
          accepted: r.accepted,
          ms: now() - started,
        });
        return;
      } catch (error) {
        if (signal.aborted) return;
        const retry = error instanceof ExposureClientError && error.retryable;
        log({ event: "submit.error", ...ids, code: errorCode(error), retry });
        if (!retry) {
          stats.submitFailures++;
          return;
        }
        await sleep(Math.min(jitter(delay), Math.max(0, task.deadline + DEADLINE_GRACE_MS - now())), signal);
        delay = Math.min(max, delay * 2);
      }
    }
  }

  log({ event: "serve.start", subjects: lender.tags.size, loans: lender.loans });
  while (!signal.aborted) {
    let tasks: ExposureTask[];
    try {
      tasks = await client.poll(waitMs, signal);
      stats.polls++;
      backoff = initial;
    } catch (error) {
      if (signal.aborted) break;
      stats.pollErrors++;
      const wait = jitter(backoff);
      log({ event: "poll.error", code: errorCode(error), backoffMs: wait });
      await sleep(wait, signal);
      backoff = Math.min(max, backoff * 2);
      continue;
    }
    for (const task of [...tasks].sort((a, b) => a.deadline - b.deadline)) {
      if (signal.aborted) break;
      await handle(task);
    }
  }
  log({ event: "serve.stop", ...stats });
  return stats;
}

// ----------------------------------------------------------------------------------------------- querier

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
  let sk: HeSecretKey | undefined;
  const values: bigint[] = [];
  try {
    sk = ctx.loadSecretKey(secretKey);
    if (output.mode === "aggregate" && output.ciphertexts.length !== 1)
      bad("an aggregate answer has one ciphertext");
    // Subjects mode skips SEAL's noise-budget computation (≈ one more decryption per ciphertext): a result
    // whose noise overflowed decrypts to uniform garbage, and every slot is checked below — answered
    // subjects' figures against cap × responders (8 of 9 features ≤ 50 × responders, against t ≈ 2^30)
    // and every other slot against 0 — so garbage is refused as "garbled" except with probability
    // < 2^-150 per ciphertext (ADR 0014). Aggregate mode (one ciphertext, centred sums) keeps the check.
    const checkNoise = output.mode === "aggregate";
    for (const c of output.ciphertexts) {
      const ct = ctx.loadCiphertext(fromBase64Url(c));
      try {
        for (const v of ctx.decrypt(sk, ct, { signed: output.mode === "aggregate", checkNoise }))
          values.push(v);
      } finally {
        ct.dispose();
      }
    }
  } finally {
    sk?.dispose();
  }
  if (output.mode === "aggregate") {
    const v = Object.fromEntries(AGGREGATE_SLOTS.map((slot, i) => [slot, values[i]!])) as Record<
      (typeof AGGREGATE_SLOTS)[number],
      bigint
    >;
    const limb = BigInt(LIMB);
    const outstanding = v.outstanding_hi * limb * limb + v.outstanding_mid * limb + v.outstanding_lo;
    const totals = Object.fromEntries(
      EXPOSURE_FEATURES.map((f) => [
        f,
        Number(f === "outstanding" ? outstanding : v[f as (typeof AGGREGATE_SLOTS)[number]]),
      ]),
    ) as ExposureTotals;
    return { ...base, decrypted: true, aggregate: { ...base.aggregate!, totals } };
  }
  const garbled = () =>
    new ExposureError(
      "garbled",
      "the result does not decode to sums of capped figures (masks did not cancel or the key is wrong)",
    );
  // Every slot outside the answered subjects' features must be exactly 0.
  const used = new Uint8Array(values.length);
  for (const s of answered) {
    const base = s.slotBase;
    if (base === undefined || base < 0 || base + FEATURES_PER_SUBJECT > values.length)
      bad("an answered subject has no slot base inside the result");
    used.fill(1, base!, base! + FEATURES_PER_SUBJECT);
  }
  for (let i = 0; i < values.length; i++) if (used[i] === 0 && values[i] !== 0n) throw garbled();
  const byTag = new Map(output.subjects.map((s) => [s.tag, s]));
  // The largest honest sum per feature (cap × responders), once per answer rather than per slot.
  const limits = EXPOSURE_FEATURES.map((f) => BigInt(EXPOSURE_CAPS[f] * Math.max(output.responded, 1)));
  const tags = base.tags.map((r) => {
    if (r.status !== "ok") return r;
    const slotBase = byTag.get(r.tag)?.slotBase;
    if (slotBase === undefined || slotBase + FEATURES_PER_SUBJECT > values.length)
      bad("an answered subject has no slot base inside the result");
    const features = Object.fromEntries(
      EXPOSURE_FEATURES.map((f, i) => {
        const x = values[slotBase! + i]!;
        if (x > limits[i]!) throw garbled();
        return [f, Number(x)];
      }),
    ) as ExposureTotals;
    return { ...r, features };
  });
  return { ...base, decrypted: true, tags };
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
  const ctx = he.context(options.presetId ?? DEFAULT_EXPOSURE_PRESET);
  const store = options.keyStore;
  let publicKey: Uint8Array;
  let secretKey: Uint8Array;
  {
    const pair = ctx.keygen();
    try {
      publicKey = ctx.savePublicKey(pair.publicKey);
      secretKey = ctx.saveSecretKey(pair.secretKey);
    } finally {
      pair.dispose();
    }
  }
  const mine = publicKeyHash(publicKey);
  await store.put(mine, secretKey, now() + HE_KEY_RETENTION_MS);
  let output: ExposureQueryOutput;
  try {
    output = await client.query(
      {
        epoch: who.epoch,
        purpose: options.purpose,
        mode: options.mode,
        tags: unique,
        caseCommitment: toBase64Url(sha256(lengthPrefixed("relink/v1/case", options.caseId, who.memberId))),
        publicKey: toBase64Url(publicKey),
      },
      options.signal,
    );
  } catch (error) {
    await store.delete(mine);
    throw error;
  }
  if (output.publicKeyHash === mine) return decodeExposureAnswer(he, output, secretKey);
  // Not under this query's key: the fresh key is of no use.
  await store.delete(mine);
  if (!output.cached) bad("the answer is under a public key this query did not send");
  const earlier = await store.get(output.publicKeyHash, now());
  return decodeExposureAnswer(
    he,
    output,
    earlier,
    "this is the hub's cached answer to an identical query made within the last 24 h, encrypted under " +
      "that query's key, which this node no longer holds (it is kept 24 h, in the home directory of the " +
      "node that asked): run the query from that node, or again once the cache window has passed",
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
  const computed = await node.tags(unique);
  const tagOf = new Map(unique.map((s) => [s, toBase64Url(computed.get(s)!.tag)]));
  const decoded = await requestExposure(
    options.client,
    { memberId: node.memberId, epoch: node.network.epoch.epoch },
    [...tagOf.values()],
    options,
  );
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
