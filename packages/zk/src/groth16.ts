/**
 * The hot paths of Groth16 on BN254 without snarkjs' per-call set-up (ADR 0015). snarkjs 0.7.6 builds
 * ffjavascript's BN254 WebAssembly (≈ 0.2 s of code generation and compilation) on every single-threaded
 * prove, compiles the circuit's witness calculator on every proof (≈ 0.12 s), and verifies on the shared
 * multi-threaded curve, whose worker threads each pairing is posted to (≈ 2× slower than one thread on a
 * busy 2-core machine). Here:
 *
 *  - `singleThreadCurve()` builds one single-threaded curve per isolate (main thread or worker) and keeps it;
 *  - `createProver(artifacts)` compiles the witness calculator once and proves with snarkjs' own
 *    `groth16.prove` on that cached curve (used by each prover-pool worker);
 *  - `verifyGroth16(vkey, signals, proof)` is snarkjs' verification equation (Groth 2016, §3.2):
 *      e(−A, B) · e(IC₀ + Σ sᵢ·ICᵢ, γ) · e(C, δ) · e(α, β) = 1
 *    with the verification key's parts prepared once per key (G2 line coefficients of γ and δ, the Miller
 *    loop of (α, β)), so a verification is 3 Miller loops and one final exponentiation. It checks what
 *    snarkjs checks (public inputs below r, A and C on G1, B on the twist) and additionally that B is in the
 *    order-r subgroup of G2, which snarkjs' `isValid` does not (it is an on-curve check only).
 *
 * Held to snarkjs by circuits/test/groth16.test.ts: same answers on valid proofs, every tampered proof,
 * wrong statements, points off the curve and a twist point outside the subgroup.
 */
import { WitnessCalculatorBuilder } from "circom_runtime";
import { buildBn128, utils } from "ffjavascript";
import { type Groth16Proof, groth16 } from "snarkjs";
import { parseZkey, proveResident } from "./resident-prover.ts";

/** The BN254 scalar field order r (the group order of G1 and of G2's subgroup). */
export const SCALAR_FIELD_ORDER =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;

// biome-ignore lint/suspicious/noExplicitAny: ffjavascript ships no types; the curve is used through a few calls.
type Curve = any;

let curve: Promise<Curve> | undefined;

/** One single-threaded BN254 curve per isolate, built on first use (no worker threads to release). */
export function singleThreadCurve(): Promise<Curve> {
  curve ??= buildBn128(true);
  return curve;
}

interface PreparedKey {
  nPublic: number;
  ic0: Uint8Array;
  ic: Uint8Array;
  preGamma: Uint8Array;
  preDelta: Uint8Array;
  mlAlphaBeta: Uint8Array;
}

const preparedKeys = new WeakMap<object, PreparedKey>();

function prepareKey(c: Curve, vkey: object): PreparedKey {
  const hit = preparedKeys.get(vkey);
  if (hit) return hit;
  const vk = utils.unstringifyBigInts(vkey) as {
    IC: unknown[];
    vk_gamma_2: unknown;
    vk_delta_2: unknown;
    vk_alpha_1: unknown;
    vk_beta_2: unknown;
  };
  const nPublic = vk.IC.length - 1;
  const ic = new Uint8Array(c.G1.F.n8 * 2 * nPublic);
  for (let i = 0; i < nPublic; i++) ic.set(c.G1.toAffine(c.G1.fromObject(vk.IC[i + 1])), i * c.G1.F.n8 * 2);
  const g2 = (p: unknown) => c.prepareG2(c.G2.toJacobian(c.G2.fromObject(p)));
  const k: PreparedKey = {
    nPublic,
    ic0: c.G1.fromObject(vk.IC[0]),
    ic,
    preGamma: g2(vk.vk_gamma_2),
    preDelta: g2(vk.vk_delta_2),
    mlAlphaBeta: c.millerLoop(c.prepareG1(c.G1.toJacobian(c.G1.fromObject(vk.vk_alpha_1))), g2(vk.vk_beta_2)),
  };
  preparedKeys.set(vkey, k);
  return k;
}

/**
 * Groth16 verification on the cached single-threaded curve. Returns false for a proof that does not verify,
 * including points off their curve, B outside G2's prime-order subgroup and public inputs ≥ r; throws only
 * on a malformed verification key.
 */
export async function verifyGroth16(
  vkey: object,
  publicSignals: readonly (string | bigint)[],
  proof: Groth16Proof,
): Promise<boolean> {
  const c = await singleThreadCurve();
  const k = prepareKey(c, vkey);
  if (publicSignals.length !== k.nPublic) return false;
  const w = new Uint8Array(c.Fr.n8 * k.nPublic);
  for (let i = 0; i < k.nPublic; i++) {
    const s = BigInt(publicSignals[i]!);
    if (s < 0n || s >= SCALAR_FIELD_ORDER) return false;
    utils.leInt2Buff(s, c.Fr.n8).forEach((b: number, j: number) => {
      w[i * c.Fr.n8 + j] = b;
    });
  }
  let a: Uint8Array;
  let b: Uint8Array;
  let cc: Uint8Array;
  try {
    const p = utils.unstringifyBigInts(proof) as Groth16Proof;
    a = c.G1.fromObject(p.pi_a);
    b = c.G2.fromObject(p.pi_b);
    cc = c.G1.fromObject(p.pi_c);
  } catch {
    return false;
  }
  if (!(c.G1.isValid(a) && c.G2.isValid(b) && c.G1.isValid(cc))) return false;
  // Subgroup membership of B (r·B = O); G1 has cofactor 1, so on-curve suffices there.
  if (!c.G2.isZero(c.G2.timesScalar(b, SCALAR_FIELD_ORDER))) return false;
  const cpub = c.G1.add(await c.G1.multiExpAffine(k.ic, w), k.ic0);
  const g1 = (p: Uint8Array) => c.prepareG1(c.G1.toJacobian(p));
  let f = c.millerLoop(g1(c.G1.neg(a)), c.prepareG2(c.G2.toJacobian(b)));
  f = c.Gt.mul(f, c.millerLoop(g1(cpub), k.preGamma));
  f = c.Gt.mul(f, c.millerLoop(g1(cc), k.preDelta));
  f = c.Gt.mul(f, k.mlAlphaBeta);
  return c.Gt.eq(c.finalExponentiation(f), c.Gt.one);
}

/** snarkjs' logger interface; its `debug` messages mark the prover's phases (the bench's profile). */
export interface ProverLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface Prover {
  prove(
    input: Record<string, unknown>,
    options?: { logger?: ProverLogger },
  ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
}

/**
 * A prover that compiles the witness calculator once and proves single-threaded on the cached curve.
 * engine "resident" (the default, ADR 0048): the zkey parsed once and kept, the QAP built in WebAssembly,
 * B's multi-exponentiations over the wires that have a B point (resident-prover.ts). engine "snarkjs":
 * snarkjs' own `groth16.prove` (re-reads the zkey per proof; ADR 0015) — the bench's same-run baseline.
 * Either installs the cached curve as ffjavascript's shared curve (`globalThis.curve_bn128`), which
 * snarkjs picks up instead of building a new one: call it only where nothing else in the isolate needs the
 * multi-threaded curve — a prover-pool worker.
 */
export async function createProver(
  artifacts: { wasm: Uint8Array; zkey: Uint8Array },
  options: { engine?: "resident" | "snarkjs" } = {},
): Promise<Prover> {
  const c = await singleThreadCurve();
  (globalThis as { curve_bn128?: unknown }).curve_bn128 = c;
  const wc = await WitnessCalculatorBuilder(artifacts.wasm);
  const resident = options.engine === "snarkjs" ? undefined : parseZkey(c, artifacts.zkey);
  return {
    async prove(input, o = {}) {
      const wtns = await wc.calculateWTNSBin(utils.unstringifyBigInts(input), 0);
      if (resident) return proveResident(c, resident, wtns, o.logger);
      return groth16.prove({ type: "mem", data: artifacts.zkey }, { type: "mem", data: wtns }, o.logger);
    },
  };
}
