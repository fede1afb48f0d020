import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeError } from "../src/errors.ts";
import { applyMask, maskKeyPair, pairMask, pairSeed, zeroSumMask } from "../src/masks.ts";

const t = 1_073_692_673n;
const round = { queryId: "q-1", round: 1, modulus: t, length: 512 };

function party(id: string, seedByte: number) {
  const keys = maskKeyPair(new Uint8Array(32).fill(seedByte));
  return { id, ...keys };
}

describe("pairwise zero-sum masks", () => {
  it("cancel over the participants, for any number of them and any values", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 200 }), (n, length) => {
        const ps = Array.from({ length: n }, (_, i) => party(`m-${i}`, i + 1));
        const pub = ps.map((p) => ({ id: p.id, publicKey: p.publicKey }));
        const r = { ...round, length };
        const values = ps.map((_, i) => Array.from({ length }, (_, s) => BigInt((i * 1000 + s) % 5000)));
        const masked = ps.map((p, i) => applyMask(values[i]!, zeroSumMask(p.secretKey, p.id, pub, r), t));
        for (let s = 0; s < length; s++) {
          const sum = masked.reduce((acc, v) => (acc + v[s]!) % t, 0n);
          const plain = values.reduce((acc, v) => acc + v[s]!, 0n);
          expect(sum).toBe(plain % t);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("derive the same pair seed from both sides, and another per query, round and pair", () => {
    const a = party("a", 1);
    const b = party("b", 2);
    const c = party("c", 3);
    const ab = pairSeed(a.secretKey, "a", { id: "b", publicKey: b.publicKey }, round);
    expect(pairSeed(b.secretKey, "b", { id: "a", publicKey: a.publicKey }, round)).toEqual(ab);
    expect(
      pairSeed(a.secretKey, "a", { id: "b", publicKey: b.publicKey }, { ...round, round: 2 }),
    ).not.toEqual(ab);
    expect(
      pairSeed(a.secretKey, "a", { id: "b", publicKey: b.publicKey }, { ...round, queryId: "q-2" }),
    ).not.toEqual(ab);
    expect(pairSeed(a.secretKey, "a", { id: "c", publicKey: c.publicKey }, round)).not.toEqual(ab);
  });

  it("make one participant's masked vector look uniform in [0, t) even when its values are all zero", () => {
    const ps = [party("a", 1), party("b", 2), party("c", 3)];
    const pub = ps.map((p) => ({ id: p.id, publicKey: p.publicKey }));
    const n = 20_000;
    const masked = applyMask(
      new Array(n).fill(0n),
      zeroSumMask(ps[0]!.secretKey, "a", pub, { ...round, length: n }),
      t,
    );
    // Chi-squared test over 20 equal bins: 19 degrees of freedom, 99.9% critical value 43.8.
    const bins = new Array(20).fill(0);
    for (const v of masked) bins[Number((v * 20n) / t)]++;
    const expected = n / 20;
    const chi2 = bins.reduce((acc, o) => acc + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(43.8);
    // And it is not the plaintext: the values are zeros, the masked vector is not.
    expect(masked.filter((v) => v === 0n).length).toBeLessThan(5);
  });

  it("stream values are uniform in [0, t) and deterministic per seed", () => {
    const seed = new Uint8Array(32).fill(9);
    const m1 = pairMask(seed, { ...round, length: 1000 });
    expect(pairMask(seed, { ...round, length: 1000 })).toEqual(m1);
    expect([...m1].every((v) => v < t)).toBe(true);
    // A longer stream starts with the shorter one.
    expect([...pairMask(seed, { ...round, length: 2000 })].slice(0, 1000)).toEqual([...m1]);
  });

  it("refuse low-order keys, wrong sizes, duplicates and a participant not in the round", () => {
    const a = party("a", 1);
    const b = party("b", 2);
    const zero = { id: "z", publicKey: new Uint8Array(32) };
    expect(() => pairSeed(a.secretKey, "a", zero, round)).toThrow(HeError);
    expect(() => pairSeed(a.secretKey, "a", { id: "x", publicKey: new Uint8Array(31) }, round)).toThrow(
      HeError,
    );
    const pub = [
      { id: "a", publicKey: a.publicKey },
      { id: "b", publicKey: b.publicKey },
    ];
    expect(() => zeroSumMask(a.secretKey, "a", [...pub, pub[1]!], round)).toThrow(/duplicate/);
    expect(() => zeroSumMask(a.secretKey, "c", pub, round)).toThrow(/not in the round/);
    expect(() => applyMask([t], new BigUint64Array(1), t)).toThrow(HeError);
  });
});
