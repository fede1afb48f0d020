/** The WASM worker-pool fast path is byte-identical to the noble path and fails the same typed ways. */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.ts";
import { IdentityElementError, InvalidProofError, PoolClosedError } from "../src/errors.ts";
import { IDENTITY, nobleGroup, randomScalar } from "../src/group.ts";
import { createOprfPool, type OprfPool } from "../src/pool.ts";
import { insecureTrustedDealerSplitForTestsOnly } from "../src/testing.ts";
import { blindInputs, combineResponses, evaluateAsHolder } from "../src/threshold.ts";
import { seededRng } from "./helpers/rng.ts";

const E = { networkId: "relink-test", epoch: 1 };
let fast: OprfPool;
let reference: OprfPool;
beforeAll(async () => {
  [fast, reference] = await Promise.all([createOprfPool(), createOprfPool({ backend: "noble" })]);
});
afterAll(async () => {
  await Promise.all([fast?.close(), reference?.close()]);
});

describe("worker pool", () => {
  it("blind, evaluate, finalize: WASM and noble agree byte for byte on 10,000 random inputs", async () => {
    const inputs = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 64 }), { numRuns: 10_000, seed: 42 });
    const rng = seededRng(7);
    const blinds = inputs.map(() => randomScalar(nobleGroup, rng));
    const k = randomScalar(nobleGroup, rng);
    const [a, b] = await Promise.all([
      fast.roundTrip(k, inputs, blinds),
      reference.roundTrip(k, inputs, blinds),
    ]);
    expect(a.outputs).toHaveLength(10_000);
    for (let i = 0; i < inputs.length; i++) {
      if (toHex(a.blinded[i]!) !== toHex(b.blinded[i]!)) expect.fail(`blinded element ${i} differs`);
      if (toHex(a.evaluated[i]!) !== toHex(b.evaluated[i]!)) expect.fail(`evaluated element ${i} differs`);
      if (toHex(a.outputs[i]!) !== toHex(b.outputs[i]!)) expect.fail(`output ${i} differs`);
    }
  });

  it("the threshold pipeline on the pool equals the single-threaded noble pipeline (same RNG)", async () => {
    const d = insecureTrustedDealerSplitForTestsOnly({ ...E, threshold: 2, holders: 3 }, seededRng(1));
    const inputs = fc.sample(fc.uint8Array({ maxLength: 30 }), { numRuns: 300, seed: 3 });
    const slow = blindInputs(E, inputs, { rng: seededRng(2) });
    const quick = await fast.blindInputs(E, inputs, seededRng(2));
    expect(quick.request.blindedElements.map(toHex)).toEqual(slow.request.blindedElements.map(toHex));
    const holders = [d.keys[2]!, d.keys[0]!];
    const slowR = holders.map((k) => evaluateAsHolder(k, slow.request, { rng: seededRng(9) }));
    const quickR = await Promise.all(
      holders.map((k) => fast.evaluateAsHolder(k, quick.request, seededRng(9))),
    );
    expect(quickR.map((r) => toHex(r.proof))).toEqual(slowR.map((r) => toHex(r.proof)));
    const out = await fast.combineResponses(d.publicKeys, quick, quickR);
    expect(out.map(toHex)).toEqual(combineResponses(d.publicKeys, slow, slowR).map(toHex));
  });

  it("rejects invalid proofs and identity elements with typed errors; closing rejects later calls", async () => {
    const d = insecureTrustedDealerSplitForTestsOnly({ ...E, threshold: 2, holders: 3 }, seededRng(5));
    const batch = await fast.blindInputs(E, [new Uint8Array([1]), new Uint8Array([2])]);
    const [r1, r2] = await Promise.all(
      d.keys.slice(0, 2).map((k) => fast.evaluateAsHolder(k, batch.request)),
    );
    const proof = r2!.proof.slice();
    proof[5]! ^= 4;
    await expect(fast.combineResponses(d.publicKeys, batch, [r1!, { ...r2!, proof }])).rejects.toThrow(
      InvalidProofError,
    );
    const bad = { ...batch.request, blindedElements: [IDENTITY] };
    await expect(fast.evaluateAsHolder(d.keys[0]!, bad)).rejects.toThrow(IdentityElementError);
    const p = await createOprfPool({ size: 1 });
    await p.close();
    await expect(p.blindInputs(E, [new Uint8Array(1)])).rejects.toThrow(PoolClosedError);
  });
});
