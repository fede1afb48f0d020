/**
 * Test fixtures for the exposure tests: random books, an independent plaintext oracle, and a plain in-test
 * "hub sum" (k-suppression at slot assignment, tasks, summing the lenders' ciphertexts, optional signed noise,
 * re-randomisation) built only from @relink/he — so the lender and querier code is checked end to end
 * without a network. It is the protocol of docs/protocol/exposure-he.md §3 at its simplest, not the hub.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import type { He, HeCiphertext, HeContext } from "@relink/he";
import { maskKeyPair } from "@relink/he";
import { cnIdCheckCharacter } from "@relink/identity";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_CAPS,
  EXPOSURE_FEATURES,
  type ExposureFeature,
  type ExposureQueryInput,
  type ExposureQueryOutput,
  type ExposureTask,
  fromBase64Url,
  toBase64Url,
} from "@relink/protocol";
import { seededFloats } from "@relink/psi/testing";
import { answerExposureTask, type LenderBook, lenderBook } from "../src/exposure.ts";
import { parseExposureBook } from "../src/exposure-book.ts";

export const NOW = new Date("2026-11-26T08:00:00Z");
export const AS_OF = "2026-11-26";
export const PRESET = "bfv-4096-add-v1";

/** Uniform numbers in [0, 1), replayable from the seed (the tests' one seeded source, ADR 0067). */
export const rng = (seed: number): (() => number) => seededFloats(seed);

/** A valid resident ID, distinct for n < 336,000 (region 310115, born 1985, check character computed). */
export function cnId(n: number): string {
  const mm = String(1 + (n % 12)).padStart(2, "0");
  const dd = String(1 + (Math.floor(n / 12) % 28)).padStart(2, "0");
  const seq = String(Math.floor(n / 336) % 1000).padStart(3, "0");
  const first17 = `3101151985${mm}${dd}${seq}`;
  return first17 + cnIdCheckCharacter(first17);
}

export const subjectOf = (n: number) => `cn-id:${cnId(n)}`;
export const tagOf = (subject: string) => toBase64Url(sha256(new TextEncoder().encode(subject)));

export type BookRecord = Record<string, string>;

const day = (ageDays: number) =>
  new Date(Date.parse(`${AS_OF}T00:00:00Z`) - ageDays * 86_400_000).toISOString().slice(0, 10);

/** A random book over subjects 0..pool-1: each held with probability `p`, 1–3 loans, some at the caps. */
export function randomRecords(r: () => number, pool: number, p: number, prefix: string): BookRecord[] {
  const out: BookRecord[] = [];
  for (let s = 0; s < pool; s++) {
    if (r() >= p) continue;
    const loans = 1 + Math.floor(r() * 3);
    for (let l = 0; l < loans; l++) {
      const big = r() < 0.1;
      out.push({
        id_number: cnId(s),
        loan_id: `${prefix}-${s}-${l}`,
        status: r() < 0.7 ? "active" : "closed",
        outstanding: String(big ? 4_000_000 + Math.floor(r() * 6_000_000) : Math.floor(r() * 200_000)),
        days_past_due: String([0, 0, 0, 3, 29, 30, 61, 95, 400][Math.floor(r() * 9)]),
        opened_on: day(Math.floor(r() * 200)),
      });
    }
  }
  // a few subjects with many recent loans: opened and DPD counts reach their caps
  if (out.length > 0 && r() < 0.5) {
    const s = out[0]!["id_number"]!;
    for (let l = 0; l < 55; l++)
      out.push({
        id_number: s,
        loan_id: `${prefix}-many-${l}`,
        status: "active",
        outstanding: "300000",
        days_past_due: "0",
        opened_on: day(l % 20),
      });
  }
  return out;
}

/** Independent oracle: per-subject capped figures straight from the CSV records. */
export function oracleFigures(records: readonly BookRecord[]): Map<string, Record<ExposureFeature, number>> {
  const out = new Map<string, Record<ExposureFeature, number>>();
  for (const rec of records) {
    const subject = `cn-id:${rec["id_number"]}`;
    const f =
      out.get(subject) ??
      (Object.fromEntries(EXPOSURE_FEATURES.map((x) => [x, 0])) as Record<ExposureFeature, number>);
    out.set(subject, f);
    const age = (Date.parse(`${AS_OF}T00:00:00Z`) - Date.parse(`${rec["opened_on"]}T00:00:00Z`)) / 86_400_000;
    if (age < 0) continue;
    if (rec["status"] === "active") {
      f.active_lenders = 1;
      f.outstanding += Number(rec["outstanding"]);
      const d = Number(rec["days_past_due"]);
      const bucket: ExposureFeature =
        d === 0
          ? "dpd_current"
          : d < 30
            ? "dpd_1_29"
            : d < 60
              ? "dpd_30_59"
              : d < 90
                ? "dpd_60_89"
                : "dpd_90_plus";
      f[bucket]++;
    }
    if (age < 30) f.opened_30d++;
    if (age < 90) f.opened_90d++;
  }
  for (const f of out.values()) for (const x of EXPOSURE_FEATURES) f[x] = Math.min(f[x], EXPOSURE_CAPS[x]);
  return out;
}

export interface TestLender {
  memberId: string;
  mask: { secretKey: Uint8Array; publicKey: Uint8Array };
  records: BookRecord[];
  lender: LenderBook;
}

export function makeLender(memberId: string, records: BookRecord[]): TestLender {
  const { book, errors } = parseExposureBook(records, NOW);
  if (errors.length > 0) throw new Error(`fixture book has errors: ${JSON.stringify(errors[0])}`);
  const tags = new Map(book.subjects.map((s) => [tagOf(s), s]));
  return { memberId, mask: maskKeyPair(), records, lender: lenderBook(memberId, book, tags) };
}

/** Member ids that sort in the given order. */
export const memberIds = (n: number) =>
  Array.from({ length: n }, (_, i) => `0000000${i}-0000-4000-8000-000000000000`.slice(-36));

export interface HubRun {
  output: ExposureQueryOutput;
  tasks: Map<string, ExposureTask>;
  answers: Map<string, Uint8Array[]>;
  /** Responders, sorted by member id. */
  responders: TestLender[];
  answered: string[];
}

/**
 * The plain hub of the tests: counts holders per tag, suppresses tags with fewer than k, assigns slots, asks
 * every responder (answerExposureTask), sums, adds `noise` (aggregate, signed, AGGREGATE_SLOTS order),
 * re-randomises. `sumOf` picks whose answers go into the sum (default: all responders).
 */
export function hubRun(
  he: He,
  lenders: readonly TestLender[],
  input: Pick<ExposureQueryInput, "tags" | "mode" | "publicKey">,
  options: {
    k?: number;
    noise?: readonly number[];
    sumOf?: (responders: TestLender[]) => TestLender[];
    minParticipants?: number;
    /** Adds an encryption of zero whose noise is doubled 90 times: same plaintext, noise exhausted. */
    exhaustNoise?: boolean;
  } = {},
): HubRun {
  const ctx: HeContext = he.context(PRESET);
  const k = options.k ?? 3;
  const holders = new Map(input.tags.map((t) => [t, lenders.filter((l) => l.lender.tags.has(t))]));
  const answered = input.tags.filter((t) => holders.get(t)!.length >= k);
  const responders = lenders
    .filter((l) => answered.some((t) => l.lender.tags.has(t)))
    .sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
  const slotBase = new Map(answered.map((t, i) => [t, input.mode === "subjects" ? 9 * i : 0]));
  const ciphertextCount =
    input.mode === "subjects" ? Math.max(1, Math.ceil((9 * answered.length) / ctx.slotCount)) : 1;
  const queryId = crypto.randomUUID();
  const participants = responders.map((l) => ({
    memberId: l.memberId,
    maskKey: toBase64Url(l.mask.publicKey),
  }));
  const tasks = new Map<string, ExposureTask>();
  const answers = new Map<string, Uint8Array[]>();
  for (const l of responders) {
    const task: ExposureTask = {
      queryId,
      round: 1,
      mode: input.mode,
      presetId: PRESET,
      publicKey: input.publicKey,
      ciphertextCount,
      slots: answered
        .filter((t) => l.lender.tags.has(t))
        .map((t) => ({ tag: t, slotBase: slotBase.get(t)! })),
      participants,
      asOf: AS_OF,
      deadline: Date.now() + 60_000,
    };
    tasks.set(l.memberId, task);
    answers.set(
      l.memberId,
      answerExposureTask(task, l.lender, l.mask.secretKey, he, {
        ...(options.minParticipants !== undefined ? { minParticipants: options.minParticipants } : {}),
      }).ciphertexts,
    );
  }
  const pkBytes = fromBase64Url(input.publicKey);
  const pk = ctx.loadPublicKey(pkBytes);
  const summed = (options.sumOf ?? ((r) => r))(responders);
  const ciphertexts: string[] = [];
  if (answered.length > 0) {
    for (let c = 0; c < ciphertextCount; c++) {
      const cts = summed.map((l) => ctx.loadCiphertext(answers.get(l.memberId)![c]!));
      let sum: HeCiphertext = ctx.sum(cts);
      for (const ct of cts) ct.dispose();
      if (options.exhaustNoise) {
        const zero = ctx.encrypt(pk, new Array(ctx.slotCount).fill(0));
        for (let i = 0; i < 90; i++) ctx.addInPlace(zero, zero);
        ctx.addInPlace(sum, zero);
        zero.dispose();
      }
      if (options.noise) {
        const noisy = ctx.addPlain(sum, options.noise, { signed: true });
        sum.dispose();
        sum = noisy;
      }
      const out = ctx.rerandomize(sum, pk);
      sum.dispose();
      ciphertexts.push(toBase64Url(ctx.saveCiphertext(out)));
      out.dispose();
    }
  }
  pk.dispose();
  const output: ExposureQueryOutput = {
    queryId,
    mode: input.mode,
    invited: responders.length,
    responded: summed.length,
    rounds: 1,
    cached: false,
    publicKeyHash: toBase64Url(sha256(pkBytes)),
    subjects: input.tags.map((tag) => ({
      tag,
      status: holders.get(tag)!.length >= k ? ("ok" as const) : ("suppressed" as const),
      ...(input.mode === "subjects" && slotBase.has(tag) ? { slotBase: slotBase.get(tag)! } : {}),
    })),
    ciphertexts,
    ...(input.mode === "aggregate" && options.noise
      ? { noise: { epsilon: 1 / 9, scales: AGGREGATE_SLOTS.map(() => 1) } }
      : {}),
    receipt: { fixture: true },
  };
  return { output, tasks, answers, responders, answered };
}

/** The oracle's answer: per answered tag, the sum over responders holding it. */
export function oracleSums(
  responders: readonly TestLender[],
  answered: readonly string[],
): Map<string, Record<ExposureFeature, number>> {
  const perLender = new Map(responders.map((l) => [l.memberId, oracleFigures(l.records)]));
  const out = new Map<string, Record<ExposureFeature, number>>();
  for (const tag of answered) {
    const sum = Object.fromEntries(EXPOSURE_FEATURES.map((x) => [x, 0])) as Record<ExposureFeature, number>;
    for (const l of responders) {
      const subject = l.lender.tags.get(tag);
      const f = subject ? perLender.get(l.memberId)!.get(subject) : undefined;
      if (f) for (const x of EXPOSURE_FEATURES) sum[x] += f[x];
    }
    out.set(tag, sum);
  }
  return out;
}

/** Chi-squared statistic of values in [0, t) against uniform over `bins` equal bins. */
export function chiSquared(values: readonly bigint[], t: bigint, bins = 64): number {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Number((v * BigInt(bins)) / t)]!++;
  const e = values.length / bins;
  return counts.reduce((s, o) => s + (o - e) ** 2 / e, 0);
}
