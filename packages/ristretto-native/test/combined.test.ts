/**
 * The combined check (ADR 0013) on the native group, whose M and C are multi-scalar multiplications (ADR 0039):
 * the same M, C and outputs as noble's multiply-and-add path, and every attack of psi's combined.test.ts caught
 * with the cheater named. Skipped only without the addon outside CI.
 */
import {
  blindInputs,
  type CombinedCheck,
  combineResponses,
  evaluateAsHolder,
  evaluateUnproven,
  finishCombinedCheck,
  fromHex,
  type Group,
  type HolderEvaluation,
  InvalidProofError,
  lagrangeAtZero,
  nobleGroup,
  startCombinedCheck,
  toHex,
} from "@relink/psi";
import { createOprfPool } from "@relink/psi/pool";
import { insecureTrustedDealerSplitForTestsOnly, seededRng } from "@relink/psi/testing";
import { describe, expect, it } from "vitest";
import { loadNativeGroup, POOL_GROUP_MODULE } from "../src/index.ts";
import v9496 from "./vectors/rfc9496/ristretto255.json" with { type: "json" };

const loaded = loadNativeGroup();
const native = "group" in loaded ? loaded.group : undefined;
const present = native !== undefined || Boolean(process.env.CI);
const E = { networkId: "relink-test", epoch: 7 };
const setup = (t: number, n: number, seed: number) =>
  insecureTrustedDealerSplitForTestsOnly({ ...E, threshold: t, holders: n }, seededRng(seed));

function run(
  group: Group,
  d: ReturnType<typeof setup>,
  holders: ReturnType<typeof setup>["keys"],
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
  return { check, outputs: () => finishCombinedCheck(d.publicKeys, check, round2(check), { group }) };
}

describe.runIf(present)("combined check on the native group (MSM for M and C)", () => {
  it("M, C and the outputs equal noble's multiply-and-add path, 2-of-3 and 3-of-5, 1 to 120 inputs", () => {
    for (const [t, n, count, seed] of [
      [2, 3, 1, 1],
      [2, 3, 120, 2],
      [3, 5, 40, 3],
    ] as const) {
      const d = setup(t, n, seed);
      const holders = d.keys.slice(n - t);
      const inputs = Array.from({ length: count }, (_, i) => new Uint8Array([i & 255, i >> 8, seed]));
      const a = run(native!, d, holders, inputs, seed * 10);
      const b = run(nobleGroup, d, holders, inputs, seed * 10);
      expect(toHex(a.check.request.blindedElements[0]!)).toBe(toHex(b.check.request.blindedElements[0]!));
      expect(toHex(a.check.combined)).toBe(toHex(b.check.combined));
      expect(a.outputs().map(toHex)).toEqual(b.outputs().map(toHex));
    }
  });

  it("unblinding with one multiplication (small Lagrange weights, ADR 0039) equals noble's t multiplications", () => {
    for (const [t, n, pick, seed] of [
      [2, 3, [1, 2], 4],
      [2, 3, [1, 3], 5],
      [3, 5, [2, 4, 5], 6],
      [4, 7, [1, 3, 6, 7], 7],
    ] as const) {
      const d = setup(t, n, seed);
      const holders = pick.map((i) => d.keys[i - 1]!);
      const inputs = Array.from({ length: 30 }, (_, i) => new Uint8Array([i, seed]));
      const batch = blindInputs(E, inputs, { rng: seededRng(seed), group: native! });
      const responses = holders.map((k) =>
        evaluateAsHolder(k, batch.request, { group: native!, rng: seededRng(9) }),
      );
      expect(combineResponses(d.publicKeys, batch, responses, { group: native! }).map(toHex)).toEqual(
        combineResponses(d.publicKeys, batch, responses, { group: nobleGroup }).map(toHex),
      );
    }
  });

  it("a bad round-1 element gets the same typed error as on noble; a column that sums to the identity is a named cheat", () => {
    const d = setup(2, 3, 13);
    const holders = [d.keys[0]!, d.keys[2]!];
    const inputs = [1, 2, 3].map((i) => new Uint8Array([i]));
    const errorOf = (group: Group, bad: Uint8Array) => {
      try {
        run(group, d, holders, inputs, 30, (es) =>
          es.map((e) =>
            e.holder === 3
              ? { ...e, evaluatedElements: [e.evaluatedElements[0]!, bad, e.evaluatedElements[2]!] }
              : e,
          ),
        );
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      return "no error";
    };
    const nonSquare = fromHex(v9496.invalidEncodings["non-square x^2"][0]!);
    for (const bad of [new Uint8Array(32), nonSquare, new Uint8Array(31)]) {
      const want = errorOf(nobleGroup, bad);
      expect(want).not.toBe("no error");
      expect(errorOf(native!, bad)).toBe(want);
    }
    // holders {1, 3}: λ1 = 3/2, λ3 = −1/2, so with Z_3j = 3·Z_1j the sum w·Z (w = 3, −1) is the identity
    const lam = lagrangeAtZero([1, 3]);
    expect(lam.size).toBe(2);
    const three = new Uint8Array(32);
    three[0] = 3;
    for (const group of [nobleGroup, native!]) {
      const r = run(group, d, holders, inputs, 31, (es) => {
        const z1 = es.find((e) => e.holder === 1)!.evaluatedElements;
        return es.map((e) =>
          e.holder === 3
            ? { ...e, evaluatedElements: [group.mul(three, z1[0]!), ...e.evaluatedElements.slice(1)] }
            : e,
        );
      });
      expect(() => r.outputs()).toThrow(InvalidProofError);
      try {
        r.outputs();
      } catch (e) {
        expect((e as InvalidProofError).holder, group.backend).toBe(3);
      }
    }
  });

  it("the worker pool on the native group (MSM and one-multiplication unblinding in the workers) gives the same M, C and outputs", async () => {
    const d = setup(2, 3, 14);
    const holders = [d.keys[1]!, d.keys[2]!];
    const inputs = Array.from({ length: 200 }, (_, i) => new Uint8Array([i, 14]));
    const pool = await createOprfPool({ group: native!, groupModule: POOL_GROUP_MODULE, size: 2, chunk: 64 });
    try {
      const batch = blindInputs(E, inputs, { rng: seededRng(40), group: native! });
      const evals = holders.map((k) => evaluateUnproven(k, batch.request, { group: native! }));
      const viaPool = await pool.startCombinedCheck(d.publicKeys, batch, evals, seededRng(41));
      const direct = startCombinedCheck(d.publicKeys, batch, evals, {
        group: nobleGroup,
        rng: seededRng(41),
      });
      expect(toHex(viaPool.request.blindedElements[0]!)).toBe(toHex(direct.request.blindedElements[0]!));
      expect(toHex(viaPool.combined)).toBe(toHex(direct.combined));
      expect(viaPool.outputs.map(toHex)).toEqual(direct.outputs.map(toHex));
    } finally {
      await pool.close();
    }
  });

  describe("attacks by a holder are caught and the holder is named", () => {
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
    const g = () => native!;

    it("one round-1 element replaced, two swapped, +X and −X on two elements", () => {
      expect(
        named(
          run(
            g(),
            d,
            holders,
            inputs,
            20,
            edit(3, (z) => [z[1]!, ...z.slice(1)]),
          ).outputs,
        ),
      ).toBe(3);
      expect(
        named(
          run(
            g(),
            d,
            holders,
            inputs,
            21,
            edit(1, (z) => [z[1]!, z[0]!, z[2]!, z[3]!]),
          ).outputs,
        ),
      ).toBe(1);
      const k3 = new Uint8Array(32).fill(3, 0, 31);
      const x = g().mulBase(k3);
      const negX = g().mulBase(g().scalarSub(new Uint8Array(32), k3));
      expect(
        named(
          run(
            g(),
            d,
            holders,
            inputs,
            22,
            edit(3, (z) => [g().add(z[0]!, x), g().add(z[1]!, negX), z[2]!, z[3]!]),
          ).outputs,
        ),
      ).toBe(3);
    });
    it("round-1 answers computed with another key share", () => {
      const other = setup(2, 3, 12);
      const r = run(g(), d, holders, inputs, 23, (es, batch) =>
        es.map((e) =>
          e.holder === 1
            ? {
                ...e,
                evaluatedElements: batch.request.blindedElements.map((b) =>
                  g().mul(other.keys[0]!.secretShare, b),
                ),
              }
            : e,
        ),
      );
      expect(named(r.outputs)).toBe(1);
    });
    it("a round-2 answer that is not k_i·M, a flipped proof bit, or another holder's answer", () => {
      const honest = (c: CombinedCheck) =>
        holders.map((k) => evaluateAsHolder(k, c.request, { group: g(), rng: seededRng(5) }));
      const wrongY = run(g(), d, holders, inputs, 24, undefined, (c) => {
        const [a, b] = honest(c);
        return [
          a!,
          { ...b!, evaluatedElements: [g().add(b!.evaluatedElements[0]!, c.request.blindedElements[0]!)] },
        ];
      });
      expect(named(wrongY.outputs)).toBe(3);
      const flipped = run(g(), d, holders, inputs, 25, undefined, (c) => {
        const [a, b] = honest(c);
        const proof = a!.proof.slice();
        proof[40]! ^= 2;
        return [{ ...a!, proof }, b!];
      });
      expect(named(flipped.outputs)).toBe(1);
      const swapped = run(g(), d, holders, inputs, 26, undefined, (c) => {
        const [a] = honest(c);
        return [a!, { ...a!, holder: 3 }];
      });
      expect(named(swapped.outputs)).toBe(3);
    });
  });
});
