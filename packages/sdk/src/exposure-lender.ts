/**
 * Cross-lender exposure, lender side (docs/protocol/exposure-he.md §2–§4 and "Member side"): registers only
 * the resident-ID tags of its book's subjects; answers the hub's tasks by placing its capped figures in the
 * slots the hub assigned (zeros elsewhere), adding its pairwise zero-sum mask over every slot of the round,
 * and encrypting under the querier's validated public key. Its figures leave the node only masked and
 * encrypted.
 */
import {
  type He,
  type HeContext,
  HeError,
  isPresetId,
  loadHe,
  maskKeyPair,
  type PresetId,
  zeroSumMaskWords,
} from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_FEATURES,
  EXPOSURE_LIMITS,
  type ExposureFeature,
  type ExposureTask,
  fromBase64Url,
  toBase64Url,
} from "@relink/protocol";
import { type ExposureBook, type ExposureFigures, exposureFigures } from "./exposure-book.ts";
import { type ExposureClient, ExposureClientError } from "./exposure-client.ts";
import {
  DEADLINE_GRACE_MS,
  DEFAULT_MIN_PARTICIPANTS,
  ExposureError,
  FEATURES_PER_SUBJECT,
  OUTSTANDING_LIMB_SIZE,
} from "./exposure-common.ts";
import type { MemberNode } from "./node.ts";

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

/**
 * The lender's own mask public key (base64url), derived once per secret: an X25519 base-point multiplication
 * in pure JS costs ≈ 0.3–0.8 ms, per task before. Keyed by the secret's array, its bytes re-checked on use.
 */
const ownMaskKeys = new WeakMap<Uint8Array, { secret: Uint8Array; publicKey: string }>();
function ownMaskKey(maskSecret: Uint8Array): string {
  const hit = ownMaskKeys.get(maskSecret);
  if (hit && hit.secret.length === maskSecret.length && hit.secret.every((b, i) => b === maskSecret[i]))
    return hit.publicKey;
  const publicKey = toBase64Url(maskKeyPair(maskSecret).publicKey);
  ownMaskKeys.set(maskSecret, { secret: Uint8Array.from(maskSecret), publicKey });
  return publicKey;
}

function checkParticipants(task: ExposureTask, lender: LenderBook, maskSecret: Uint8Array, min: number) {
  const ids = task.participants.map((p) => p.memberId);
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!)) refuse("bad-participants", "participants are not sorted and unique");
  }
  const me = task.participants.find((p) => p.memberId === lender.memberId);
  if (!me) refuse("bad-participants", "this lender is not among the round's participants");
  const myKey = ownMaskKey(maskSecret);
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
    outstanding_lo: out % OUTSTANDING_LIMB_SIZE,
    outstanding_mid: Math.floor(out / OUTSTANDING_LIMB_SIZE) % OUTSTANDING_LIMB_SIZE,
    outstanding_hi: Math.floor(out / (OUTSTANDING_LIMB_SIZE * OUTSTANDING_LIMB_SIZE)),
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
  /** Stops the loop (between tasks; an open task stream or poll is aborted). */
  signal: AbortSignal;
  he?: He;
  /** How long one task stream (or long poll) stays open (≤ EXPOSURE_LIMITS.maxPollWaitMs), default 20 s. */
  pollWaitMs?: number;
  /**
   * `stream` (default): the hub's task stream, falling back to long polls if the hub lacks it (404);
   * `poll`: long polls only.
   */
  transport?: "stream" | "poll";
  /**
   * Submissions larger than this many envelope bytes go to the binary route (default 0: every submission —
   * no base64, no JSON, no schema pass over the text at the hub).
   */
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
 * The lender's daemon loop: receives tasks from the hub's task stream (long polls from a hub without it),
 * answers each (earliest deadline first) before its deadline, submits (binary route), retries a failed
 * submission while the deadline allows, backs off after errors, and stops when `signal` aborts. Refused and late tasks are skipped: the hub's deadline
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
  const binaryAbove = options.binaryAboveBytes ?? 0;
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

  // Tasks come from the hub's task stream (one signed request held open, tasks pushed as they are assigned;
  // ADR 0035) or, from a hub without it, from long polls. Fetching runs beside answering, so a task assigned
  // while this lender is busy waits in the queue (earliest deadline first), not on the hub.
  const queue: ExposureTask[] = [];
  let wake: (() => void) | undefined;
  const enqueue = (tasks: ExposureTask[]) => {
    if (tasks.length === 0) return;
    queue.push(...tasks);
    wake?.();
  };
  let streaming = (options.transport ?? "stream") === "stream";
  async function fetchTasks(): Promise<void> {
    while (!signal.aborted) {
      try {
        if (streaming) await client.tasks(waitMs, enqueue, signal);
        else enqueue(await client.poll(waitMs, signal));
        stats.polls++;
        backoff = initial;
      } catch (error) {
        if (signal.aborted) break;
        if (streaming && error instanceof ExposureClientError && error.status === 404) {
          streaming = false; // a hub without the task stream: long polls
          log({ event: "stream.unsupported" });
          continue;
        }
        stats.pollErrors++;
        const wait = jitter(backoff);
        log({ event: "poll.error", code: errorCode(error), backoffMs: wait });
        await sleep(wait, signal);
        backoff = Math.min(max, backoff * 2);
      }
    }
  }

  log({ event: "serve.start", subjects: lender.tags.size, loans: lender.loans });
  const fetching = fetchTasks();
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort, { once: true });
  while (!signal.aborted) {
    if (queue.length === 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
      continue;
    }
    queue.sort((a, b) => a.deadline - b.deadline);
    await handle(queue.shift()!);
  }
  signal.removeEventListener("abort", onAbort);
  await fetching;
  log({ event: "serve.stop", ...stats });
  return stats;
}
