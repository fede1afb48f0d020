import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.ts";
import { deriveTagKeys, type EpochId } from "../src/domain.ts";
import {
  DuplicateHolderError,
  EpochMismatchError,
  InsufficientHoldersError,
  InvalidProofError,
  UnknownHolderError,
} from "../src/errors.ts";
import { type Group, nobleGroup } from "../src/group.ts";
import { evaluate, MODE_VOPRF } from "../src/rfc9497.ts";
import { loadSodiumGroup } from "../src/sodium-group.ts";
import { insecureTrustedDealerSplitForTestsOnly } from "../src/testing.ts";
import {
  blindIdentifiers,
  blindInputs,
  combineResponses,
  evaluateAsHolder,
  type HolderResponse,
  lagrangeAtZero,
  smallLagrange,
  verifyHolderResponse,
} from "../src/threshold.ts";
import { seededRng } from "./helpers/rng.ts";

const E: EpochId = { networkId: "relink-test", epoch: 7 };
let sodiumGroup: Group;
beforeAll(async () => {
  sodiumGroup = await loadSodiumGroup();
});

function setup(t = 2, n = 3, seed = 1, e: EpochId = E) {
  return insecureTrustedDealerSplitForTestsOnly({ ...e, threshold: t, holders: n }, seededRng(seed));
}

describe("threshold VOPRF", () => {
  it("combined output equals the single-key VOPRF output for random t-of-n and responder subsets", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }).chain((t) =>
          fc.record({
            t: fc.constant(t),
            n: fc.integer({ min: t, max: 5 }),
            seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
            inputs: fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
            order: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
            extra: fc.nat({ max: 3 }),
            sodium: fc.boolean(),
          }),
        ),
        ({ t, n, seed, inputs, order, extra, sodium }) => {
          const group = sodium ? sodiumGroup : nobleGroup;
          const rng = seededRng(seed);
          const dealt = setup(t, n, seed);
          // a random subset of responders of size t..n
          const holders = dealt.keys
            .map((k, i) => ({ k, r: order[i]! }))
            .sort((a, b) => a.r - b.r)
            .map((x) => x.k)
            .slice(0, Math.min(n, t + extra));
          const batch = blindInputs(E, inputs, { rng, group });
          const responses = holders.map((k) => evaluateAsHolder(k, batch.request, { rng, group }));
          const out = combineResponses(dealt.publicKeys, batch, responses, { group });
          const expected = inputs.map((x) => evaluate(MODE_VOPRF, dealt.secretKey, x));
          expect(out.map(toHex)).toEqual(expected.map(toHex));
        },
      ),
      { numRuns: 30 },
    );
  });

  it("each holder response is a valid RFC 9497 batch evaluation under its public share", () => {
    const d = setup();
    const batch = blindIdentifiers(E, ["cn-id:11010519491231002X", "cn-mobile:+8613800138000"], {
      rng: seededRng(3),
    });
    for (const k of d.keys) {
      const r = evaluateAsHolder(k, batch.request, { rng: seededRng(4) });
      expect(verifyHolderResponse(d.publicKeys, batch.request, r)).toBe(true);
    }
  });

  it("lagrange coefficients at 0 reconstruct constants and reject duplicates", () => {
    const l = lagrangeAtZero([1, 2]);
    // λ1 = 2, λ2 = -1
    expect(l.get(1)![0]).toBe(2);
    expect(() => lagrangeAtZero([1, 1])).toThrow(DuplicateHolderError);
  });

  it("smallLagrange writes every responder set's coefficients as small integers over one denominator (ADR 0039)", () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const asBig = (s: Uint8Array) => s.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 5 }), (idx) => {
        const l = lagrangeAtZero(idx);
        const lambdas = idx.map((i) => l.get(i)!);
        const small = smallLagrange(lambdas)!;
        expect(small).toBeDefined();
        expect(small.denominator > 0n).toBe(true);
        lambdas.forEach((lam, k) => {
          // w_k ≡ λ_k · D (mod L), with |w_k| small
          expect((((small.weights[k]! - asBig(lam) * small.denominator) % L) + L) % L).toBe(0n);
          expect(small.weights[k]! < 2n ** 64n && small.weights[k]! > -(2n ** 64n)).toBe(true);
        });
      }),
      { numRuns: 200 },
    );
    const two = smallLagrange([...lagrangeAtZero([1, 2]).values()]);
    expect(two).toEqual({ weights: [2n, -1n], denominator: 1n });
    // a scalar that is no small fraction: the caller keeps the t-multiplication loop
    expect(smallLagrange([nobleGroup.scalarReduce(new Uint8Array(64).fill(0x5a))])).toBeUndefined();
  });
});

describe("threshold VOPRF rejects", () => {
  const d = setup(2, 3, 11);
  const batch = blindInputs(E, [new Uint8Array([1]), new Uint8Array([2])], { rng: seededRng(12) });
  const [r1, r2, r3] = d.keys.map((k) => evaluateAsHolder(k, batch.request, { rng: seededRng(13) })) as [
    HolderResponse,
    HolderResponse,
    HolderResponse,
  ];

  it("a response from an unknown holder index", () => {
    expect(() => combineResponses(d.publicKeys, batch, [r1, { ...r2, holder: 9 }])).toThrow(
      UnknownHolderError,
    );
  });
  it("duplicate holder indices", () => {
    expect(() => combineResponses(d.publicKeys, batch, [r1, r1])).toThrow(DuplicateHolderError);
  });
  it("fewer than t responders", () => {
    expect(() => combineResponses(d.publicKeys, batch, [r1])).toThrow(InsufficientHoldersError);
    expect(() => combineResponses(d.publicKeys, batch, [])).toThrow(InsufficientHoldersError);
  });
  it("flipped bits across the whole proof (every 7th bit)", () => {
    for (let bit = 0; bit < 512; bit += 7) {
      const proof = r2.proof.slice();
      proof[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => combineResponses(d.publicKeys, batch, [r1, { ...r2, proof }])).toThrow(InvalidProofError);
    }
  });
  it("a response swapped to another holder's index (proof against the wrong public share)", () => {
    expect(() => combineResponses(d.publicKeys, batch, [r1, { ...r2, holder: 3 }])).toThrow(
      InvalidProofError,
    );
  });
  it("evaluations replaced by another valid element", () => {
    const swapped = { ...r3, evaluatedElements: [r3.evaluatedElements[1]!, r3.evaluatedElements[0]!] };
    expect(() => combineResponses(d.publicKeys, batch, [r1, swapped])).toThrow(InvalidProofError);
  });
  it("responses, requests and keys of another epoch or network", () => {
    const other = setup(2, 3, 11, { networkId: "relink-test", epoch: 8 });
    expect(() => evaluateAsHolder(other.keys[0]!, batch.request)).toThrow(EpochMismatchError);
    expect(() => combineResponses(other.publicKeys, batch, [r1, r2])).toThrow(EpochMismatchError);
    expect(() => combineResponses(d.publicKeys, batch, [r1, { ...r2, epoch: 8 }])).toThrow(
      EpochMismatchError,
    );
    expect(() => combineResponses(d.publicKeys, batch, [r1, { ...r2, networkId: "other" }])).toThrow(
      EpochMismatchError,
    );
  });
  it("an epoch-8 holder answering an epoch-7 request relabelled as epoch 8 fails its proof", () => {
    const e8 = setup(2, 3, 99, { networkId: "relink-test", epoch: 8 });
    const forged = { ...batch, request: { ...batch.request, epoch: 8 } };
    const rs = e8.keys.slice(0, 2).map((k) => evaluateAsHolder(k, forged.request, { rng: seededRng(5) }));
    // the epoch-7 key set does not accept epoch-8 answers
    expect(() => combineResponses(d.publicKeys, batch, rs)).toThrow(EpochMismatchError);
  });
});

describe("epochs and networks separate tags", () => {
  it("the same identifier gives unrelated tags under another epoch, network or key", () => {
    const id = "cn-mobile:+8613800138000";
    const tagOf = (e: EpochId, seed: number) => {
      const d = setup(2, 3, seed, e);
      const b = blindIdentifiers(e, [id], { rng: seededRng(seed + 1) });
      const rs = d.keys.slice(0, 2).map((k) => evaluateAsHolder(k, b.request, { rng: seededRng(seed + 2) }));
      return toHex(deriveTagKeys(combineResponses(d.publicKeys, b, rs)[0]!, e).tag);
    };
    const a = tagOf(E, 21);
    expect(tagOf(E, 21)).toBe(a); // deterministic under the same key
    // same key material (same dealer seed) but another epoch / network
    expect(tagOf({ ...E, epoch: 8 }, 21)).not.toBe(a);
    expect(tagOf({ networkId: "relink-other", epoch: 7 }, 21)).not.toBe(a);
  });
});
