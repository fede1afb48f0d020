/**
 * RFC 9497 Appendix A.1 vectors (ristretto255-SHA512), vendored in test/vectors/rfc9497/ (see SOURCE.md).
 * Batch entries hold comma-separated lists; proofs carry the nonce `r` used by GenerateProof.
 */
import { ristretto255_oprf } from "@noble/curves/ed25519.js";
import { beforeAll, describe, expect, it } from "vitest";
import { fromHex, toHex } from "../src/bytes.ts";
import { type Group, nobleGroup } from "../src/group.ts";
import {
  blind,
  blindEvaluate,
  blindEvaluateBatch,
  deriveKeyPair,
  evaluate,
  finalize,
  finalizeBatch,
  generateProof,
  MODE_OPRF,
  MODE_VOPRF,
  verifyProof,
} from "../src/rfc9497.ts";
import { loadSodiumGroup } from "../src/sodium-group.ts";
import { replayScalars } from "./helpers/rng.ts";
import vectors from "./vectors/rfc9497/ristretto255-sha512.json" with { type: "json" };

interface Vector {
  Batch: number;
  Blind: string;
  BlindedElement: string;
  EvaluationElement: string;
  Input: string;
  Output: string;
  Proof?: { proof: string; r: string };
}
interface Suite {
  mode: number;
  seed: string;
  keyInfo: string;
  skSm: string;
  pkSm?: string;
  groupDST: string;
  vectors: Vector[];
}
const suites = vectors as Suite[];
const list = (s: string) => s.split(",").map(fromHex);
const hexes = (xs: Uint8Array[]) => xs.map(toHex).join(",");

let sodiumGroup: Group;
beforeAll(async () => {
  sodiumGroup = await loadSodiumGroup();
});

it("the vendored file holds the three ristretto255-SHA512 modes", () => {
  expect(suites.map((s) => s.mode)).toEqual([0, 1, 2]);
});

for (const backend of ["noble", "sodium"] as const) {
  const g = () => (backend === "noble" ? nobleGroup : sodiumGroup);

  describe(`OPRF mode 0 on ${backend}`, () => {
    const suite = suites.find((s) => s.mode === 0)!;
    it("derives skSm from seed and keyInfo (§3.2.1)", () => {
      const kp = deriveKeyPair(MODE_OPRF, fromHex(suite.seed), fromHex(suite.keyInfo), g());
      expect(toHex(kp.secretKey)).toBe(suite.skSm);
    });
    suite.vectors.forEach((v, i) => {
      it(`vector ${i + 1}: blind, evaluate, finalize`, () => {
        const input = fromHex(v.Input);
        const b = blind(MODE_OPRF, input, replayScalars(fromHex(v.Blind)), g());
        expect(toHex(b.blind)).toBe(v.Blind);
        expect(toHex(b.blindedElement)).toBe(v.BlindedElement);
        const z = blindEvaluate(fromHex(suite.skSm), b.blindedElement, g());
        expect(toHex(z)).toBe(v.EvaluationElement);
        expect(toHex(finalize(input, b.blind, z, g()))).toBe(v.Output);
        expect(toHex(evaluate(MODE_OPRF, fromHex(suite.skSm), input, g()))).toBe(v.Output);
      });
    });
  });

  describe(`VOPRF mode 1 on ${backend}`, () => {
    const suite = suites.find((s) => s.mode === 1)!;
    const sk = fromHex(suite.skSm);
    const pk = fromHex(suite.pkSm!);
    it("derives skSm and pkSm (§3.2.1)", () => {
      const kp = deriveKeyPair(MODE_VOPRF, fromHex(suite.seed), fromHex(suite.keyInfo), g());
      expect(toHex(kp.secretKey)).toBe(suite.skSm);
      expect(toHex(kp.publicKey)).toBe(suite.pkSm);
    });
    suite.vectors.forEach((v, i) => {
      it(`vector ${i + 1} (batch ${v.Batch}): blinds, evaluations, batch DLEQ proof, outputs`, () => {
        const inputs = list(v.Input);
        const blinds = list(v.Blind);
        expect(inputs).toHaveLength(v.Batch);
        const rng = replayScalars(...blinds);
        const bl = inputs.map((x) => blind(MODE_VOPRF, x, rng, g()));
        expect(hexes(bl.map((b) => b.blindedElement))).toBe(v.BlindedElement);
        const ev = blindEvaluateBatch(
          sk,
          pk,
          bl.map((b) => b.blindedElement),
          replayScalars(fromHex(v.Proof!.r)),
          g(),
        );
        expect(hexes(ev.evaluatedElements)).toBe(v.EvaluationElement);
        expect(toHex(ev.proof)).toBe(v.Proof!.proof);
        const out = finalizeBatch(
          inputs,
          blinds,
          bl.map((b) => b.blindedElement),
          ev,
          pk,
          g(),
        );
        expect(out && hexes(out)).toBe(v.Output);
      });

      it(`vector ${i + 1}: the vector's own proof verifies and a flipped bit does not`, () => {
        const c = list(v.BlindedElement);
        const d = list(v.EvaluationElement);
        const proof = fromHex(v.Proof!.proof);
        expect(verifyProof(MODE_VOPRF, pk, c, d, proof, g())).toBe(true);
        const bad = proof.slice();
        bad[0]! ^= 1;
        expect(verifyProof(MODE_VOPRF, pk, c, d, bad, g())).toBe(false);
        // the proof is bound to the ordered batch
        if (c.length > 1) expect(verifyProof(MODE_VOPRF, pk, c, [...d].reverse(), proof, g())).toBe(false);
        expect(toHex(generateProof(MODE_VOPRF, sk, pk, c, d, replayScalars(fromHex(v.Proof!.r)), g()))).toBe(
          v.Proof!.proof,
        );
      });
    });
  });
}

describe("noble's own RFC 9497 module agrees with the vectors and with ours", () => {
  it("OPRF blindEvaluate and finalize", () => {
    const suite = suites.find((s) => s.mode === 0)!;
    for (const v of suite.vectors) {
      const z = ristretto255_oprf.oprf.blindEvaluate(fromHex(suite.skSm), fromHex(v.BlindedElement));
      expect(toHex(z)).toBe(v.EvaluationElement);
      expect(toHex(ristretto255_oprf.oprf.finalize(fromHex(v.Input), fromHex(v.Blind), z))).toBe(v.Output);
    }
  });
  it("VOPRF batch finalize with the vector's proof", () => {
    const suite = suites.find((s) => s.mode === 1)!;
    const v = suite.vectors.find((x) => x.Batch === 2)!;
    const [inputs, blinds, blinded, evaluated] = [
      v.Input,
      v.Blind,
      v.BlindedElement,
      v.EvaluationElement,
    ].map(list);
    const items = inputs!.map((input, i) => ({
      input,
      blind: blinds![i]!,
      blinded: blinded![i]!,
      evaluated: evaluated![i]!,
    }));
    const out = ristretto255_oprf.voprf.finalizeBatch(items, fromHex(suite.pkSm!), fromHex(v.Proof!.proof));
    expect(hexes(out)).toBe(v.Output);
  });
});
