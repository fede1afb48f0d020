import { poseidon2 } from "poseidon-lite/poseidon2";
import { poseidon4 } from "poseidon-lite/poseidon4";
import { describe, expect, it } from "vitest";
import vectors from "./vectors/circomlibjs/poseidon.json" with { type: "json" };

describe("Poseidon (poseidon-lite) against circomlibjs vectors", () => {
  it("matches every vector and fails on a perturbed input", () => {
    for (const v of vectors.vectors) {
      const inputs = v.inputs.map(BigInt);
      const h = inputs.length === 2 ? poseidon2 : poseidon4;
      expect(h(inputs)).toBe(BigInt(v.output));
      expect(h([inputs[0]! + 1n, ...inputs.slice(1)])).not.toBe(BigInt(v.output));
    }
  });
});
