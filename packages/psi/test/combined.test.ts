/**
 * ADR 0013: the combined check (combined.ts). Same outputs as the RFC 9497 single-key evaluation and as the
 * per-holder-proof path; the attacks a holder can mount — wrong round-1 elements (one, swapped, or two
 * errors that cancel under equal weights), a wrong or badly proven round-2 answer, another holder's answer —
 * are caught, the outputs are not released, and the cheater is named. The worker pool gives the same bytes.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.ts";
import {
  type CombinedCheck,
  drawWeights,
  evaluateUnproven,
  finishCombinedCheck,
  type HolderEvaluation,
  startCombinedCheck,
} from "../src/combined.ts";
import { InvalidProofError } from "../src/errors.ts";
import { type Group, nobleGroup } from "../src/group.ts";
import { createOprfPool, type OprfPool } from "../src/pool.ts";
import { evaluate, MODE_VOPRF } from "../src/rfc9497.ts";
import { loadSodiumGroup } from "../src/sodium-group.ts";
import { insecureTrustedDealerSplitForTestsOnly } from "../src/testing.ts";
import { blindInputs, combineResponses, evaluateAsHolder } from "../src/threshold.ts";
import { seededRng } from "./helpers/rng.ts";

const E = { networkId: "relink-test", epoch: 7 };
let sodium: Group;
let pool: OprfPool;
beforeAll(async () => {
  sodium = await loadSodiumGroup();
  pool = await createOprfPool();
});
afterAll(async () => {
  await pool?.close();
});

function setup(t = 2, n = 3, seed = 1) {
  return insecureTrustedDealerSplitForTestsOnly({ ...E, threshold: t, holders: n }, seededRng(seed));
}

/** Both rounds, honest holders unless `tamper` changes round-1 answers or `round2` round-2 answers. */
function run(
  group: Group,
  d: ReturnType<typeof setup>,
  holders: typeof d.keys,
  inputs: Uint8Array[],
  seed: number,
  tamper: (e: HolderEvaluation[], batch: ReturnType<typeof blindInputs>) => HolderEvaluation[] = (e) => e,
  round2: (c: CombinedCheck) => ReturnType<typeof evaluateAsHolder>[] = (c) =>
    holders.map((k) => evaluateAsHolder(k, c.request, { group, rng: seededRng(seed + 2) })),
) {
  const batch = blindInputs(E, inputs, { rng: seededRng(seed), group });
  const evals = tamper(
    holders.map((k) => evaluateUnproven(k, batch.request, { group })),
    batch,
  );
  const check = startCombinedCheck(d.publicKeys, batch, evals, { group, rng: seededRng(seed + 1) });
  return { batch, check, outputs: () => finishCombinedCheck(d.publicKeys, check, round2(check), { group }) };
}

describe("combined check (ADR 0013)", () => {
  it("outputs equal the single-key VOPRF and the per-holder-proof path, random t-of-n, both backends", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((t) =>
          fc.record({
            t: fc.constant(t),
            n: fc.integer({ min: t, max: 5 }),
            seed: fc.integer({ min: 1, max: 2 ** 30 }),
            inputs: fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 4 }),
            useSodium: fc.boolean(),
          }),
        ),
        ({ t, n, seed, inputs, useSodium }) => {
          const group = useSodium ? sodium : nobleGroup;
          const d = setup(t, n, seed);
          const holders = d.keys.slice(n - t);
          const { batch, outputs } = run(group, d, holders, inputs, seed);
          const out = outputs().map(toHex);
          expect(out).toEqual(inputs.map((x) => toHex(evaluate(MODE_VOPRF, d.secretKey, x))));
          const proven = holders.map((k) => evaluateAsHolder(k, batch.request, { group }));
          expect(out).toEqual(combineResponses(d.publicKeys, batch, proven, { group }).map(toHex));
        },
      ),
      { numRuns: 25 },
    );
  });

  for (const backend of ["noble", "sodium"] as const)
    describe(`${backend}: attacks by a holder are caught and the holder is named`, () => {
      const grp = () => (backend === "noble" ? nobleGroup : sodium);
      const d = setup(2, 3, 11);
      const holders = [d.keys[0]!, d.keys[2]!];
      const inputs = [1, 2, 3, 4].map((i) => new Uint8Array([i]));
      const named = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidProofError);
          return (e as InvalidProofError).holder;
        }
        throw new Error("the attack was not detected");
      };
      const edit = (h: number, f: (z: Uint8Array[]) => Uint8Array[]) => (es: HolderEvaluation[]) =>
        es.map((e) => (e.holder === h ? { ...e, evaluatedElements: f([...e.evaluatedElements]) } : e));

      it("one round-1 element replaced by another valid element", () => {
        const r = run(
          grp(),
          d,
          holders,
          inputs,
          20,
          edit(3, (z) => [z[1]!, ...z.slice(1)]),
        );
        expect(named(r.outputs)).toBe(3);
      });
      it("two round-1 elements swapped (their sum is unchanged)", () => {
        const r = run(
          grp(),
          d,
          holders,
          inputs,
          21,
          edit(1, (z) => [z[1]!, z[0]!, z[2]!, z[3]!]),
        );
        expect(named(r.outputs)).toBe(1);
      });
      it("round-1 errors +X and −X on two elements (they cancel under equal weights)", () => {
        const x = nobleGroup.mulBase(new Uint8Array(32).fill(3, 0, 31));
        const negX = nobleGroup.mulBase(
          nobleGroup.scalarSub(new Uint8Array(32), new Uint8Array(32).fill(3, 0, 31)),
        );
        const r = run(
          grp(),
          d,
          holders,
          inputs,
          22,
          edit(3, (z) => [nobleGroup.add(z[0]!, x), nobleGroup.add(z[1]!, negX), z[2]!, z[3]!]),
        );
        expect(named(r.outputs)).toBe(3);
      });
      it("round-1 answers computed with another key share (a holder of another epoch's key)", () => {
        const other = setup(2, 3, 12);
        const r = run(grp(), d, holders, inputs, 23, (es, batch) =>
          es.map((e) =>
            e.holder === 1
              ? {
                  ...e,
                  evaluatedElements: batch.request.blindedElements.map((b) =>
                    nobleGroup.mul(other.keys[0]!.secretShare, b),
                  ),
                }
              : e,
          ),
        );
        expect(named(r.outputs)).toBe(1);
      });
      it("a round-2 answer that is not k_i·M, a flipped proof bit, or another holder's answer", () => {
        const honest = (c: CombinedCheck) =>
          holders.map((k) => evaluateAsHolder(k, c.request, { rng: seededRng(5) }));
        const wrongY = run(grp(), d, holders, inputs, 24, undefined, (c) => {
          const [a, b] = honest(c);
          return [
            a!,
            {
              ...b!,
              evaluatedElements: [nobleGroup.add(b!.evaluatedElements[0]!, c.request.blindedElements[0]!)],
            },
          ];
        });
        expect(named(wrongY.outputs)).toBe(3);
        const flipped = run(grp(), d, holders, inputs, 25, undefined, (c) => {
          const [a, b] = honest(c);
          const proof = a!.proof.slice();
          proof[40]! ^= 2;
          return [{ ...a!, proof }, b!];
        });
        expect(named(flipped.outputs)).toBe(1);
        const swapped = run(grp(), d, holders, inputs, 26, undefined, (c) => {
          const [a] = honest(c);
          return [a!, { ...a!, holder: 3 }];
        });
        expect(named(swapped.outputs)).toBe(3);
      });
    });

  it("drawWeights: n canonical non-zero distinct weights in 1,024-weight RNG calls; a zero is redrawn; a short RNG is refused", () => {
    const calls: number[] = [];
    const seeded = seededRng(99);
    const counting = (n: number) => {
      calls.push(n);
      return seeded(n);
    };
    const w = drawWeights(1025, nobleGroup, counting);
    expect(w).toHaveLength(1025);
    expect(calls).toEqual([65536, 64]);
    expect(new Set(w.map(toHex)).size).toBe(1025);
    for (const x of w) expect(x.some((b) => b !== 0) && (x[31]! & 0xf0) === 0).toBe(true);
    expect(drawWeights(0, nobleGroup, counting)).toEqual([]);
    // an RNG whose first block is all zeros: every weight is redrawn, none is zero
    let first = true;
    const zeros = (n: number) => {
      if (first) {
        first = false;
        return new Uint8Array(n);
      }
      return seeded(n);
    };
    const z = drawWeights(3, nobleGroup, zeros);
    expect(z.every((x) => x.some((b) => b !== 0))).toBe(true);
    expect(() => drawWeights(2, nobleGroup, (n) => new Uint8Array(n - 1))).toThrow(/rng: expected 128 bytes/);
  });

  it("the worker pool gives the same M, C and outputs, and names the same cheater", async () => {
    const d = setup(2, 3, 31);
    const inputs = fc.sample(fc.uint8Array({ maxLength: 30 }), { numRuns: 300, seed: 4 });
    const holders = [d.keys[1]!, d.keys[2]!];
    const batch = blindInputs(E, inputs, { rng: seededRng(1), group: sodium });
    const slowE = holders.map((k) => evaluateUnproven(k, batch.request, { group: sodium }));
    const quickE = await Promise.all(holders.map((k) => pool.evaluateUnproven(k, batch.request)));
    expect(quickE.map((e) => e.evaluatedElements.map(toHex))).toEqual(
      slowE.map((e) => e.evaluatedElements.map(toHex)),
    );
    const slow = startCombinedCheck(d.publicKeys, batch, slowE, { group: sodium, rng: seededRng(2) });
    const quick = await pool.startCombinedCheck(d.publicKeys, batch, quickE, seededRng(2));
    expect(toHex(quick.request.blindedElements[0]!)).toBe(toHex(slow.request.blindedElements[0]!));
    expect(toHex(quick.combined)).toBe(toHex(slow.combined));
    const proofs = await Promise.all(holders.map((k) => pool.evaluateAsHolder(k, quick.request)));
    const out = await pool.finishCombinedCheck(d.publicKeys, quick, proofs);
    expect(out.map(toHex)).toEqual(inputs.map((x) => toHex(evaluate(MODE_VOPRF, d.secretKey, x))));

    const bad = quickE.map((e) =>
      e.holder === 2
        ? { ...e, evaluatedElements: [e.evaluatedElements[9]!, ...e.evaluatedElements.slice(1)] }
        : e,
    );
    const badCheck = await pool.startCombinedCheck(d.publicKeys, batch, bad);
    const badProofs = await Promise.all(holders.map((k) => pool.evaluateAsHolder(k, badCheck.request)));
    const err = await pool.finishCombinedCheck(d.publicKeys, badCheck, badProofs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidProofError);
    expect((err as InvalidProofError).holder).toBe(2);
  });
});
