/**
 * The prepared-key Groth16 verifier (packages/zk/src/groth16.ts, ADR 0015) against snarkjs' own
 * `groth16.verify` on the same proofs: the same answer for a valid proof, wrong statements, public inputs
 * out of range, swapped or off-curve points — and `false` for a proof whose B is on the twist but outside
 * G2's prime-order subgroup, which snarkjs' on-curve check lets through to the pairing.
 */
import {
  createProver,
  decodeProof,
  membershipInput,
  prove,
  publicSignals,
  releaseCurve,
  SCALAR_FIELD_ORDER,
  singleThreadCurve,
  VERIFICATION_KEY,
  verifyGroth16,
  ZkError,
} from "@relink/zk";
import { ChaCha } from "ffjavascript";
import { type Groth16Proof, groth16 } from "snarkjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opening as c, committedArtifacts, NOW, statement, tree } from "./proof-fixture.ts";

let p1: Groth16Proof;
let p2: Groth16Proof;

beforeAll(async () => {
  const artifacts = committedArtifacts();
  p1 = decodeProof((await prove(artifacts, membershipInput(c(1), tree.path(0), tree.root(), NOW))).proof);
  p2 = decodeProof((await prove(artifacts, membershipInput(c(2), tree.path(1), tree.root(), NOW))).proof);
});
afterAll(releaseCurve);

/** Both verifiers on the same input; they must agree, and the answer is returned. */
async function both(signals: string[], proof: Groth16Proof): Promise<boolean> {
  let raw: boolean;
  try {
    raw = await groth16.verify(VERIFICATION_KEY, signals, proof);
  } catch {
    raw = false;
  }
  const ours = await verifyGroth16(VERIFICATION_KEY, signals, proof);
  expect(ours).toBe(raw);
  return ours;
}

describe("verifyGroth16 agrees with snarkjs", () => {
  it("accepts valid proofs for their own statements only", async () => {
    expect(await both(publicSignals(statement(1)), p1)).toBe(true);
    expect(await both(publicSignals(statement(2)), p2)).toBe(true);
    expect(await both(publicSignals(statement(2)), p1)).toBe(false);
    const s = publicSignals(statement(1));
    expect(await both([...s.slice(0, -1), (BigInt(s.at(-1)!) + 1n).toString()], p1)).toBe(false);
  });

  it("rejects public inputs ≥ r and the wrong number of them", async () => {
    const s = publicSignals(statement(1));
    const shifted = [(BigInt(s[0]!) + SCALAR_FIELD_ORDER).toString(), ...s.slice(1)];
    expect(await both(shifted, p1)).toBe(false);
    expect(await verifyGroth16(VERIFICATION_KEY, s.slice(1), p1)).toBe(false);
    expect(await verifyGroth16(VERIFICATION_KEY, [...s, "1"], p1)).toBe(false);
  });

  it("rejects mixed proofs and points off their curve", async () => {
    const s = publicSignals(statement(1));
    expect(await both(s, { ...p1, pi_a: p2.pi_a })).toBe(false);
    expect(await both(s, { ...p1, pi_b: p2.pi_b })).toBe(false);
    expect(await both(s, { ...p1, pi_c: p2.pi_c })).toBe(false);
    const offA = { ...p1, pi_a: [p1.pi_a[0]!, (BigInt(p1.pi_a[1]!) + 1n).toString(), "1"] };
    expect(await both(s, offA)).toBe(false);
    const offB = {
      ...p1,
      pi_b: [p1.pi_b[0]!, [(BigInt(p1.pi_b[1]![0]!) + 1n).toString(), p1.pi_b[1]![1]!], ["1", "0"]],
    };
    expect(await both(s, offB)).toBe(false);
  });

  it("rejects B on the twist but outside G2's prime-order subgroup (snarkjs only checks the curve)", async () => {
    const curve = await singleThreadCurve();
    // A twist point without the cofactor clearing that G2.fromRng applies: x random until x³ + b' is square.
    const F = curve.G2.F;
    const rng = new ChaCha([1, 2, 3, 4, 5, 6, 7, 8]);
    let x = F.fromRng(rng);
    while (!F.isSquare(F.add(F.mul(F.square(x), x), curve.G2.b))) x = F.fromRng(rng);
    const b = new Uint8Array(F.n8 * 2);
    b.set(x);
    b.set(F.sqrt(F.add(F.mul(F.square(x), x), curve.G2.b)), F.n8);
    expect(curve.G2.isValid(b)).toBe(true);
    expect(curve.G2.isZero(curve.G2.timesScalar(b, SCALAR_FIELD_ORDER))).toBe(false);
    // The proof's B in the object form snarkjs reads (x, y as [c0, c1], z = 1).
    const [bx, by] = curve.G2.toObject(b) as bigint[][];
    const bad = { ...p1, pi_b: [bx!.map(String), by!.map(String), ["1", "0"]] };
    expect(await verifyGroth16(VERIFICATION_KEY, publicSignals(statement(1)), bad)).toBe(false);
    // A subgroup point (the key's own δ) passes the same check.
    const delta = curve.G2.fromObject(
      (VERIFICATION_KEY as unknown as { vk_delta_2: string[][] }).vk_delta_2.map((c) => c.map(BigInt)),
    );
    expect(curve.G2.isZero(curve.G2.timesScalar(delta, SCALAR_FIELD_ORDER))).toBe(true);
  });
});

describe("the resident prover (ADR 0048) against snarkjs", () => {
  it("makes proofs both verifiers accept for their statement only, with the witness' public signals", async () => {
    const artifacts = committedArtifacts();
    const resident = await createProver(artifacts);
    const baseline = await createProver(artifacts, { engine: "snarkjs" });
    const input = membershipInput(c(2), tree.path(1), tree.root(), NOW);
    const ours = await resident.prove(input);
    const theirs = await baseline.prove(input);
    expect(ours.publicSignals).toEqual(theirs.publicSignals);
    expect(ours.publicSignals).toEqual(publicSignals(statement(2)));
    expect(await both(ours.publicSignals, ours.proof)).toBe(true);
    expect(await both(publicSignals(statement(1)), ours.proof)).toBe(false);
    // Fresh blinding per proof: two proofs of one statement differ, both verify.
    const again = await resident.prove(input);
    expect(again.proof.pi_a).not.toEqual(ours.proof.pi_a);
    expect(await both(again.publicSignals, again.proof)).toBe(true);
  });

  it("refuses a zkey that is not one, or is cut short, with a typed error", async () => {
    const artifacts = committedArtifacts();
    await expect(createProver({ ...artifacts, zkey: artifacts.wasm })).rejects.toThrow(ZkError);
    await expect(createProver({ ...artifacts, zkey: artifacts.zkey.slice(0, 100_000) })).rejects.toThrow(
      /truncated/,
    );
  });
});
