/**
 * Test fixtures for the exposure tests: a seeded byte stream and numbers, and lenders played by small functions that
 * do what a lender node does (exposure-he.md §2–§4): cap their figures, lay them out in the hub's slots,
 * add their pairwise zero-sum mask and encrypt under the querier's key with @relink/he.
 */
import { applyMask, type HeContext, loadHe, maskKeyPair, zeroSumMask } from "@relink/he";
import {
  AGGREGATE_SLOTS,
  EXPOSURE_CAPS,
  EXPOSURE_FEATURES,
  type ExposureTask,
  fromBase64Url,
  OUTSTANDING_LIMB_BITS,
  toHex,
} from "@relink/protocol";
import { seededFloats, seededRng } from "@relink/psi/testing";
import type { RandomSource } from "../src/exposure/noise.ts";

/** A deterministic byte stream (the tests' one seeded source, ADR 0067) standing in for crypto.getRandomValues. */
export function seededRandom(seed: string): RandomSource {
  const next = seededRng(seed);
  return (bytes) => {
    bytes.set(next(bytes.length));
    return bytes;
  };
}

/** Uniform numbers in [0, 1) for random books, replayable from the seed. */
export const prng = (seed: number): (() => number) => seededFloats(seed);

/** A lender's raw (uncapped) figures per subject tag (hex), in EXPOSURE_FEATURES order. */
export type Book = Map<string, number[]>;

export const capped = (figures: readonly number[]): number[] =>
  figures.map((v, i) => Math.min(v, EXPOSURE_CAPS[EXPOSURE_FEATURES[i]!]));

/** A random book over some of the tags: balances of 6–8 digits (some above the cap), DPD counts up to 55. */
export function randomBook(rand: () => number, tags: readonly Uint8Array[], share: number): Book {
  const book: Book = new Map();
  for (const t of tags) {
    if (rand() >= share) continue;
    const loans = 1 + Math.floor(rand() * 4);
    book.set(toHex(t), [
      1,
      100_003 + Math.floor(rand() * 12_000_000),
      Math.floor(rand() * 55),
      Math.floor(rand() * 3),
      Math.floor(rand() * 2),
      Math.floor(rand() * 2),
      Math.floor(rand() * 2),
      Math.floor(rand() * loans),
      Math.floor(rand() * (loans + 1)),
    ]);
  }
  return book;
}

/** The lender's plaintext slot vector for a task (before masking). */
export function lenderSlots(ctx: HeContext, task: ExposureTask, book: Book): bigint[] {
  const values = new Array<bigint>(task.ciphertextCount * ctx.slotCount).fill(0n);
  const mine = task.slots
    .map((s) => ({ slotBase: s.slotBase, figures: book.get(toHex(fromBase64Url(s.tag))) }))
    .filter((s): s is { slotBase: number; figures: number[] } => s.figures !== undefined);
  if (task.mode === "subjects") {
    for (const s of mine)
      capped(s.figures).forEach((v, i) => {
        values[s.slotBase + i] = BigInt(v);
      });
    return values;
  }
  const totals = new Array<number>(EXPOSURE_FEATURES.length).fill(0);
  for (const s of mine)
    capped(s.figures).forEach((v, i) => {
      totals[i]! += v;
    });
  const outstanding = BigInt(totals[1]!);
  const mask = (1n << BigInt(OUTSTANDING_LIMB_BITS)) - 1n;
  const limbs = [outstanding & mask, (outstanding >> 20n) & mask, outstanding >> 40n];
  const agg = [BigInt(totals[0]!), ...limbs, ...totals.slice(2).map(BigInt)];
  if (agg.length !== AGGREGATE_SLOTS.length) throw new Error("aggregate layout");
  agg.forEach((v, i) => {
    values[i] = v;
  });
  return values;
}

export interface SimLender {
  slug: string;
  memberId: string;
  maskSecret: Uint8Array;
  maskPublic: Uint8Array;
  book: Book;
}

export function newMaskKeys(): { maskSecret: Uint8Array; maskPublic: Uint8Array } {
  const k = maskKeyPair();
  return { maskSecret: k.secretKey, maskPublic: k.publicKey };
}

/** What an honest lender node sends for a task: masked, encrypted slot vectors (envelopes). */
export async function lenderAnswer(lender: SimLender, task: ExposureTask, options: { mask?: boolean } = {}) {
  const he = await loadHe();
  const ctx = he.context(task.presetId as "bfv-4096-add-v1");
  const pk = ctx.loadPublicKey(fromBase64Url(task.publicKey));
  try {
    const values = lenderSlots(ctx, task, lender.book);
    const t = ctx.plainModulus;
    const masked =
      options.mask === false
        ? values
        : applyMask(
            values,
            zeroSumMask(
              lender.maskSecret,
              lender.memberId,
              task.participants.map((p) => ({ id: p.memberId, publicKey: fromBase64Url(p.maskKey) })),
              { queryId: task.queryId, round: task.round, modulus: t, length: values.length },
            ),
            t,
          );
    const out: Uint8Array[] = [];
    for (let c = 0; c < task.ciphertextCount; c++) {
      const ct = ctx.encrypt(pk, masked.slice(c * ctx.slotCount, (c + 1) * ctx.slotCount));
      out.push(ctx.saveCiphertext(ct));
      ct.dispose();
    }
    return out;
  } finally {
    pk.dispose();
  }
}
